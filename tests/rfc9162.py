"""A plain reference of RFC 9162 §2.1 written straight from its recursive definitions, for checking the exchange.

It shares no code with exchange/domain/merkle.py: the tests compare the two on random trees, and the end-to-end
tests use it as the independent verifier of what the hub serves.
"""

from __future__ import annotations

import hashlib


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1."""
    n = len(leaves)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + leaves[0])
    k = _k(n)
    return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1."""
    return _subproof(m, leaves, True)


def _subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def root_from_path(leaf: bytes, m: int, n: int, audit: list[bytes]) -> bytes | None:
    """The root an audit path leads to, recomputed by walking the tree's shape down from the top (not §2.1.3.2)."""
    if n == 1:
        return _h(b"\x00" + leaf) if not audit else None
    if not audit:
        return None
    k = _k(n)
    sibling, rest = audit[-1], audit[:-1]
    if m < k:
        left = root_from_path(leaf, m, k, rest)
        return None if left is None else _h(b"\x01" + left + sibling)
    right = root_from_path(leaf, m - k, n - k, rest)
    return None if right is None else _h(b"\x01" + sibling + right)


def verify_inclusion(leaf: bytes, m: int, n: int, audit: list[bytes], root: bytes) -> bool:
    """Does the audit path lead from `leaf` at index m of a tree of n to `root`?"""
    return 0 <= m < n and root_from_path(leaf, m, n, audit) == root


def verify_consistency(m: int, n: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> bool:
    """Does PROOF(m, D[n]) lead to both roots? Walked down the recursion of §2.1.4.1, not by §2.1.4.2's bit tricks."""
    if not 0 < m <= n:
        return False
    items = list(proof)

    def walk(m: int, n: int, whole: bool) -> tuple[bytes, bytes] | None:
        # The last item of a (sub)proof is the sibling at its top split: consume from the end, top down.
        if m == n:
            if whole:
                return first_root, first_root
            if not items:
                return None
            known = items.pop()
            return known, known
        if not items:
            return None
        k = _k(n)
        sibling = items.pop()
        if m <= k:
            inner = walk(m, k, whole)
            return None if inner is None else (inner[0], _h(b"\x01" + inner[1] + sibling))
        inner = walk(m - k, n - k, False)
        if inner is None:
            return None
        return _h(b"\x01" + sibling + inner[0]), _h(b"\x01" + sibling + inner[1])

    roots = walk(m, n, True)
    return roots == (first_root, second_root) and not items

"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs, and their verification.

Pure: it imports only hashlib. The proof builders never see the leaves; they ask a `Subtrees` callback for the
hash of a perfect, aligned block of leaves (`level`, `index`: leaves `index * 2**level` to `(index + 1) *
2**level`). Any MTH(D[a:b]) the RFC's algorithms need splits into at most O(log n) such blocks, so a store that
keeps them answers every proof without hashing the log again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Subtrees = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof was asked for indices or sizes the tree does not have."""


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf): the hash of one entry."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, subtrees: Subtrees) -> bytes:
    """MTH(D[start:end]) for a range whose start is aligned to the power of two at least its length.

    Every range the RFC's algorithms visit is of that shape: its left part is then one perfect block, and its right
    part a range of the same shape.
    """
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return subtrees(level, start >> level)
    k = _split(size)
    return node_hash(subtrees(k.bit_length() - 1, start // k), range_hash(start + k, end, subtrees))


def root_hash(size: int, subtrees: Subtrees) -> bytes:
    """The Merkle tree hash of the first `size` leaves."""
    return range_hash(0, size, subtrees)


def inclusion_path(index: int, size: int, subtrees: Subtrees) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root, keeping the sibling of each subtree that holds the leaf; the RFC lists them upwards.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, subtrees))
            end = start + k
        else:
            path.append(range_hash(start, start + k, subtrees))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtrees: Subtrees) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal)."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from a tree of {first} to one of {second}")
    proof: list[bytes] = []
    start, end, m = 0, second, first
    whole = True  # SUBPROOF's b: is D[start:start+m] a subtree whose hash the verifier already knows?
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(start + k, end, subtrees))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, subtrees))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(range_hash(start, end, subtrees))
    proof.reverse()
    return proof


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove that `leaf` is entry `index` of the tree of `size` with `root`?"""
    if not 0 <= index < size:
        return False
    walk = _walk(index, size - 1, len(path))
    if walk is None:
        return False
    on_the_left, sn = walk
    r = leaf_hash(leaf)
    for p, left in zip(path, on_the_left, strict=True):
        r = node_hash(p, r) if left else node_hash(r, p)
    return sn == 0 and r == root


def _walk(fn: int, sn: int, steps: int) -> tuple[list[bool], int] | None:
    """RFC 9162's walk up the tree that checks a proof of inclusion or of consistency, from the node numbers `fn`
    and `sn`, for `steps` hashes of the proof: whether each hash is a sibling on the left, and `sn` at the end. None
    where the proof is longer than the tree is tall ("if sn is 0, stop the iteration and fail the proof verification").
    """
    on_the_left = []
    for _ in range(steps):
        if sn == 0:
            return None
        left = bool(fn & 1) or fn == sn
        if left:
            # "If LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0."
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        on_the_left.append(left)
        fn >>= 1
        sn >>= 1
    return on_the_left, sn


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `second` with `second_root` extends that of `first`?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)  # a power of two: the first tree is itself a node of the second
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    walk = _walk(fn, sn, len(path) - 1)
    if walk is None:
        return False
    on_the_left, sn = walk
    fr = sr = path[0]
    for c, left in zip(path[1:], on_the_left, strict=True):
        if left:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
        else:
            sr = node_hash(sr, c)
    return fr == first_root and sr == second_root and sn == 0


def perfect_blocks(index: int, leaf: bytes, lower: Subtrees) -> list[tuple[int, int, bytes]]:
    """The blocks that leaf `index` completes, bottom up: (level, index, hash), the leaf's own first.

    `lower` gives blocks already stored; appending leaves one at a time and storing these keeps every perfect block.
    """
    made = [(0, index, leaf_hash(leaf))]
    level, at = 0, index
    while at & 1:
        right = made[-1][2]
        left = lower(level, at - 1)
        level, at = level + 1, at >> 1
        made.append((level, at, node_hash(left, right)))
    return made


def blocks_needed(compute: Callable[[Subtrees], object]) -> set[tuple[int, int]]:
    """Which blocks `compute` asks for: which blocks they are depends on the sizes only, never on the hashes."""
    asked: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        asked.add((level, index))
        return EMPTY_ROOT

    compute(record)
    return asked

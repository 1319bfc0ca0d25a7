"""RFC 9162 §2.1 hashing and proofs, checked against the plain recursive reference in tests/rfc9162.py."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from exchange.domain import merkle
from tests import rfc9162

leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


def stored(leaves: list[bytes]) -> merkle.Subtrees:
    """Every perfect block of the leaves, made the way the log's follower makes them: one leaf at a time."""
    blocks: dict[tuple[int, int], bytes] = {}
    for index, leaf in enumerate(leaves):
        for level, at, digest in merkle.perfect_blocks(index, leaf, lambda lv, i: blocks[(lv, i)]):
            blocks[(level, at)] = digest
    return lambda level, index: blocks[(level, index)]


@given(leaf_lists, st.data())
def test_root_of_every_prefix_matches_the_reference(leaves: list[bytes], data: st.DataObject) -> None:
    """The root built from stored blocks equals MTH of the RFC for any prefix of the log."""
    size = data.draw(st.integers(1, len(leaves)))
    assert merkle.root_hash(size, stored(leaves)) == rfc9162.mth(leaves[:size])


def drawn_inclusion(leaves: list[bytes], data: st.DataObject) -> tuple[int, int, list[bytes], bytes]:
    """A drawn log size and leaf index, the exchange's audit path for them and the reference root."""
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    return size, index, merkle.inclusion_path(index, size, stored(leaves)), rfc9162.mth(leaves[:size])


@given(leaf_lists, st.data())
def test_audit_paths_match_the_reference_and_verify(leaves: list[bytes], data: st.DataObject) -> None:
    """PATH(m, D[n]) equals the reference and verifies by §2.1.3.2 and by the reference's own walk."""
    size, index, path, root = drawn_inclusion(leaves, data)
    assert path == rfc9162.path(index, leaves[:size])
    assert merkle.verify_inclusion(leaves[index], index, size, path, root)
    assert rfc9162.verify_inclusion(leaves[index], index, size, path, root)


@given(leaf_lists, st.data())
def test_consistency_proofs_match_the_reference_and_verify(leaves: list[bytes], data: st.DataObject) -> None:
    """PROOF(m, D[n]) equals the reference and verifies by §2.1.4.2 between the two roots."""
    second = data.draw(st.integers(1, len(leaves)))
    first = data.draw(st.integers(1, second))
    proof = merkle.consistency_proof(first, second, stored(leaves))
    assert proof == rfc9162.proof(first, leaves[:second])
    roots = (rfc9162.mth(leaves[:first]), rfc9162.mth(leaves[:second]))
    assert merkle.verify_consistency(first, second, *roots, proof)
    assert rfc9162.verify_consistency(first, second, *roots, proof)


@given(leaf_lists, st.data())
def test_an_altered_leaf_or_path_does_not_verify(leaves: list[bytes], data: st.DataObject) -> None:
    """Changing the leaf, its index or one hash of the path makes §2.1.3.2 refuse the proof."""
    size, index, path, root = drawn_inclusion(leaves, data)
    assert not merkle.verify_inclusion(leaves[index] + b"!", index, size, path, root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        assert not merkle.verify_inclusion(leaves[index], other, size, path, root) or leaves[other] == leaves[index]
        spoiled = data.draw(st.integers(0, len(path) - 1))
        path[spoiled] = hashlib.sha256(path[spoiled]).digest()
        assert not merkle.verify_inclusion(leaves[index], index, size, path, root)


@given(leaf_lists, st.data())
def test_a_rewritten_log_is_not_consistent_with_its_past(leaves: list[bytes], data: st.DataObject) -> None:
    """Changing one early leaf after a tree head was taken makes every consistency proof from that head fail."""
    second = data.draw(st.integers(1, len(leaves)))
    first = data.draw(st.integers(1, second))
    changed = data.draw(st.integers(0, first - 1))
    old_root = rfc9162.mth(leaves[:first])
    rewritten = [*leaves[:changed], leaves[changed] + b"x", *leaves[changed + 1 :]]
    proof = merkle.consistency_proof(first, second, stored(rewritten))
    assert not merkle.verify_consistency(first, second, old_root, rfc9162.mth(rewritten[:second]), proof)
    assert not rfc9162.verify_consistency(first, second, old_root, rfc9162.mth(rewritten[:second]), proof)


@given(leaf_lists, st.data())
def test_proofs_read_only_logarithmically_many_stored_blocks(leaves: list[bytes], data: st.DataObject) -> None:
    """An audit path or consistency proof needs at most 2·log2(n)+2 stored blocks, never the whole log."""
    size = data.draw(st.integers(1, len(leaves)))
    index = data.draw(st.integers(0, size - 1))
    bound = 2 * size.bit_length() + 2
    assert len(merkle.blocks_needed(lambda b: merkle.inclusion_path(index, size, b))) <= bound
    first = data.draw(st.integers(1, size))
    assert len(merkle.blocks_needed(lambda b: merkle.consistency_proof(first, size, b))) <= bound


def test_hashes_follow_the_rfc_domain_separation() -> None:
    """Leaves hash with a 0x00 prefix and nodes with 0x01; the empty tree's root is SHA-256 of nothing."""
    assert merkle.leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_impossible_proofs_are_refused() -> None:
    """Indices outside the tree and sizes that shrink are ProofErrors, not wrong answers."""
    blocks = stored([b"a", b"b", b"c"])
    for index, size in ((3, 3), (-1, 3), (0, 0)):
        try:
            merkle.inclusion_path(index, size, blocks)
        except merkle.ProofError:
            continue
        raise AssertionError(f"inclusion_path({index}, {size}) answered")
    for first, second in ((0, 3), (3, 2)):
        try:
            merkle.consistency_proof(first, second, blocks)
        except merkle.ProofError:
            continue
        raise AssertionError(f"consistency_proof({first}, {second}) answered")

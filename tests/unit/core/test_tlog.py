"""Merkle trees of record ids: published RFC 6962 and Certificate Transparency vectors,
proofs built from stored hashes, and that a damaged proof never verifies."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core import tlog
from evalfed.core.errors import InvalidInputError, NotFoundError, ProofError
from evalfed.core.limits import MAX_PROOF_HASHES

FIXTURES = Path(__file__).parents[2] / "fixtures/tlog"
RFC6962 = json.loads((FIXTURES / "rfc6962-vectors.json").read_text())
ARGON = FIXTURES / "argon2020"


def _load(name: str) -> dict:
    return json.loads((ARGON / name).read_text())


def _hex(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _rfc_store() -> tuple[list[bytes], tlog.MemoryHashStore]:
    leaves = [tlog.leaf_hash(bytes.fromhex(leaf)) for leaf in RFC6962["leaves"]]
    store = tlog.MemoryHashStore()
    for leaf in leaves:
        store.append(leaf)
    return leaves, store


def _store_of(n: int) -> tuple[list[bytes], tlog.MemoryHashStore]:
    leaves = [tlog.record_leaf_hash(hashlib.sha256(b"record %d" % i).hexdigest()) for i in range(n)]
    store = tlog.MemoryHashStore()
    for leaf in leaves:
        store.append(leaf)
    return leaves, store


def _flip(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    damaged = list(proof)
    value = bytearray(damaged[element])
    value[bit // 8] ^= 1 << (bit % 8)
    damaged[element] = bytes(value)
    return damaged


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert tlog.EMPTY_ROOT.hex() == RFC6962["empty_tree_hash"]
    assert tlog.root_of([]) == tlog.EMPTY_ROOT
    assert tlog.tree_hash(0, tlog.MemoryHashStore()) == tlog.EMPTY_ROOT


def test_a_record_leaf_is_the_raw_bytes_of_its_id() -> None:
    record_id = hashlib.sha256(b"payload").hexdigest()
    assert tlog.record_leaf(record_id) == hashlib.sha256(b"payload").digest()
    assert (
        tlog.record_leaf_hash(record_id)
        == hashlib.sha256(b"\x00" + hashlib.sha256(b"payload").digest()).digest()
    )
    for bad in (record_id.upper(), record_id[:-1], record_id + "0", "g" * 64):
        with pytest.raises(InvalidInputError, match="64 lowercase hex"):
            tlog.record_leaf(bad)


def test_rfc6962_roots_of_every_size() -> None:
    leaves, store = _rfc_store()
    for size, root in enumerate(_hex(RFC6962["roots"]), start=1):
        assert tlog.root_of(leaves[:size]) == root
        assert tlog.tree_hash(size, store) == root


@pytest.mark.parametrize("case", RFC6962["inclusion"], ids=lambda c: f"{c['leaf']}-of-{c['size']}")
def test_rfc6962_inclusion_proofs_are_computed_byte_exact_and_verify(case: dict) -> None:
    leaves, store = _rfc_store()
    index, size = case["leaf"] - 1, case["size"]  # the vectors count leaves from 1
    proof = tlog.inclusion_proof(index, size, store)
    assert proof == _hex(case["proof"])
    root = bytes.fromhex(RFC6962["roots"][size - 1])
    tlog.verify_inclusion(leaves[index], index, size, proof, root)


@pytest.mark.parametrize(
    "case", RFC6962["consistency"], ids=lambda c: f"{c['size1']}-to-{c['size2']}"
)
def test_rfc6962_consistency_proofs_are_computed_byte_exact_and_verify(case: dict) -> None:
    _, store = _rfc_store()
    size1, size2 = case["size1"], case["size2"]
    proof = tlog.consistency_proof(size1, size2, store)
    assert proof == _hex(case["proof"])
    roots = _hex(RFC6962["roots"])
    tlog.verify_consistency(size1, size2, proof, roots[size1 - 1], roots[size2 - 1])


def test_transparency_dev_consistency_file_verifies() -> None:
    case = json.loads((FIXTURES / "consistency-1-8-happy-path.json").read_text())
    proof = [base64.b64decode(p) for p in case["proof"]]
    root1, root2 = base64.b64decode(case["root1"]), base64.b64decode(case["root2"])
    tlog.verify_consistency(case["size1"], case["size2"], proof, root1, root2)
    _, store = _rfc_store()
    assert tlog.consistency_proof(case["size1"], case["size2"], store) == proof


def _argon() -> tuple[bytes, int, int, list[bytes], bytes]:
    sth, proof = _load("sth.json"), _load("proof.json")
    leaf = tlog.leaf_hash(base64.b64decode(_load("entries.json")["entries"][0]["leaf_input"]))
    path = [base64.b64decode(p) for p in proof["audit_path"]]
    return (
        leaf,
        proof["leaf_index"],
        sth["tree_size"],
        path,
        base64.b64decode(sth["sha256_root_hash"]),
    )


def test_certificate_transparency_inclusion_proof_from_argon2020_verifies() -> None:
    leaf, index, size, path, root = _argon()
    tlog.verify_inclusion(leaf, index, size, path, root)
    assert tlog.root_from_inclusion(leaf, index, size, path) == root


def test_certificate_transparency_consistency_proof_from_argon2020_verifies() -> None:
    values = _load("ct_test-values.json")
    sth = _load("sth.json")
    path = [base64.b64decode(p) for p in _load("consistency.json")["consistency"]]
    tlog.verify_consistency(
        values["old_tree_size"],
        sth["tree_size"],
        path,
        base64.b64decode(values["old_sha256_root_hash"]),
        base64.b64decode(sth["sha256_root_hash"]),
    )


def test_tampered_certificate_transparency_proofs_fail() -> None:
    leaf, index, size, path, root = _argon()
    for element in range(len(path)):
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaf, index, size, _flip(path, element, 3), root)
    for wrong_index in (index - 1, index + 1, index ^ 2):
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaf, wrong_index, size, path, root)
    for wrong_size in (size * 2, size // 2):  # a proof fixes the path's shape, not the size
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaf, index, wrong_size, path, root)
    with pytest.raises(ProofError):
        tlog.verify_inclusion(leaf, index, size, path[:-1], root)
    with pytest.raises(ProofError):
        tlog.verify_inclusion(leaf, index, size, [*path, root], root)
    with pytest.raises(ProofError):
        tlog.verify_inclusion(tlog.leaf_hash(b"not the certificate"), index, size, path, root)

    values, sth = _load("ct_test-values.json"), _load("sth.json")
    old_root = base64.b64decode(values["old_sha256_root_hash"])
    cpath = [base64.b64decode(p) for p in _load("consistency.json")["consistency"]]
    old, new = values["old_tree_size"], sth["tree_size"]
    for element in range(len(cpath)):
        with pytest.raises(ProofError):
            tlog.verify_consistency(old, new, _flip(cpath, element, 4), old_root, root)
    with pytest.raises(ProofError):
        tlog.verify_consistency(old + 1, new, cpath, old_root, root)
    with pytest.raises(ProofError):
        tlog.verify_consistency(old, new, cpath, root, old_root)
    with pytest.raises(ProofError):  # the first tree's root is not in its proof: checked apart
        tlog.verify_consistency(old, new, cpath, _flip([old_root], 0, 0)[0], root)


def test_stored_hashes_are_every_complete_subtree_in_append_order() -> None:
    leaves, store = _store_of(77)
    assert len(store.hashes) == tlog.stored_hash_count(77)
    for level in range(7):
        for n in range(77 >> level):
            span = leaves[n << level : (n + 1) << level]
            assert store.hashes[tlog.stored_hash_index(level, n)] == tlog.root_of(span)


def test_a_split_view_of_one_size_does_not_verify() -> None:
    """Two checkpoints of one size with different roots cannot both be the same log."""
    leaves, store = _store_of(9)
    root = tlog.tree_hash(9, store)
    other = tlog.root_of([*leaves[:8], tlog.leaf_hash(b"another record")])
    with pytest.raises(ProofError, match="different histories"):
        tlog.verify_consistency(9, 9, [], root, other)
    tlog.verify_consistency(9, 9, [], root, root)
    with pytest.raises(ProofError):
        tlog.verify_consistency(0, 9, [], other, root)
    tlog.verify_consistency(0, 9, [], tlog.EMPTY_ROOT, root)


def test_malformed_proofs_and_positions_are_refused() -> None:
    leaves, store = _store_of(5)
    root = tlog.tree_hash(5, store)
    proof = tlog.inclusion_proof(2, 5, store)
    with pytest.raises(ProofError, match="32 bytes"):
        tlog.verify_inclusion(leaves[2], 2, 5, [*proof[:-1], proof[-1][:31]], root)
    with pytest.raises(ProofError, match="MAX_PROOF_HASHES"):
        tlog.verify_inclusion(leaves[2], 2, 5, [root] * (MAX_PROOF_HASHES + 1), root)
    with pytest.raises(ProofError, match="not in a tree"):
        tlog.verify_inclusion(leaves[2], 5, 5, proof, root)
    with pytest.raises(ProofError, match="cannot be the start"):
        tlog.verify_consistency(5, 4, [], root, root)
    with pytest.raises(InvalidInputError):
        tlog.inclusion_proof(5, 5, store)
    with pytest.raises(InvalidInputError):
        tlog.consistency_proof(6, 5, store)
    with pytest.raises(NotFoundError):
        tlog.inclusion_proof(0, 6, store)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=160), data=st.data())
def test_every_proof_of_random_trees_verifies_and_a_flipped_bit_fails(
    size: int, data: st.DataObject
) -> None:
    leaves, store = _store_of(size)
    root = tlog.tree_hash(size, store)
    assert root == tlog.root_of(leaves)
    for index in range(size):
        tlog.verify_inclusion(
            leaves[index], index, size, tlog.inclusion_proof(index, size, store), root
        )
    for size1 in range(size + 1):
        root1 = tlog.tree_hash(size1, store)
        assert root1 == tlog.root_of(leaves[:size1])
        tlog.verify_consistency(
            size1, size, tlog.consistency_proof(size1, size, store), root1, root
        )

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    proof = tlog.inclusion_proof(index, size, store)
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaves[index], index, size, _flip(proof, element, bit), root)
    size1 = data.draw(st.integers(min_value=1, max_value=size), label="size1")
    root1 = tlog.tree_hash(size1, store)
    cproof = tlog.consistency_proof(size1, size, store)
    if size1 < size:
        with pytest.raises(ProofError):
            tlog.verify_consistency(size1, size, cproof, _flip([root1], 0, 7)[0], root)
    if cproof:
        element = data.draw(st.integers(0, len(cproof) - 1), label="celement")
        bit = data.draw(st.integers(0, 255), label="cbit")
        with pytest.raises(ProofError):
            tlog.verify_consistency(size1, size, _flip(cproof, element, bit), root1, root)


def test_proofs_read_logarithmically_many_stored_hashes() -> None:
    """Counting reads of the store: a proof reads O(log n) hashes, an append under one on
    average; nothing rebuilds the tree."""
    total = 20_000
    _, store = _store_of(total)
    assert store.reads < total  # every append read one hash per subtree it completed
    for size in (1, 2, 3, 1023, 1024, 1025, 4097, 12_345, total):
        depth = size.bit_length()
        store.reads = 0
        tlog.tree_hash(size, store)
        assert store.reads == size.bit_count()
        for index in {0, size // 3, size // 2, size - 1}:
            store.reads = 0
            tlog.inclusion_proof(index, size, store)
            assert store.reads <= 2 * depth
        for size1 in {1, size // 3, size // 2, size - 1} - {0}:
            store.reads = 0
            tlog.consistency_proof(size1, size, store)
            assert store.reads <= 2 * depth + 1


BIG_LEAVES, BIG_STORE = _store_of(5000)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_proofs_between_random_sizes_of_a_large_log_verify(data: st.DataObject) -> None:
    """The stored hashes of the first n leaves are a prefix of the store, so any earlier size
    of the log has its root and proofs from the same store."""
    size2 = data.draw(st.integers(min_value=1, max_value=len(BIG_LEAVES)), label="size2")
    size1 = data.draw(st.integers(min_value=0, max_value=size2), label="size1")
    index = data.draw(st.integers(min_value=0, max_value=size2 - 1), label="index")
    root1, root2 = tlog.tree_hash(size1, BIG_STORE), tlog.tree_hash(size2, BIG_STORE)
    assert root2 == tlog.root_of(BIG_LEAVES[:size2])
    proof = tlog.inclusion_proof(index, size2, BIG_STORE)
    tlog.verify_inclusion(BIG_LEAVES[index], index, size2, proof, root2)
    cproof = tlog.consistency_proof(size1, size2, BIG_STORE)
    tlog.verify_consistency(size1, size2, cproof, root1, root2)
    if size1 and size1 < size2:
        other = tlog.root_of([*BIG_LEAVES[: size2 - 1], tlog.leaf_hash(b"rewritten")])
        with pytest.raises(ProofError):
            tlog.verify_consistency(size1, size2, cproof, root1, other)

"""RFC 6962 / RFC 9162 Merkle trees over a log's record ids: hashes, proofs, and their checks.

No IO. A log of n records is the Merkle tree of n leaves; leaf i is the 32 raw bytes of the
i-th record's id (the id's lowercase hex decoded, not the hex text), hashed as
SHA-256(0x00 || leaf); an inner node is SHA-256(0x01 || left || right); the empty tree's
root is SHA-256("").

Proofs are computed from stored hashes, never from a rebuilt tree. Every complete subtree
(level L, index n: leaves n*2^L .. (n+1)*2^L - 1) has one stored hash, numbered in the order
an append-only store writes them: appending leaf n writes its leaf hash and then the hash of
each subtree that leaf completes, bottom up (`stored_hashes_for_leaf`, which reads one stored
hash per subtree it completes: amortised under one read and two writes per append). A tree
hash, an inclusion proof or a consistency proof then reads O(log n) stored hashes, asked for
in one `read_hashes` call, so a database store answers it with one query. This is the layout
of Go's golang.org/x/mod/sumdb/tlog, written anew here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from evalfed.core.errors import InvalidInputError, NotFoundError, ProofError
from evalfed.core.limits import MAX_PROOF_HASHES

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_TREE_SIZE = 2**63 - 1
"""Sizes and indexes fit a signed 64-bit integer (a database BIGINT)."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def record_leaf(record_id: str) -> bytes:
    """The leaf of a record: the 32 raw bytes its lowercase hex id stands for."""
    if len(record_id) != 2 * HASH_SIZE or record_id.strip("0123456789abcdef"):
        raise InvalidInputError(
            f"a record id is 64 lowercase hex characters, not {record_id[:80]!r}"
        )
    return bytes.fromhex(record_id)


def record_leaf_hash(record_id: str) -> bytes:
    return leaf_hash(record_leaf(record_id))


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The root of the tree of these leaf hashes, computed from all of them (for checks and
    small trees; a log's root comes from `tree_hash` over its stored hashes)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _subtree_root(leaf_hashes, 0, len(leaf_hashes))


def _subtree_root(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaf_hashes[lo]
    k = _split(hi - lo)
    return node_hash(_subtree_root(leaf_hashes, lo, lo + k), _subtree_root(leaf_hashes, lo + k, hi))


def _split(size: int) -> int:
    """The largest power of two below `size` (size >= 2): where RFC 6962 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


# --- stored hashes -------------------------------------------------------------------------


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of subtree (level, n) is in the order hashes are stored.

    That subtree is completed by leaf m = (n+1)*2^level - 1, whose own hash is stored after
    the 2m - popcount(m) hashes of the leaves before it; the subtree's hash follows it at
    offset `level`.
    """
    if level < 0 or n < 0:
        raise InvalidInputError(f"no stored hash at level {level}, index {n}")
    last_leaf = ((n + 1) << level) - 1
    return 2 * last_leaf - last_leaf.bit_count() + level


def stored_hash_count(size: int) -> int:
    """How many hashes a tree of `size` leaves stores: 2*size - popcount(size)."""
    return 2 * size - size.bit_count()


class HashReader(Protocol):
    """Reads stored hashes by their `stored_hash_index`."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The hashes at these indexes, in the same order; raises NotFoundError for one not
        stored."""
        ...


def stored_hashes_for_leaf(n: int, leaf: bytes, reader: HashReader) -> list[bytes]:
    """The hashes to store, in order, when leaf hash `leaf` is appended as leaf n: the leaf
    hash, then each subtree it completes. Reads one stored hash per completed subtree."""
    _check_size(n, "leaf index")
    _check_hash(leaf, "leaf hash")
    levels = (~n & (n + 1)).bit_length() - 1
    lefts = reader.read_hashes(
        [stored_hash_index(level, (n >> level) - 1) for level in range(levels)]
    )
    out = [leaf]
    for left in lefts:
        out.append(node_hash(left, out[-1]))
    return out


def _pieces(lo: int, hi: int) -> list[int]:
    """Stored indexes of the complete subtrees that make up leaves [lo, hi), left to right
    (largest first). lo is a multiple of every piece's width, as in every range RFC 6962's
    recursion visits."""
    out = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        out.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
    return out


def _assemble(plan: list[list[int]], reader: HashReader) -> list[bytes]:
    wanted = sorted({index for pieces in plan for index in pieces})
    got = dict(zip(wanted, reader.read_hashes(wanted), strict=True))
    return [_fold([got[index] for index in pieces]) for pieces in plan]


def _fold(hashes: list[bytes]) -> bytes:
    """The root over adjacent complete subtrees, largest first (RFC 6962 splits at the
    largest power of two, so the right part nests)."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def tree_hash(size: int, reader: HashReader) -> bytes:
    """The root of the first `size` leaves; reads popcount(size) stored hashes."""
    _check_size(size, "tree size")
    if size == 0:
        return EMPTY_ROOT
    return _assemble([_pieces(0, size)], reader)[0]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 section 2.1.3.1 PATH(index, D[0:size]), from the leaf's sibling up to the
    root's child. Reads at most 2*log2(size) stored hashes."""
    _check_size(size, "tree size")
    if not 0 <= index < size:
        raise InvalidInputError(f"leaf {index} is not in a tree of {size} leaves")
    plan = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            plan.append(_pieces(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_pieces(lo, lo + k))
            lo += k
    plan.reverse()
    return _assemble(plan, reader)


def consistency_proof(size1: int, size2: int, reader: HashReader) -> list[bytes]:
    """RFC 9162 section 2.1.4.1 PROOF(size1, D[0:size2]); empty when size1 is 0 or equals
    size2. Reads at most 2*log2(size2) + 1 stored hashes."""
    _check_size(size2, "tree size")
    if not 0 <= size1 <= size2:
        raise InvalidInputError(f"no consistency proof from size {size1} to size {size2}")
    if size1 in (0, size2):
        return []
    plan = []
    lo, hi, m, whole = 0, size2, size1, True
    while hi - lo != m:
        k = _split(hi - lo)
        if m <= k:
            plan.append(_pieces(lo + k, hi))
            hi = lo + k
        else:
            plan.append(_pieces(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        plan.append(_pieces(lo, hi))
    plan.reverse()
    return _assemble(plan, reader)


# --- checking proofs (RFC 9162 sections 2.1.3.2 and 2.1.4.2) --------------------------------


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` makes of leaf hash `leaf` at `index` in a tree of `size`;
    raises ProofError when the proof cannot be one for that position."""
    _check_hash(leaf, "leaf hash")
    _check_proof(proof)
    if not 0 <= index < size <= MAX_TREE_SIZE:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn = index, size - 1
    root = leaf
    for p in proof:
        if sn == 0:
            raise ProofError(
                f"the inclusion proof for leaf {index} of {size} is too long ({len(proof)} hashes)"
            )
        if fn & 1 or fn == sn:
            root = node_hash(p, root)
            fn, sn = _past_right_edge(fn, sn)
        else:
            root = node_hash(root, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"the inclusion proof for leaf {index} of {size} is too short ({len(proof)} hashes)"
        )
    return root


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raises ProofError unless `proof` shows leaf hash `leaf` at `index` under `root`."""
    _check_hash(root, "root hash")
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(
            f"the inclusion proof for leaf {index} does not lead to the root of the tree of "
            f"{size} leaves: the leaf or the proof is not the log's"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Raises ProofError unless `proof` shows the tree of `size1` leaves with `root1` is the
    start of the tree of `size2` leaves with `root2`."""
    _check_hash(root1, "first root hash")
    _check_hash(root2, "second root hash")
    _check_proof(proof)
    if not 0 <= size1 <= size2 <= MAX_TREE_SIZE:
        raise ProofError(f"a tree of {size1} leaves cannot be the start of one of {size2}")
    if size1 == 0 or size1 == size2:
        if proof:
            raise ProofError(f"a consistency proof from size {size1} to {size2} is empty")
        expected = EMPTY_ROOT if size1 == 0 else root2
        if root1 != expected:
            raise ProofError(_inconsistent(size1, size2))
        return
    if not proof:
        raise ProofError(f"the consistency proof from size {size1} to {size2} is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(_inconsistent(size1, size2))
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _past_right_edge(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != root1 or sr != root2:
        raise ProofError(_inconsistent(size1, size2))


def _past_right_edge(fn: int, sn: int) -> tuple[int, int]:
    """Climbs while node fn is a left child on the right edge (no sibling to hash with)."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def _inconsistent(size1: int, size2: int) -> str:
    return (
        f"the consistency proof does not show the tree of {size1} leaves is the start of the "
        f"tree of {size2}: the log shows different histories, or the proof is damaged"
    )


def _check_size(size: int, what: str) -> None:
    if not 0 <= size <= MAX_TREE_SIZE:
        raise InvalidInputError(f"a {what} is between 0 and {MAX_TREE_SIZE}, not {size}")


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"a {what} has {HASH_SIZE} bytes, not {len(value)}")


def _check_proof(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise ProofError(
            f"a proof has at most {MAX_PROOF_HASHES} hashes (MAX_PROOF_HASHES), not {len(proof)}"
        )
    for p in proof:
        _check_hash(p, "proof hash")


class MemoryHashStore:
    """Stored hashes of one log in a list; counts the hashes read, so tests can check that a
    proof reads O(log n) of them."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.size = 0
        self.reads = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.reads += len(indexes)
        missing = [index for index in indexes if not 0 <= index < len(self.hashes)]
        if missing:
            raise NotFoundError(
                f"no stored hash at index {missing[0]} (the store holds {len(self.hashes)})"
            )
        return [self.hashes[index] for index in indexes]

    def append(self, leaf: bytes) -> int:
        """Appends leaf hash `leaf`; returns the new tree size."""
        self.hashes.extend(stored_hashes_for_leaf(self.size, leaf, self))
        self.size += 1
        return self.size

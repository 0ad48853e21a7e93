"""Trees stored as tiles: every stored hash read from tiles equals the hash-per-row store's,
however the tree grew (one leaf at a time or in uneven batches), the RFC 6962 vectors'
proofs come out byte-exact, and a tile of the wrong width is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.core import tlog, tlog_tiles
from evalfed.core.errors import NotFoundError
from evalfed.core.tlog_tiles import TILE_WIDTH, TileKey

RFC6962 = json.loads((Path(__file__).parents[2] / "fixtures/tlog/rfc6962-vectors.json").read_text())


class MemoryTiles:
    """Tiles in a dict, grown with `grow_tiles`; counts the tiles read."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, bytes] = {}
        self.size = 0
        self.reads = 0

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        self.reads += len(keys)
        return {key: self.tiles[key] for key in keys if key in self.tiles}

    def extend(self, leaves: Sequence[bytes]) -> dict[TileKey, bytes]:
        partial = {key: self.tiles[key] for key, _ in tlog_tiles.partial_tiles(self.size)}
        written = tlog_tiles.grow_tiles(self.size, partial, leaves)
        self.tiles.update(written)
        self.size += len(leaves)
        return written


def _leaves(n: int) -> list[bytes]:
    return [tlog.leaf_hash(hashlib.sha256(b"leaf %d" % i).digest()) for i in range(n)]


def test_stored_hash_indexes_split_back_into_their_subtrees() -> None:
    for level in range(12):
        for n in range(300):
            index = tlog.stored_hash_index(level, n)
            assert tlog_tiles.split_stored_hash_index(index) == (level, n)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 700), min_size=1, max_size=6))
def test_tiles_hold_every_stored_hash_however_the_tree_grew(batches: list[int]) -> None:
    leaves = _leaves(sum(batches))
    tiles, hashes = MemoryTiles(), tlog.MemoryHashStore()
    done = 0
    for batch in batches:
        tiles.extend(leaves[done : done + batch])
        done += batch
    for leaf in leaves:
        hashes.append(leaf)
    reader = tlog_tiles.TileHashReader(tiles)
    count = tlog.stored_hash_count(done)
    assert reader.read_hashes(range(count)) == hashes.hashes
    with pytest.raises(NotFoundError):
        reader.read_hashes([count])


def test_a_tree_of_n_leaves_is_about_n_over_256_rows_and_writes_whole_tiles() -> None:
    tiles = MemoryTiles()
    leaves = _leaves(TILE_WIDTH**2 + 3)
    for at in range(0, len(leaves), 1000):
        written = tiles.extend(leaves[at : at + 1000])
        assert len(written) <= 1000 // TILE_WIDTH + 3
    assert set(tiles.tiles) == {(0, i) for i in range(TILE_WIDTH + 1)} | {(1, 0), (2, 0)}
    assert len(tiles.tiles[(0, TILE_WIDTH)]) == 3 * 32
    assert len(tiles.tiles[(2, 0)]) == 32  # the root of the 2^16 leaves: one full level-1 tile
    assert tlog.tree_hash(len(leaves), tlog_tiles.TileHashReader(tiles)) == tlog.root_of(leaves)


def test_rfc6962_roots_and_proofs_from_tiles_are_byte_exact() -> None:
    leaves = [tlog.leaf_hash(bytes.fromhex(leaf)) for leaf in RFC6962["leaves"]]
    tiles = MemoryTiles()
    tiles.extend(leaves)
    reader = tlog_tiles.TileHashReader(tiles)
    for size, root in enumerate(RFC6962["roots"], start=1):
        assert tlog.tree_hash(size, reader).hex() == root
    for case in RFC6962["inclusion"]:
        proof = tlog.inclusion_proof(case["leaf"] - 1, case["size"], reader)  # counted from 1
        assert [p.hex() for p in proof] == case["proof"]
    for case in RFC6962["consistency"]:
        proof = tlog.consistency_proof(case["size1"], case["size2"], reader)
        assert [p.hex() for p in proof] == case["proof"]


def test_proofs_of_a_large_tree_read_few_tiles() -> None:
    tiles = MemoryTiles()
    size = 3 * TILE_WIDTH**2 + 12_345
    tiles.extend(_leaves(size))
    reader = tlog_tiles.TileHashReader(tiles)
    tiles.reads = 0
    tlog.inclusion_proof(size // 3, size, reader)
    tlog.consistency_proof(size // 2 + 7, size, reader)
    assert tiles.reads <= 2 * 2 * (size.bit_length() // tlog_tiles.TILE_HEIGHT + 1) * 2


def test_a_partial_tile_of_the_wrong_width_is_refused() -> None:
    tiles = MemoryTiles()
    tiles.extend(_leaves(5))
    partial = {(0, 0): tiles.tiles[(0, 0)][:64]}
    with pytest.raises(NotFoundError, match="holds 2 hashes, not 5"):
        tlog_tiles.grow_tiles(5, partial, _leaves(1))

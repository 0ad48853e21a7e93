"""A log's Merkle tree stored as tiles (C2SP tlog-tiles, golang.org/x/mod/sumdb/tlog's
tile.go), and a `HashReader` over them. No IO.

Tile (level L, index N) holds the hashes of up to TILE_WIDTH consecutive subtrees of tree
level L*TILE_HEIGHT, N*TILE_WIDTH onwards: tile level 0 holds the leaf hashes, tile level 1
the roots of full level-0 tiles, and so on. A tile is full at TILE_WIDTH hashes and then
never changes; each level has at most one partial tile, rewritten as the tree grows. So
appending a leaf writes 32 bytes into the rows of a batch, not two rows, and a tree of n
leaves is about n/TILE_WIDTH rows.

A stored hash of `evalfed.core.tlog` (subtree level l, index n) is the root of 2^(l mod
TILE_HEIGHT) adjacent hashes of one tile at level l div TILE_HEIGHT: a tree hash or a proof
reads the O(log n) stored hashes it needs from O(log n) tiles, in one `read_tiles` call, and
hashes at most TILE_WIDTH - 1 pairs per stored hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from evalfed.core.errors import InvalidInputError, NotFoundError
from evalfed.core.tlog import HASH_SIZE, node_hash, stored_hash_index

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (C2SP tlog-tiles: 2^8)."""
TILE_BYTES = TILE_WIDTH * HASH_SIZE

TileKey = tuple[int, int]
"""(tile level, tile index)."""


class TileReader(Protocol):
    """Reads stored tiles: each one's hashes, concatenated (a partial tile is shorter)."""

    def read_tiles(self, keys: Sequence[TileKey]) -> Mapping[TileKey, bytes]:
        """The tiles at these keys that are stored; a missing one is left out."""
        ...


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The (level, n) of the subtree whose hash `tlog.stored_hash_index` puts at `index`
    (Go's SplitStoredHashIndex)."""
    if index < 0:
        raise InvalidInputError(f"no stored hash at index {index}")
    n = index // 2  # stored_hash_index(0, n) <= 2n, so leaf n is at most log2 past this
    at = stored_hash_index(0, n)
    while True:
        after = at + 1 + ((n + 1) & -(n + 1)).bit_length() - 1  # leaf n+1's own hash
        if after > index:
            break
        n += 1
        at = after
    level = index - at
    return level, n >> level


class TileSpot(NamedTuple):
    """Where a stored hash lies: `span` hashes of tile `key` from `start`, whose root it is."""

    key: TileKey
    start: int
    span: int


def tile_spot(level: int, n: int) -> TileSpot:
    """The hashes of one tile whose root is the hash of subtree (level, n)."""
    tile_level, height = divmod(level, TILE_HEIGHT)
    first = n << height
    return TileSpot((tile_level, first >> TILE_HEIGHT), first % TILE_WIDTH, 1 << height)


def complete_root(hashes: bytes) -> bytes:
    """The root over 2^k adjacent hashes (concatenated) of one level."""
    row = [hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)]
    while len(row) > 1:
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
    return row[0]


class TileHashReader:
    """A `tlog.HashReader` over tiles: one `read_tiles` call per `read_hashes`."""

    def __init__(self, tiles: TileReader) -> None:
        self.tiles = tiles

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        spots = [tile_spot(*split_stored_hash_index(index)) for index in indexes]
        got = self.tiles.read_tiles(sorted({spot.key for spot in spots}))
        out = []
        for index, spot in zip(indexes, spots, strict=True):
            tile = got.get(spot.key, b"")
            end = (spot.start + spot.span) * HASH_SIZE
            if len(tile) < end:
                raise NotFoundError(
                    f"no stored hash at index {index}: tile {spot.key} holds "
                    f"{len(tile) // HASH_SIZE} hashes"
                )
            out.append(complete_root(tile[spot.start * HASH_SIZE : end]))
        return out


def partial_tiles(size: int) -> list[tuple[TileKey, int]]:
    """The partial tiles of a tree of `size` leaves and their widths, bottom up: the tiles
    that appending leaves rewrites."""
    out = []
    level, count = 0, size
    while count:
        if count % TILE_WIDTH:
            out.append(((level, count // TILE_WIDTH), count % TILE_WIDTH))
        level, count = level + 1, count // TILE_WIDTH
    return out


def grow_tiles(
    size: int, partial: Mapping[TileKey, bytes], leaf_hashes: Sequence[bytes]
) -> dict[TileKey, bytes]:
    """The tiles, whole, that appending `leaf_hashes` to a tree of `size` leaves writes (new
    or rewritten); `partial` holds the tree's `partial_tiles(size)`."""
    out: dict[TileKey, bytes] = {}
    level, count, new = 0, size, b"".join(leaf_hashes)
    while new:
        index, width = divmod(count, TILE_WIDTH)
        old = partial.get((level, index), b"") if width else b""
        if len(old) != width * HASH_SIZE:
            raise NotFoundError(
                f"tile {(level, index)} of a tree of {size} leaves holds "
                f"{len(old) // HASH_SIZE} hashes, not {width}"
            )
        row = old + new
        roots = []
        for at in range(0, len(row), TILE_BYTES):
            tile = row[at : at + TILE_BYTES]
            out[(level, index + at // TILE_BYTES)] = tile
            if len(tile) == TILE_BYTES:
                roots.append(complete_root(tile))
        level, count, new = level + 1, count // TILE_WIDTH, b"".join(roots)
    return out

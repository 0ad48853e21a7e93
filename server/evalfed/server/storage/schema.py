"""The node's tables. Envelopes are kept as received; the query columns are taken from them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    literal_column,
)

metadata = MetaData()

ID = String(64)
NAME = String(256)
Pos = BigInteger().with_variant(Integer, "sqlite")

records = Table(
    "records",
    metadata,
    Column("pos", Pos, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False),
    Column("origin", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("prev", ID, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("model", NAME, nullable=False),
    Column("task", NAME, nullable=False),
    Column("issued_at_us", BigInteger, nullable=False),
    Column("audience_scope", SmallInteger, nullable=False),
    Column("audience", Text, nullable=False),
    Column("embargo_until_us", BigInteger, nullable=True),
    Column("target", ID, nullable=False),
    Column("source_sha256", ID, nullable=False),
    Column("body_digest", ID, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
    Column("received_from", String(256), nullable=False),
    Column("key_id", ID, nullable=False, default=""),
    Column("void_reason", Text, nullable=False, default=""),
    Column("id_key", BigInteger, nullable=False, server_default="0"),
    Column("digest_key", BigInteger, nullable=False, server_default="0"),
    Column("lane", Text, nullable=False, server_default=""),
    # Ids and digests are looked up by their first 8 bytes (see hash_key); an id hashes its
    # origin and seq, so it is unique where (origin, lane, seq, id) is.
    Index("ux_records_origin_lane_seq_id", "origin", "lane", "seq", "id", unique=True),
    Index("ix_records_id_key", "id_key"),
    Index("ix_records_model", "model", "pos"),
    Index("ix_records_task", "task", "pos"),
)

# Three indexes hold only the rows a lookup can find (most records are partners' results:
# no digest key, no target, no embargo). A query uses such an index only when its WHERE
# clause carries the index's condition word for word, so queries take these.
HAS_DIGEST_KEY = records.c.digest_key != literal_column("0")
HAS_TARGET = records.c.target != literal_column("''")
HAS_EMBARGO = records.c.embargo_until_us.is_not(None)
Index(
    "ix_records_origin_digest_key",
    records.c.origin,
    records.c.digest_key,
    sqlite_where=HAS_DIGEST_KEY,
    postgresql_where=HAS_DIGEST_KEY,
)
Index("ix_records_target", records.c.target, sqlite_where=HAS_TARGET, postgresql_where=HAS_TARGET)
Index(
    "ix_records_embargo",
    records.c.embargo_until_us,
    sqlite_where=HAS_EMBARGO,
    postgresql_where=HAS_EMBARGO,
)

logs = Table(
    "logs",
    metadata,
    Column("origin", String(64), primary_key=True),
    Column("lane", Text, primary_key=True, server_default=""),
    Column("head_seq", BigInteger, nullable=False),
    Column("head_id", ID, nullable=False),
    Column("forked", Boolean, nullable=False, default=False),
    # The highest seq held with no gap before it: what sync cursors say.
    Column("complete_seq", BigInteger, nullable=False, server_default="0"),
)

peers = Table(
    "peers",
    metadata,
    Column("address", String(256), primary_key=True),
    Column("added_at_us", BigInteger, nullable=False),
    Column("embargo_through_us", BigInteger, nullable=False, default=0),
    Column("forks_cursor", LargeBinary, nullable=True),
)

join_requests = Table(
    "join_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("institute", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
)

# Each log's Merkle tree (evalfed.core.tlog): its gap-free prefix, filled after the records
# are stored, by the node's indexer (evalfed.server.tlog_indexer), never by an append.
tlog_trees = Table(
    "tlog_trees",
    metadata,
    Column("id", Pos, primary_key=True, autoincrement=True),
    Column("origin", String(64), nullable=False),
    Column("lane", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    # The log held two records at one seq; the tree follows the first stored.
    Column("forked", Boolean, nullable=False),
    Index("ux_tlog_trees_log", "origin", "lane", unique=True),
)

# A tree's hashes in tiles of up to 256 (evalfed.core.tlog_tiles, C2SP tlog-tiles): the
# hashes of tile (level, n), concatenated; a partial tile is rewritten as the tree grows.
tlog_tiles = Table(
    "tlog_tiles",
    metadata,
    Column("tree", Pos, primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("n", BigInteger, primary_key=True),
    Column("hashes", LargeBinary, nullable=False),
)

# The latest checkpoint this node signed of one of its own logs (a C2SP signed note).
tlog_checkpoints = Table(
    "tlog_checkpoints",
    metadata,
    Column("tree", Pos, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("note", LargeBinary, nullable=False),
    Column("signed_at_us", BigInteger, nullable=False),
)

# --- witness (evalfed.server.storage.witness_store) ---

# Per log, the largest checked checkpoint this node holds, its own or gossiped (a serialized
# CheckpointNote: the signed note and the bindings of its signers). `version` orders changes
# for gossip (with witness_split_views', one sequence).
witness_checkpoints = Table(
    "witness_checkpoints",
    metadata,
    Column("origin", String(64), primary_key=True),
    Column("lane", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
    Index("ix_witness_checkpoints_version", "version"),
)

# Per log, the last checkpoint this node cosigned as a witness (C2SP witness state).
witness_cosigned = Table(
    "witness_cosigned",
    metadata,
    Column("origin", String(64), primary_key=True),
    Column("lane", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("cosigned_at_us", BigInteger, nullable=False),
)

# Split-view evidence: two checkpoints of one log signed by its origin that cannot both hold
# (a serialized SplitViewEvidence); `pair` is the SHA-256 of the two notes, in order.
witness_split_views = Table(
    "witness_split_views",
    metadata,
    Column("id", Pos, primary_key=True, autoincrement=True),
    Column("origin", String(64), nullable=False),
    Column("lane", Text, nullable=False),
    Column("pair", ID, nullable=False),
    Column("evidence", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("found_at_us", BigInteger, nullable=False),
    Index("ux_witness_split_views_pair", "pair", unique=True),
    Index("ix_witness_split_views_log", "origin", "lane"),
    Index("ix_witness_split_views_version", "version"),
)

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
)

metadata = MetaData()

ID = String(64)
NAME = String(256)
Pos = BigInteger().with_variant(Integer, "sqlite")

records = Table(
    "records",
    metadata,
    Column("pos", Pos, primary_key=True, autoincrement=True),
    Column("id", ID, nullable=False, unique=True),
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
    Index("ix_records_origin_seq", "origin", "seq"),
    Index("ix_records_model", "model", "pos"),
    Index("ix_records_task", "task", "pos"),
    Index("ix_records_origin_digest", "origin", "body_digest"),
    Index("ix_records_target", "target"),
    Index("ix_records_embargo", "embargo_until_us"),
)

logs = Table(
    "logs",
    metadata,
    Column("origin", String(64), primary_key=True),
    Column("head_seq", BigInteger, nullable=False),
    Column("head_id", ID, nullable=False),
    Column("forked", Boolean, nullable=False, default=False),
)

peers = Table(
    "peers",
    metadata,
    Column("address", String(256), primary_key=True),
    Column("added_at_us", BigInteger, nullable=False),
    Column("embargo_through_us", BigInteger, nullable=False, default=0),
)

join_requests = Table(
    "join_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("institute", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("received_at_us", BigInteger, nullable=False),
)

"""The migrated database: it matches the declared schema, and each lookup finds its index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from evalfed.server.storage.engine import make_engine, migrate
from evalfed.server.storage.schema import metadata, records
from evalfed.server.storage.store import RecordStore, Viewer
from evalfed.server.storage.sync_store import SyncStore
from tests.conftest import statements_run


def test_migrations_build_the_declared_schema(engine: Engine) -> None:
    """Queries are written against schema.py; the tables are made by the migrations."""
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    # Alembic does not compare the rows an index holds: which indexes are partial, both ways.
    declared = {
        index.name
        for index in records.indexes
        if any(index.dialect_options[d]["where"] is not None for d in ("sqlite", "postgresql"))
    }
    built = {
        index["name"]
        for index in inspect(engine).get_indexes("records")
        if any(key.endswith("_where") for key in index.get("dialect_options", {}))
    }
    assert (
        declared
        == built
        == {
            "ix_records_origin_digest_key",
            "ix_records_target",
            "ix_records_embargo",
        }
    )


@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        (lambda store: store.find_digests("us-aisi", ["ab" * 32]), "ix_records_origin_digest_key"),
        (lambda store: store.superseded(["cd" * 32]), "ix_records_target"),
        (lambda store: SyncStore(store, "us-aisi").next_embargo_end(0), "ix_records_embargo"),
        (
            lambda store: SyncStore(store, "us-aisi").embargo_released(Viewer("uk-aisi"), 0, 1),
            "ix_records_embargo",
        ),
    ],
    ids=["digest", "target", "next embargo end", "embargo released"],
)
def test_each_lookup_uses_its_index(
    lookup: Callable[[RecordStore], object], index: str, tmp_path: Path
) -> None:
    """These indexes hold only some rows (see schema.HAS_*), and SQLite uses one only for a
    query that repeats its condition; without it each lookup would read the whole table.
    (SQLite only: PostgreSQL picks plans from table statistics.)"""
    engine = make_engine(f"sqlite:///{tmp_path / 'node.db'}")
    migrate(engine)
    with statements_run(engine) as statements:
        lookup(RecordStore(engine))
    with engine.connect() as conn:
        plans = [
            " | ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}", p))
            for s, p in statements
            if s.lstrip().upper().startswith("SELECT")
        ]
    engine.dispose()
    assert any(index in plan for plan in plans), plans

"""Migration 0007 gives stored records their lanes and each log its head: a node's database
taken back to 0006 and migrated again holds the same lanes, heads and records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from evalfed.server.localnet import NodeProcess
from tests.conftest import Federation
from tests.integration.test_migration_crash import (
    HEAD,
    database_of,
    downgrade,
    node_with_results,
    revision_of,
    schema_of,
    stored_rows,
)

AUDIENCES = ["", "public", "uk-aisi", "", "uk-aisi", "public", "ca-aisi,uk-aisi", ""]


def heads_of(node: NodeProcess) -> set[tuple[object, ...]]:
    with database_of(node) as engine, engine.connect() as connection:
        return {tuple(r) for r in connection.execute(sa.text("SELECT * FROM logs"))}


@pytest.mark.timeout(120)
def test_lanes_and_heads_are_rebuilt_from_the_stored_records(
    tmp_path: Path,
    federation: Federation,
    new_database: Callable[[], str],
    nodes: list[NodeProcess],
) -> None:
    us = node_with_results(tmp_path, federation, new_database(), nodes, len(AUDIENCES), AUDIENCES)
    us.stop()
    rows = stored_rows(us, "lane", "seq", "envelope")
    heads = heads_of(us)
    assert len({lane for lane, _, _ in rows.values()}) == 4
    assert len(heads) == 4 and {h[0] for h in heads} == {"us-aisi"}

    downgrade(us, "0006")
    assert "lane" not in schema_of(us)["records"][0]
    with database_of(us) as engine, engine.connect() as connection:
        old_logs = connection.execute(sa.text("SELECT origin, head_seq FROM logs")).all()
    assert [tuple(r) for r in old_logs] == [("us-aisi", 3)]

    us.start()
    assert revision_of(us) == HEAD
    assert stored_rows(us, "lane", "seq", "envelope") == rows
    assert heads_of(us) == heads

"""A node process SIGKILLed while it migrates its database: nothing of the migration is left
half-written, and after a restart it finishes the migration and holds exactly the records it
had, byte for byte."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from evalfed.keys import PrivateKey
from evalfed.server.config import NodeConfig
from evalfed.server.localnet import NodeProcess
from evalfed.server.storage.engine import MIGRATIONS, make_engine
from evalfed.v1.node_pb2 import QueryRequest, StoredRecord
from tests.conftest import Federation
from tests.processes import node_process
from tests.results import result

# Enough records that 0004 (which reads every stored envelope to fill in key_id) runs for
# most of a second on SQLite and a few seconds on PostgreSQL.
RECORDS = 10_000
OLD_REVISION = "0003"
LINE_TIMEOUT_S = 60.0
MIGRATING = re.compile(rf"migrating the database schema from {OLD_REVISION} to \w+")
# 0004 logs its progress every tenth of the records: the first such line means the new
# columns exist in the migration's transaction and some rows are filled in, most not yet.
BACKFILLING = re.compile(rf"0004: \d+ of {RECORDS} records done")

Schema = dict[str, tuple[list[str], list[str]]]


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """The project's migrations, run on `connection` by their env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def database_of(node: NodeProcess) -> Iterator[Engine]:
    """The node's own database, opened from the test process."""
    engine = make_engine(NodeConfig.load(node.data_dir).database())
    try:
        yield engine
    finally:
        engine.dispose()


def downgrade(node: NodeProcess, revision: str) -> None:
    """Takes the node's database back to `revision` with the project's own migrations."""
    with database_of(node) as engine, engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def revision_of(node: NodeProcess) -> str | None:
    with database_of(node) as engine, engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_of(node: NodeProcess) -> Schema:
    """Every table's column names and index names."""
    with database_of(node) as engine:
        inspector = sa.inspect(engine)
        return {
            table: (
                sorted(c["name"] for c in inspector.get_columns(table)),
                sorted(str(i["name"]) for i in inspector.get_indexes(table)),
            )
            for table in inspector.get_table_names()
        }


def stored_rows(node: NodeProcess, *columns: str) -> dict[str, tuple[Any, ...]]:
    """Record id -> these columns of its row, read straight from the records table."""
    with database_of(node) as engine, engine.connect() as connection:
        records = sa.table("records", sa.column("id"), *(sa.column(c) for c in columns))
        selected = [records.c.id, *(records.c[c] for c in columns)]
        return {row[0]: tuple(row[1:]) for row in connection.execute(sa.select(*selected))}


def publish(address: str, key: PrivateKey, count: int, audiences: Sequence[str] = ("",)) -> None:
    """`count` results, their audiences taken in turn from `audiences`."""
    with NodeClient(address, key) as client:
        bodies = [
            new_result_record(
                result(value=i / count), audience_from_text(audiences[i % len(audiences)])
            )
            for i in range(count)
        ]
        publish_records(client, bodies)


def node_with_results(
    tmp_path: Path,
    federation: Federation,
    database_url: str,
    nodes: list[NodeProcess],
    count: int,
    audiences: Sequence[str] = ("",),
) -> NodeProcess:
    """A running US node process holding `count` published results (see `publish`)."""
    us = node_process(tmp_path, federation, "us-aisi", database_url)
    nodes.append(us)
    us.start()
    publish(us.address, federation.keys["us-aisi"], count, audiences)
    return us


def served_records(address: str, key: PrivateKey) -> dict[str, bytes]:
    """Record id -> the StoredRecord the node serves (envelope, received_at, void_reason...)."""
    with NodeClient(address, key) as client:
        return {
            r.id: r.SerializeToString(deterministic=True)
            for r in client.query(QueryRequest(origin="us-aisi", page_size=1000))
        }


def served_envelopes(records: dict[str, bytes]) -> dict[str, bytes]:
    return {
        record_id: StoredRecord.FromString(data).envelope.SerializeToString()
        for record_id, data in records.items()
    }


class NodeOutput:
    """A node process started by hand so its log (stderr) can be read line by line as it
    comes; `NodeProcess.start` would wait for it to listen, i.e. until after migrating."""

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        node.proc = subprocess.Popen(
            [sys.executable, "-m", "evalfed.client.cli", "node", "run", str(node.data_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.node.proc is not None and self.node.proc.stderr is not None
        for line in self.node.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> str:
        """The next line matching `pattern`; fails when the log ends or goes quiet first."""
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(self._missing(pattern, "timed out")) from None
            if line is None:
                raise AssertionError(self._missing(pattern, "the node exited"))
            self.seen.append(line)
            if pattern.search(line):
                return line

    def _missing(self, pattern: re.Pattern[str], why: str) -> str:
        return f"{why} before a line matching {pattern.pattern!r}:\n{''.join(self.seen)}"

    def kill(self) -> str:
        """SIGKILL; returns what the node printed on stdout (its "listening on" line, if any)."""
        proc = self.node.proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        self.node.kill()
        self.reader.join(timeout=LINE_TIMEOUT_S)
        printed = proc.stdout.read()
        proc.stdout.close()
        proc.stderr.close()
        return printed


def stored_envelopes(node: NodeProcess) -> dict[str, bytes]:
    return {record_id: row[0] for record_id, row in stored_rows(node, "envelope").items()}


def assert_killed_mid_migration(node: NodeProcess, old_schema: Schema, printed: str) -> None:
    """The database is exactly as it was before the node started migrating; fails, saying so,
    when the kill came too late to prove anything."""
    revision = revision_of(node)
    if revision != OLD_REVISION:
        pytest.fail(
            f"SIGKILL did not land mid-migration: the database is at {revision}, not "
            f"{OLD_REVISION}, and the node had printed {printed!r}; raise RECORDS"
        )
    assert printed == "", "the node finished starting before it was killed"
    assert schema_of(node) == old_schema, "the killed migration left part of its changes"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_node_killed_mid_migration_restarts_with_every_record(
    tmp_path: Path,
    federation: Federation,
    new_database: Callable[[], str],
    nodes: list[NodeProcess],
) -> None:
    key = federation.keys["us-aisi"]
    us = node_with_results(tmp_path, federation, new_database(), nodes, RECORDS)
    served = served_records(us.address, key)
    assert len(served) == RECORDS
    us.stop()
    schema_at_head = schema_of(us)
    rows_at_head = stored_rows(us, "envelope", "key_id", "void_reason")
    assert {row[1:] for row in rows_at_head.values()} == {(key.key_id, "")}
    envelopes = stored_envelopes(us)

    downgrade(us, OLD_REVISION)
    old_schema = schema_of(us)
    assert "key_id" not in old_schema["records"][0]
    assert stored_envelopes(us) == envelopes

    migrating = NodeOutput(us)
    migrating.wait_for(MIGRATING)
    progress = migrating.wait_for(BACKFILLING)
    printed = migrating.kill()
    print(f"SIGKILL after {progress.split(': ', 1)[1].strip()!r}")
    assert_killed_mid_migration(us, old_schema, printed)
    assert stored_envelopes(us) == envelopes

    us.start()
    assert revision_of(us) == HEAD
    assert schema_of(us) == schema_at_head
    assert stored_rows(us, "envelope", "key_id", "void_reason") == rows_at_head
    after = served_records(us.address, key)
    assert after.keys() == served.keys()
    assert served_envelopes(after) == served_envelopes(served) == envelopes
    assert after == served

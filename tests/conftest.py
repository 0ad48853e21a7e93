"""Shared fixtures: a federation of real keys and charter, databases, and live nodes on port 0."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from evalfed.client.node_client import NodeClient
from evalfed.core.charter import VerifiedCharter, build_charter, charter_envelope, sign_charter
from evalfed.core.charter import verify_charter as _verify
from evalfed.core.codec import to_json
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey, generate_key_files

FOUNDERS = ("us-aisi", "uk-aisi", "ca-aisi")
OUTSIDERS = ("jp-aisi",)
PG_ADMIN_URL = os.environ.get("EVALFED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Federation:
    """Founders US, UK and Canada (threshold 2), an outsider's key (Japan), and the charter."""

    root: Path
    keys: dict[str, PrivateKey]
    charter: VerifiedCharter
    charter_path: Path

    def key_path(self, institute: str) -> Path:
        return self.root / "keys" / f"{institute}.key"

    def pub_path(self, institute: str) -> Path:
        return self.root / "keys" / f"{institute}.pub"


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    root = tmp_path_factory.mktemp("federation")
    keys = {name: generate_key_files(name, root / "keys") for name in FOUNDERS + OUTSIDERS}
    charter = build_charter(
        "test federation", 2, [(name, keys[name].public) for name in FOUNDERS], now_us()
    )
    envelope = charter_envelope(charter)
    for name in FOUNDERS:
        sign_charter(envelope, keys[name])
    path = root / "federation.json"
    path.write_text(to_json(envelope))
    return Federation(root, keys, _verify(envelope), path)


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    reason = _postgres_reachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: PostgreSQL is required)")
        pytest.skip(reason)
    return PG_ADMIN_URL


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def database_maker(request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Makes databases for nodes of the kind `request.param` names ("sqlite" or "postgresql").

    On SQLite a node's database lives in its data folder (""); on PostgreSQL each call makes
    a fresh schema, dropped when the block ends.
    """
    if request.param == "sqlite":
        yield lambda: ""
        return
    import psycopg

    admin = str(request.getfixturevalue("postgres_url"))
    schemas: list[str] = []

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        return f"{admin}?options=-csearch_path%3D{schema}"

    try:
        yield make
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=DATABASES)
def new_database(request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Makes databases for nodes: each test runs once on SQLite and once on PostgreSQL."""
    with database_maker(request) as make:
        yield make


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    return new_database()


@contextlib.contextmanager
def statements_run(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collects each SQL statement `engine` sends, with its parameters, inside the block."""
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


@pytest.fixture
def engine(new_database: Callable[[], str], tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of no node, for testing storage on its own."""
    from evalfed.server.storage.engine import make_engine, migrate

    engine = make_engine(new_database() or f"sqlite:///{tmp_path / 'node.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def nodes(new_database: Callable[[], str]) -> Iterator[list[object]]:
    """Node processes (evalfed.server.localnet.NodeProcess) a test starts: stopped at its end,
    before their databases are dropped."""
    started: list[Any] = []
    yield started
    for node in started:
        node.stop()


@pytest.fixture
def make_node(
    tmp_path: Path, federation: Federation, new_database: Callable[[], str]
) -> Iterator[object]:
    """Builds and starts in-process nodes on port 0; all are stopped at the end of the test."""
    from evalfed.server.app import Node

    started: list[Node] = []

    def make(institute: str = "us-aisi", peers: tuple[str, ...] = (), **settings: Any) -> Node:
        data_dir = tmp_path / f"{institute}-{len(started)}"
        node = start_node(federation, data_dir, institute, new_database(), peers, **settings)
        started.append(node)
        return node

    yield make
    for node in reversed(started):
        node.stop(grace_s=0)


def start_node(
    federation: Federation,
    data_dir: Path,
    institute: str,
    database_url: str,
    peers: tuple[str, ...] = (),
    **settings: Any,
) -> Any:
    """An in-process node of `institute` on port 0, started; the caller stops it."""
    from evalfed.server.app import build_node
    from evalfed.server.config import NodeConfig
    from evalfed.server.datadir import prepare_data_dir

    config = NodeConfig(
        data_dir=data_dir,
        institute=institute,
        listen="127.0.0.1:0",
        database_url=database_url,
        insecure=False,
        **settings,
    )
    prepare_data_dir(config, federation.charter, federation.keys[institute], peers)
    node = build_node(config)
    node.start()
    return node


def wait_for(node, predicate, timeout_s: float = 30.0) -> None:
    """Waits, on the node's append events (no polling sleeps), until `predicate()` holds."""
    import time

    deadline = time.monotonic() + timeout_s
    pos = 0
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout_s} s waiting at {node.address}")
        pos = node.store.wait_for_append(pos, min(remaining, 1.0))


@pytest.fixture
def node(make_node):
    """The US institute's node."""
    return make_node("us-aisi")


@pytest.fixture
def founders(make_node, federation: Federation):
    """US and UK nodes, each the other's partner."""
    us = make_node("us-aisi")
    uk = make_node("uk-aisi", peers=(us.address,))
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        client.update_peers([uk.address], [])
    return us, uk


@pytest.fixture
def us_client(node, federation: Federation) -> Iterator[NodeClient]:
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        yield client


@pytest.fixture
def cli_env(node, federation: Federation, monkeypatch: pytest.MonkeyPatch) -> Federation:
    """EVALFED_NODE and EVALFED_KEY point the CLI at the US node with the US key."""
    monkeypatch.setenv("EVALFED_NODE", node.address)
    monkeypatch.setenv("EVALFED_KEY", str(federation.key_path("us-aisi")))
    return federation


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Runs `evalfed ARGV...` in-process: (exit code, stdout, stderr)."""
    from evalfed.client.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def serve_partner() -> Iterator[Callable[[object], str]]:
    """Serves crafted partners (tests/partners.py) on loopback; stopped after the test."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    from evalfed.v1.node_pb2_grpc import add_NodeServicer_to_server

    servers: list[grpc.Server] = []

    def serve(partner: object) -> str:
        server = grpc.server(ThreadPoolExecutor(4))
        add_NodeServicer_to_server(partner, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield serve
    for server in servers:
        server.stop(0)

"""Shared fixtures: a federation of real keys and charter, databases, and live nodes on port 0."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from evalfed.client.node_client import NodeClient
from evalfed.core.charter import VerifiedCharter, build_charter, charter_envelope, sign_charter
from evalfed.core.charter import verify_charter as _verify
from evalfed.core.codec import to_json
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey, generate_key_files

FOUNDERS = ("us-aisi", "uk-aisi")
OUTSIDERS = ("jp-aisi",)
PG_ADMIN_URL = os.environ.get("EVALFED_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Federation:
    """Founders US and UK (threshold 2), an outsider's key, and the signed charter on disk."""

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


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that stores records runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def make_node(tmp_path: Path, federation: Federation, database_url: str) -> Iterator[object]:
    """Builds and starts in-process nodes on port 0; all are stopped at the end of the test."""
    from evalfed.server.app import Node, build_node
    from evalfed.server.config import NodeConfig
    from evalfed.server.datadir import prepare_data_dir

    started: list[Node] = []

    def make(institute: str = "us-aisi", peers: tuple[str, ...] = ()) -> Node:
        config = NodeConfig(
            data_dir=tmp_path / f"{institute}-{len(started)}",
            institute=institute,
            listen="127.0.0.1:0",
            database_url=database_url,
            insecure=True,
        )
        prepare_data_dir(config, federation.charter, federation.keys[institute].public, peers)
        node = build_node(config)
        node.start()
        started.append(node)
        return node

    yield make
    for node in started:
        node.stop(grace_s=0)


@pytest.fixture
def node(make_node):
    """The US institute's node."""
    return make_node("us-aisi")


@pytest.fixture
def us_client(node, federation: Federation) -> Iterator[NodeClient]:
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        yield client

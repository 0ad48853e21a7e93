"""A throw-away federation for the benchmark: keys, a charter, and node processes."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from evalfed.client.node_client import NodeClient
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.localnet import NodeProcess, free_address

INSTITUTES = ("us-aisi", "uk-aisi", "ca-aisi")
POLL_S = 0.02
POLL_MAX_S = 0.5


class BenchNetwork:
    """Founders US, UK and Canada; nodes are created per measurement in a temporary folder."""

    def __init__(self, database_url: str = "") -> None:
        self.root = Path(tempfile.mkdtemp(prefix="evalfed-bench-"))
        self.keys = {name: PrivateKey.generate() for name in INSTITUTES}
        envelope = charter_envelope(
            build_charter("bench", 2, [(n, k.public) for n, k in self.keys.items()], now_us())
        )
        for key in self.keys.values():
            sign_charter(envelope, key)
        self.charter = verify_charter(envelope)
        self.database_url = database_url
        self.nodes: list[NodeProcess] = []
        self.schemas: list[str] = []
        """PostgreSQL schemas made for the nodes, dropped at the end."""
        self.institute_of: dict[str, str] = {}
        """Each node's institute, by address."""

    def node(self, institute: str, name: str, peers: tuple[str, ...] = ()) -> NodeProcess:
        """Prepares and starts a node of `institute` with these partners."""
        address = free_address()
        data_dir = self.root / name
        config = NodeConfig(data_dir, institute, address, self._database(name))
        prepare_data_dir(config, self.charter, self.keys[institute], peers)
        node = NodeProcess(data_dir)
        node.start()
        self.nodes.append(node)
        self.institute_of[node.address] = institute
        return node

    def _database(self, name: str) -> str:
        if not self.database_url:
            return ""
        import psycopg

        schema = f"bench_{name.replace('-', '_')}_{int(time.time())}"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        return f"{self.database_url}?options=-csearch_path%3D{schema}"

    def client(self, node: NodeProcess, institute: str = "us-aisi") -> NodeClient:
        return NodeClient(node.address, self.keys[institute])

    def wait_for_count(self, node: NodeProcess, origin: str, count: int, timeout_s: float) -> float:
        """Polls the node's head of `origin`, as its own operator, until it holds `count`
        records of `origin`; the time it took. Each poll is a signed call the node checks, on
        the cores being measured, so polls come seldom while much is left and every POLL_S
        near the end."""
        started = time.perf_counter()
        with self.client(node, self.institute_of[node.address]) as client:
            while (elapsed := time.perf_counter() - started) < timeout_s:
                held = client.head(origin).seq
                if held >= count:
                    return time.perf_counter() - started
                left_s = (count - held) * elapsed / held if held else POLL_MAX_S
                time.sleep(min(POLL_MAX_S, max(POLL_S, left_s / 2)))
        raise TimeoutError(f"{node.address} did not reach {count} {origin} records")

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        if self.schemas:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")

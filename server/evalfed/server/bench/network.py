"""A throw-away federation for the benchmark: keys, a charter, and node processes."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from evalfed.client.node_client import NodeClient
from evalfed.core.charter import build_charter, charter_envelope, sign_charter, verify_charter
from evalfed.core.records import MEMBERS_LANE
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.localnet import NodeProcess, free_address
from evalfed.server.storage.engine import make_engine
from evalfed.server.storage.schema import tlog_trees
from evalfed.server.storage.store import head_of

INSTITUTES = ("us-aisi", "uk-aisi", "ca-aisi")
POLL_S = 0.01
"""The shortest wait between two looks at a node's database (near the end of a catch-up)."""
POLL_MAX_S = 0.1


def _next_look(held: int, count: int, elapsed_s: float) -> float:
    """When to look again: a twentieth of the time the rest should take at the pace so far
    (of the time so far, before anything arrived), between POLL_S and POLL_MAX_S. A look
    costs about 0.2 ms of CPU while the node writes, so looking every POLL_S took 2 to 3.5%
    of a core from the two being measured; the end is still seen within POLL_S to 20 ms."""
    left_s = elapsed_s if held == 0 else (count - held) * elapsed_s / held
    return min(POLL_MAX_S, max(POLL_S, left_s / 20))


def can_set_apart() -> bool:
    """Whether a node can be given a core of its own (`node_apart`): Linux, two or more."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


@contextmanager
def node_apart(node: NodeProcess) -> Iterator[None]:
    """Runs the body with `node` (its workers too) on one core and this process, with every
    process it starts meanwhile, on the others: the layout of a node on a server of its own,
    which a benchmark on one machine can only imitate. Every thread is moved (a thread keeps
    its own set of cores, and a new one inherits its parent thread's)."""
    cores = os.sched_getaffinity(0)
    node_core = {min(cores)}
    for pid in node.process_ids():
        _move_threads(pid, node_core)
    _move_threads(os.getpid(), cores - node_core)
    try:
        yield
    finally:
        for pid in [os.getpid(), *node.process_ids()]:
            _move_threads(pid, cores)


def _move_threads(pid: int, cores: set[int]) -> None:
    try:
        threads = [int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()]
    except FileNotFoundError:
        return  # the process ended meanwhile
    for thread in threads:
        with contextlib.suppress(ProcessLookupError):  # the thread ended meanwhile
            os.sched_setaffinity(thread, cores)


class BenchNetwork:
    """Founders US, UK and Canada; nodes are created per measurement in a temporary folder."""

    def __init__(self, database_url: str = "", log_trees: bool = NodeConfig.log_trees) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="evalfed-bench-"))
        self.keys = {name: PrivateKey.generate() for name in INSTITUTES}
        envelope = charter_envelope(
            build_charter("bench", 2, [(n, k.public) for n, k in self.keys.items()], now_us())
        )
        for key in self.keys.values():
            sign_charter(envelope, key)
        self.charter = verify_charter(envelope)
        self.database_url = database_url
        self.log_trees = log_trees
        """Whether the nodes keep their logs' Merkle trees (NodeConfig.log_trees)."""
        self.nodes: list[NodeProcess] = []
        self.schemas: list[str] = []
        """PostgreSQL schemas made for the nodes, dropped at the end."""
        self.database_of: dict[str, str] = {}
        """Each node's database URL, by address."""

    def node(self, institute: str, name: str, peers: tuple[str, ...] = ()) -> NodeProcess:
        """Prepares and starts a node of `institute` with these partners."""
        address = free_address()
        data_dir = self.root / name
        config = NodeConfig(
            data_dir, institute, address, self._database(name), log_trees=self.log_trees
        )
        prepare_data_dir(config, self.charter, self.keys[institute], peers)
        node = NodeProcess(data_dir)
        node.start()
        self.nodes.append(node)
        self.database_of[node.address] = config.database()
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

    def key_file(self, institute: str) -> Path:
        """The institute's private key in a file (mode 0600), for the CLI."""
        path = self.root / f"{institute}.key"
        if not path.exists():
            self.keys[institute].write(path)
        return path

    def client(self, node: NodeProcess, institute: str = "us-aisi") -> NodeClient:
        return NodeClient(node.address, self.keys[institute])

    def wait_for_count(self, node: NodeProcess, origin: str, count: int, timeout_s: float) -> float:
        """Watches the node's database, read-only, until the node holds `count` records of
        `origin`; the time it took. A signed GetHead would cost the node about 1.6 ms of CPU on
        the cores being measured, so the benchmark used to ask seldom, and saw the end of a
        catch-up up to half a second late (a node commits up to 20,000 records at once); a
        read of the database costs the node nothing, and `_next_look` spaces them out."""
        key = (origin, MEMBERS_LANE)
        return self._watch(node, lambda conn: head_of(conn, key).seq, count, timeout_s)

    def wait_for_tree(self, node: NodeProcess, origin: str, count: int, timeout_s: float) -> float:
        """Like wait_for_count, until the node's tree of `origin`'s log has `count` leaves."""
        size = select(tlog_trees.c.size).where(
            tlog_trees.c.origin == origin, tlog_trees.c.lane == MEMBERS_LANE
        )
        return self._watch(node, lambda conn: conn.execute(size).scalar() or 0, count, timeout_s)

    def _watch(
        self,
        node: NodeProcess,
        held_of: Callable[[Connection], int],
        count: int,
        timeout_s: float,
    ) -> float:
        engine = make_engine(self.database_of[node.address])
        started = time.perf_counter()
        held = 0
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                while (elapsed := time.perf_counter() - started) < timeout_s:
                    held = held_of(conn)
                    if held >= count:
                        return time.perf_counter() - started
                    time.sleep(_next_look(held, count, elapsed))
        finally:
            engine.dispose()
        raise TimeoutError(f"{node.address} reached {held} of {count} in {timeout_s} s")

    def close(self) -> None:
        for node in self.nodes:
            node.stop()
        if self.schemas:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                for schema in self.schemas:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")

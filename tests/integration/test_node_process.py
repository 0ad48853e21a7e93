"""`evalfed node run` as a separate process: it serves, and SIGTERM drains and stops it."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.verifier import CHECK_PROCESSES
from tests.conftest import Federation
from tests.results import result

EVALFED = [sys.executable, "-m", "evalfed.client.cli"]


def _descendants(pid: int) -> list[int]:
    """The process ids below `pid` (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").iterdir():
            children = [int(c) for c in (task / "children").read_text().split()]
            found += children
            todo += children
    return found


def _outliving(pids: list[int], timeout_s: float = 20.0) -> list[int]:
    """Those of `pids` still running after up to `timeout_s` (waits on each one's exit)."""
    deadline = time.monotonic() + timeout_s
    left = []
    for pid in pids:
        try:
            handle = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ended, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(handle)
        if not ended:
            left.append(pid)
    return left


def _start_node(
    root: Path, federation: Federation, database_url: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """`evalfed node run` for us-aisi in a new folder (`env` added to the environment); the
    process and its address once it listens."""
    config = NodeConfig(root / "us", "us-aisi", "127.0.0.1:0", database_url, insecure=True)
    prepare_data_dir(config, federation.charter, federation.keys["us-aisi"])
    proc = subprocess.Popen(
        [*EVALFED, "node", "run", str(config.data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise AssertionError(proc.communicate()[1])
    return proc, line.rsplit(" ", 1)[1].strip()


@pytest.mark.timeout(60)
def test_node_process_serves_and_stops_on_sigterm(
    tmp_path: Path, federation: Federation, database_url: str
) -> None:
    proc, address = _start_node(tmp_path, federation, database_url)
    try:
        assert proc.stdout is not None
        # Up means ready: the signature-checking workers started before it said so.
        helpers = _descendants(proc.pid)
        assert len(helpers) >= 1 + CHECK_PROCESSES, helpers  # the fork server and the workers
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="evalfed.v1.Node"), timeout=10
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
        with NodeClient(address, federation.keys["us-aisi"]) as client:
            publish_records(client, [new_result_record(result(), audience_from_text(""))])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "stopped" in proc.stdout.read()
        assert "INSECURE MODE" in (proc.stderr.read() if proc.stderr else "")
        assert not _outliving(helpers), "checking workers outlived the node"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(60)
def test_node_process_logs_one_json_object_per_line_when_asked(
    tmp_path: Path, federation: Federation
) -> None:
    proc, _ = _start_node(tmp_path, federation, "", {"EVALFED_LOG_FORMAT": "json"})
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        lines = (proc.stderr.read() if proc.stderr else "").splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    entries = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    messages = [e["message"] for e in entries]
    assert any("INSECURE MODE" in m for m in messages)
    assert any("received SIGTERM" in m for m in messages)


@pytest.mark.timeout(60)
def test_a_killed_node_leaves_no_process_behind(
    tmp_path: Path, federation: Federation, database_url: str
) -> None:
    """SIGKILL (or the kernel's out-of-memory killer) gives the node no chance to stop its
    checking workers: they must notice and end on their own, and their fork server with them."""
    proc, _ = _start_node(tmp_path, federation, database_url)
    try:
        helpers = _descendants(proc.pid)
        assert len(helpers) >= 1 + CHECK_PROCESSES, helpers
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert _outliving(helpers) == []


STARTER = """
import sys
from pathlib import Path
from evalfed.server.localnet import NodeProcess
node = NodeProcess(Path(sys.argv[1]))
node.start()
print(node.proc.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.timeout(60)
def test_a_node_ends_with_the_process_that_started_it(
    tmp_path: Path, federation: Federation, database_url: str
) -> None:
    """A node started through localnet (tests, the demo, the benchmark) stops, draining, when
    its starter is killed, so a killed test run leaves no node or worker behind."""
    config = NodeConfig(tmp_path / "us", "us-aisi", "127.0.0.1:0", database_url, insecure=True)
    prepare_data_dir(config, federation.charter, federation.keys["us-aisi"])
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(config.data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        node_pid = int(starter.stdout.readline())
        started = [node_pid, *_descendants(node_pid)]
        assert len(started) >= 2 + CHECK_PROCESSES, started
    finally:
        starter.kill()
        starter.communicate(timeout=30)
    assert _outliving(started) == []
    log = config.data_dir.with_suffix(".log").read_text()
    assert "which started this node, has ended; stopping" in log


def test_insecure_mode_refuses_a_public_address(tmp_path: Path, federation: Federation) -> None:
    from evalfed.core.errors import InvalidInputError
    from evalfed.server.app import build_node

    config = NodeConfig(tmp_path / "us", "us-aisi", "0.0.0.0:0", "", insecure=True)
    prepare_data_dir(config, federation.charter, federation.keys["us-aisi"])
    with pytest.raises(InvalidInputError, match="loopback only"):
        build_node(config)

"""The benchmark's node-apart layout: a real node held to one core, the caller to the others."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evalfed.server.bench.network import can_set_apart, node_apart
from tests.conftest import Federation
from tests.processes import node_process


def _cores_of_threads(pid: int) -> list[set[int]]:
    return [os.sched_getaffinity(int(t.name)) for t in Path(f"/proc/{pid}/task").iterdir()]


@pytest.mark.timeout(120)
@pytest.mark.skipif(not can_set_apart(), reason="needs Linux and two or more usable cores")
def test_node_apart_holds_the_node_to_one_core_and_what_the_caller_starts_to_the_others(
    tmp_path: Path, federation: Federation
) -> None:
    node = node_process(tmp_path, federation, "us-aisi", "")
    node.start()
    waiting = threading.Event()
    thread = threading.Thread(target=waiting.wait, name="started-before")  # as gRPC's are
    thread.start()
    try:
        cores = os.sched_getaffinity(0)
        node_core, others = {min(cores)}, cores - {min(cores)}
        with node_apart(node):
            assert len(node.process_ids()) > 1  # its checking workers too
            for pid in node.process_ids():
                assert all(held == node_core for held in _cores_of_threads(pid))
            assert all(held == others for held in _cores_of_threads(os.getpid()))
            started = subprocess.run(
                [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            assert started.stdout.strip() == str(sorted(others))
        for pid in [os.getpid(), *node.process_ids()]:
            assert all(held == cores for held in _cores_of_threads(pid))
    finally:
        waiting.set()
        thread.join()
        node.stop()

"""Nodes as separate processes (`evalfed node run`), for tests that kill and restart them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from tests.conftest import Federation

START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NodeProcess:
    """One node's data folder and, while running, its process."""

    def __init__(
        self,
        root: Path,
        federation: Federation,
        institute: str,
        database_url: str,
        peers: tuple[str, ...] = (),
    ) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.config = NodeConfig(
            root / institute, institute, self.address, database_url, insecure=False
        )
        prepare_data_dir(self.config, federation.charter, federation.keys[institute], peers)
        self.proc: subprocess.Popen[str] | None = None
        self.log = root / f"{institute}.log"

    def start(self) -> None:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "evalfed.client.cli",
                    "node",
                    "run",
                    str(self.config.data_dir),
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise AssertionError(
                f"node {self.config.institute} did not start:\n{self.log.read_text()}"
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

"""Nodes as separate local processes (`evalfed node run`), for the demo, the benchmark and
tests that kill and restart them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

STOP_TIMEOUT_S = 30
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_address() -> str:
    """A loopback address with a port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


class NodeProcess:
    """A prepared data folder and, while running, its node process."""

    def __init__(self, data_dir: Path, log: Path | None = None) -> None:
        self.data_dir = data_dir
        self.log = log or data_dir.with_suffix(".log")
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""

    def start(self) -> str:
        """Starts the node and returns its address once it listens."""
        run = [sys.executable, "-m", "evalfed.client.cli", "node", "run", str(self.data_dir)]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [*run, "--end-with", str(os.getpid())],  # a killed test run takes it along
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(
                f"the node in {self.data_dir} did not start:\n{self.log.read_text()}"
            )
        self.address = line.rsplit(" ", 1)[1].strip()
        return self.address

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory so far (Linux VmHWM)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def cpu_seconds(self) -> float:
        """CPU time (user and system) of the node process and its live descendants, such as
        its checking workers (Linux /proc)."""
        total = 0.0
        for pid in self.process_ids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue  # it ended meanwhile
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total

    def process_ids(self) -> list[int]:
        """The node process and its live descendants (Linux /proc)."""
        assert self.proc is not None
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue  # it ended meanwhile
            found.append(pid)
        return found

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> str:
        """SIGTERM, then waits; returns what the node printed after starting."""
        if self.proc is None or self.proc.poll() is not None:
            return ""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stdout is not None
        return self.proc.stdout.read()

"""`evalfed dashboard`: connect to the node with the institute's key, then serve the pages on
loopback with uvicorn until interrupted.

The dashboard holds the key: whoever reaches its port reads what the key may see. So it
listens on 127.0.0.1 unless `--allow-non-loopback` says otherwise, and answers only requests
that name the host it listens on.
"""

from __future__ import annotations

import argparse
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from evalfed.client.cli_common import connect, err
from evalfed.client.node_client import NodeClient
from evalfed.client.transport import is_loopback
from evalfed.core.errors import InvalidInputError
from evalfed.dashboard.app import build_app

DEFAULT_LISTEN = "127.0.0.1:8700"
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]
START_TIMEOUT_S = 10.0


def split_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (or [V6]:PORT) as host and port."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InvalidInputError(
            f"--listen {listen!r}: write it as HOST:PORT, e.g. {DEFAULT_LISTEN}"
        )
    return host.strip("[]"), int(port)


def check_listen(listen: str, allow_non_loopback: bool) -> tuple[str, int]:
    """The host and port to listen on; a non-loopback host only when allowed."""
    host, port = split_listen(listen)
    if not is_loopback(listen) and not allow_non_loopback:
        raise InvalidInputError(
            f"--listen {listen}: the dashboard signs its calls with your institute's key, so "
            "anyone who reaches this address reads what that key may see; it listens on "
            "loopback (127.0.0.1) only. Pass --allow-non-loopback to serve it there anyway"
        )
    return host, port


def allowed_hosts(host: str) -> list[str]:
    """The Host names requests may carry: loopback names, and the listen host itself when it
    is a name or an address of its own (not a wildcard)."""
    hosts = list(LOOPBACK_NAMES)
    if host not in ("0.0.0.0", "::") and host not in hosts:
        hosts.append(host)
    return hosts


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


@dataclass
class Dashboard:
    """A dashboard being served: its URL, and the server to stop."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it listens (`ready`)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def _server(client: NodeClient, host: str) -> _Server:
    app = build_app(client, allowed_hosts(host))
    return _Server(uvicorn.Config(app, log_level="info", access_log=True, lifespan="off"))


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


@contextmanager
def serving(client: NodeClient, listen: str = "127.0.0.1:0") -> Iterator[Dashboard]:
    """Serves the dashboard over `client` in a thread (on loopback), for as long as the block
    runs: its URL is known before the block starts."""
    host, port = check_listen(listen, allow_non_loopback=False)
    sock = bind(host, port)
    server = _server(client, host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    dashboard = Dashboard(url_of(sock), server, thread)
    if not server.ready.wait(START_TIMEOUT_S):
        dashboard.stop()
        sock.close()
        raise RuntimeError(f"the dashboard did not start within {START_TIMEOUT_S} s")
    try:
        yield dashboard
    finally:
        dashboard.stop()
        sock.close()


def cmd_dashboard(args: argparse.Namespace) -> int:
    host, port = check_listen(args.listen, args.allow_non_loopback)
    sock = bind(host, port)
    with connect(args) as client:
        err.print(
            f"dashboard of {client.info.institute}'s node {client.address}, calls signed as "
            f"{client.institute}: {url_of(sock)} (Ctrl-C stops it)",
            markup=False,
        )
        logging.basicConfig(level=logging.INFO)
        _server(client, host).run(sockets=[sock])
    sock.close()
    return 0

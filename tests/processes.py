"""Test nodes as separate processes: a prepared data folder on a fixed port, so a node killed
with SIGKILL restarts where its partners expect it."""

from __future__ import annotations

from pathlib import Path

from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.localnet import NodeProcess, free_address
from tests.conftest import Federation


def node_process(
    root: Path,
    federation: Federation,
    institute: str,
    database_url: str,
    peers: tuple[str, ...] = (),
) -> NodeProcess:
    address = free_address()
    config = NodeConfig(root / institute, institute, address, database_url, insecure=False)
    prepare_data_dir(config, federation.charter, federation.keys[institute], peers)
    node = NodeProcess(config.data_dir, root / f"{institute}.log")
    node.address = address
    return node

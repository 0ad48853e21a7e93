"""The disk fills up during sync (SQLite on a small tmpfs): the node keeps serving, stores no
half batch, and converges once there is room again."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from evalfed.server.app import Node, build_node
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from tests.conftest import Federation, wait_for
from tests.results import result

RECORDS = 3000
HEAD_AND_COUNT = (
    "SELECT (SELECT head_seq FROM logs WHERE origin = 'us-aisi'), (SELECT count(*) FROM records)"
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, grown later by the test; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.timeout(180)
def test_disk_full_during_sync(small_disk: Path, make_node, federation: Federation) -> None:
    us = make_node("us-aisi")
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        bodies = [new_result_record(result(value=i / RECORDS), audience_from_text(""))
                  for i in range(RECORDS)]  # fmt: skip
        publish_records(client, bodies)
    config = NodeConfig(small_disk / "uk", "uk-aisi", "127.0.0.1:0", "", insecure=False)
    prepare_data_dir(config, federation.charter, federation.keys["uk-aisi"], (us.address,))
    uk: Node = build_node(config)
    uk.start()
    try:
        link = lambda: uk.links.stats()[us.address]  # noqa: E731
        wait_for(uk, lambda: "full" in link().last_error, 60)
        # The link keeps retrying, and a smaller batch may still fit: read head and count in
        # one statement, one snapshot.
        with uk.store.engine.connect() as conn:
            head, count = conn.execute(text(HEAD_AND_COUNT)).one()
        held = head or 0  # no head yet when the first transaction was already too big
        assert held < RECORDS
        assert count == held  # whole batches only, and a contiguous log
        with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
            assert held <= client.status().records < RECORDS  # still serving
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        wait_for(uk, lambda: uk.store.head("us-aisi").seq == RECORDS, 120)
        assert uk.store.count() == RECORDS
    finally:
        uk.stop(grace_s=0)

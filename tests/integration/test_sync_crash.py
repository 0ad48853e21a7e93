"""Node processes killed with SIGKILL: mid catch-up through a relay, and mid publish; every
node ends with exactly the origin's ids, and no batch is half-written."""

from __future__ import annotations

import threading
import time
from itertools import accumulate
from pathlib import Path

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_batches, publish_records
from evalfed.core.checks import decode_envelope
from evalfed.core.limits import MAX_PUBLISH_BATCH
from evalfed.core.records import audience_from_text, record_id
from evalfed.server.localnet import NodeProcess
from evalfed.v1.node_pb2 import QueryRequest
from tests.conftest import Federation
from tests.processes import node_process
from tests.results import result

RECORDS = 20_000


def ids_at(address: str, key) -> list[str]:
    with NodeClient(address, key) as client:
        return [r.id for r in client.query(QueryRequest(origin="us-aisi", page_size=1000))]


def follow_until(address: str, key, count: int) -> int:
    """Reads the node's own sync stream (event driven) until it has shown `count` US records."""
    seen: set[str] = set()
    with NodeClient(address, key) as client:
        for batch in client.follow():
            for data in batch.envelopes:
                seen.add(record_id(decode_envelope(data).payload))
            if len(seen) >= count:
                return len(seen)
    raise AssertionError("the stream ended early")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_relay_killed_mid_catch_up_converges(
    tmp_path: Path, federation: Federation, new_database, nodes: list[NodeProcess]
) -> None:
    us_key = federation.keys["us-aisi"]
    us = node_process(tmp_path, federation, "us-aisi", new_database())
    nodes.append(us)
    us.start()
    with NodeClient(us.address, us_key) as client:
        bodies = [
            new_result_record(result(value=i / RECORDS), audience_from_text(""))
            for i in range(RECORDS)
        ]
        publish_records(client, bodies)
    expected = set(ids_at(us.address, us_key))
    assert len(expected) == RECORDS

    uk = node_process(tmp_path, federation, "uk-aisi", new_database(), peers=(us.address,))
    ca = node_process(tmp_path, federation, "ca-aisi", new_database(), peers=(uk.address,))
    nodes.extend([uk, ca])
    started = time.monotonic()
    uk.start()
    follow_until(uk.address, us_key, RECORDS // 4)
    uk.kill()
    uk.start()
    ca.start()
    follow_until(uk.address, us_key, RECORDS)
    elapsed = time.monotonic() - started
    follow_until(ca.address, us_key, RECORDS)
    print(f"catch-up of {RECORDS} records through a SIGKILL: {RECORDS / elapsed:.0f} records/s")

    for node in (uk, ca):
        held = ids_at(node.address, us_key)
        assert len(held) == RECORDS, node.data_dir.name
        assert set(held) == expected


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_publisher_survives_a_node_killed_mid_batch(
    tmp_path: Path, federation: Federation, new_database, nodes: list[NodeProcess]
) -> None:
    """SIGKILL while batches are being stored: after a restart each batch is all there or
    not at all, and publishing the same results again completes them without duplicates."""
    us_key = federation.keys["us-aisi"]
    us = node_process(tmp_path, federation, "us-aisi", new_database())
    nodes.append(us)
    us.start()
    total = 3 * MAX_PUBLISH_BATCH
    bodies = [
        new_result_record(result(value=i / total), audience_from_text("")) for i in range(total)
    ]
    errors: list[Exception] = []

    def publish_all() -> None:
        try:
            with NodeClient(us.address, us_key) as client:
                publish_records(client, bodies)
        except Exception as exc:
            errors.append(exc)

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    follow_until(us.address, us_key, total // 3)
    us.kill()
    publisher.join(timeout=60)
    assert errors, "the publisher should have seen the node go away"
    us.start()
    with NodeClient(us.address, us_key) as client:
        held = [r.id for r in client.query(QueryRequest(origin="us-aisi", page_size=1000))]
        assert client.head().seq == len(held)
        batches = publish_batches(list(range(total)), bodies)
        assert len(held) in {0, *accumulate(map(len, batches))}  # whole batches only
        outcomes = publish_records(client, bodies)
        assert sum(o.existed for o in outcomes) == len(held)
        final = [r.id for r in client.query(QueryRequest(origin="us-aisi", page_size=1000))]
    assert len(final) == len(set(final)) == total

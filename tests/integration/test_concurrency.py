"""Publishers and partners' sync streams writing to one node at once, on SQLite and on
PostgreSQL: no "database is locked" or serialization error reaches anyone, nothing is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from tests.conftest import Federation, wait_for
from tests.results import result

PER_PUBLISHER = 150


def publish_many(address: str, key, label: str) -> int:
    with NodeClient(address, key) as client:
        bodies = [
            new_result_record(result(task=f"{label}-{i}"), audience_from_text(""))
            for i in range(PER_PUBLISHER)
        ]
        outcomes = []
        for start in range(0, PER_PUBLISHER, 10):  # many small publishes, to interleave
            outcomes += publish_records(client, bodies[start : start + 10])
    return sum(1 for o in outcomes if not o.existed)


@pytest.mark.timeout(180)
def test_publishers_and_sync_streams_at_once(make_node, federation: Federation) -> None:
    uk = make_node("uk-aisi")
    ca = make_node("ca-aisi")
    us = make_node("us-aisi", peers=(uk.address, ca.address))
    keys = federation.keys
    jobs = [
        (us.address, keys["us-aisi"], "us-a"),
        (us.address, keys["us-aisi"], "us-b"),
        (uk.address, keys["uk-aisi"], "uk"),
        (ca.address, keys["ca-aisi"], "ca"),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        stored = list(pool.map(lambda job: publish_many(*job), jobs))
    assert stored == [PER_PUBLISHER] * len(jobs)
    wait_for(us, lambda: us.store.count() == PER_PUBLISHER * len(jobs), 60)
    assert us.store.head("us-aisi").seq == 2 * PER_PUBLISHER
    assert us.store.head("uk-aisi").seq == PER_PUBLISHER
    assert us.store.head("ca-aisi").seq == PER_PUBLISHER
    assert all(sum(stats.rejected.values()) == 0 for stats in us.links.stats().values())

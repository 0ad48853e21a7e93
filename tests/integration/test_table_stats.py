"""PostgreSQL plans from table statistics; the node keeps those of its records table current
itself, so a growing log is not planned as if it were empty (autovacuum may be off or behind)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text
from evalfed.server.storage.stats import ANALYZE_MIN_ROWS
from tests.conftest import Federation
from tests.results import result


@pytest.mark.timeout(120)
@pytest.mark.parametrize("new_database", ["postgresql"], indirect=True)
def test_statistics_follow_the_growing_log(make_node, federation: Federation) -> None:
    node = make_node("us-aisi")
    store = node.service.store
    assert store.stats.analyzed.wait(30), "the node did not analyze its table at start"

    def estimated_rows() -> int:
        with store.engine.connect() as conn:
            sql = "SELECT reltuples FROM pg_class WHERE oid = 'records'::regclass"
            return int(conn.execute(text(sql)).scalar())

    assert estimated_rows() <= 0
    bodies = [
        new_result_record(result(model=f"lab/model-{i}"), audience_from_text(""))
        for i in range(ANALYZE_MIN_ROWS)
    ]
    with NodeClient(node.address, federation.keys["us-aisi"]) as client:
        publish_records(client, bodies)
    assert store.stats.analyzed.wait(60), "the node did not analyze its grown table"
    assert estimated_rows() == ANALYZE_MIN_ROWS

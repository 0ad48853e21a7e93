"""The node's /metrics endpoint, scraped over HTTP from running nodes after they synced."""

from __future__ import annotations

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.records import audience_from_text, record_lane
from evalfed.v1.node_pb2 import SyncRequest
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation, wait_for
from tests.metrics import scrape, value
from tests.results import result

SECRET_MODEL = "acme/unreleased-model-x"


def test_metrics_after_a_sync_count_calls_records_and_name_no_model_record_or_lane(
    make_node, federation: Federation
) -> None:
    us = make_node("us-aisi", metrics_listen="127.0.0.1:0")
    bodies = [
        new_result_record(result(model=SECRET_MODEL, task="t1"), audience_from_text("uk-aisi")),
        new_result_record(result(model=SECRET_MODEL, task="t2"), audience_from_text("")),
        new_result_record(result(model=SECRET_MODEL, task="t3"), audience_from_text("public")),
    ]
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        ids = [o.id for o in publish_records(client, bodies)]
    uk = make_node("uk-aisi", peers=(us.address,), metrics_listen="127.0.0.1:0")
    wait_for(uk, lambda: uk.store.count() >= 3)

    text, at_uk = scrape(uk.metrics_address)
    partner = {"partner": us.address, "institute": "us-aisi"}
    assert value(at_uk, "evalfed_sync_records_received_total", **partner) == 3
    assert value(at_uk, "evalfed_sync_lag_records", **partner) == 0
    assert value(at_uk, "evalfed_sync_link_state", state="streaming", **partner) == 1
    assert value(at_uk, "evalfed_store_records") == 3

    with NodeClient(us.address, federation.keys["uk-aisi"]) as client:
        assert len([b for b in client.stub.Sync(SyncRequest(follow=False))]) >= 1
    text_us, at_us = scrape(us.metrics_address)
    assert value(at_us, "evalfed_grpc_server_started_total", grpc_method="Sync") >= 2
    assert (
        value(at_us, "evalfed_grpc_server_handled_total", grpc_method="Sync", grpc_code="OK") >= 1
    )
    assert (
        value(at_us, "evalfed_grpc_server_handled_total", grpc_method="Publish", grpc_code="OK")
        >= 1
    )
    assert (
        value(
            at_us,
            "evalfed_grpc_server_handling_seconds_count",
            grpc_method="GetStatus",
            grpc_code="OK",
        )
        >= 1
    )

    lanes = {record_lane(Record(origin="us-aisi", audience=b.audience)) for b in bodies}
    for page in (text, text_us):
        for secret in [SECRET_MODEL, *ids, *(lane for lane in lanes if lane)]:
            assert secret not in page
        assert "to:" not in page


def test_metrics_are_off_unless_asked_for(node) -> None:
    assert node.metrics_address == ""

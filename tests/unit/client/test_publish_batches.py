"""How a publication is cut into batches: every body once, in order, within the limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evalfed.client.publisher import (
    BATCH_PAYLOAD_BYTES,
    FIRST_BATCH_RECORDS,
    new_result_record,
    publish_batches,
)
from evalfed.core.limits import MAX_PUBLISH_BATCH
from evalfed.core.records import audience_from_text
from tests.results import result

BODY = new_result_record(result(), audience_from_text(""))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4 * MAX_PUBLISH_BATCH))
def test_batches_keep_order_and_limits_and_grow_then_shrink(count: int) -> None:
    bodies = [BODY] * count
    sizes = [len(b) for b in publish_batches(list(range(count)), bodies)]
    assert sum(sizes) == count
    assert max(sizes) <= MAX_PUBLISH_BATCH
    assert sizes[0] == min(count, FIRST_BATCH_RECORDS)
    assert sizes[-1] <= FIRST_BATCH_RECORDS
    peak = sizes.index(max(sizes))
    assert sizes[: peak + 1] == sorted(sizes[: peak + 1])
    assert sizes[peak:-1] == sorted(sizes[peak:-1], reverse=True)


def test_a_batch_closes_at_its_payload_bytes() -> None:
    big = new_result_record(result(), audience_from_text(""))
    big.result.notes = "x" * (BATCH_PAYLOAD_BYTES // 3)
    batches = list(publish_batches([0, 1, 2, 3], [big] * 4))
    assert [len(b) for b in batches] == [2, 2]
    assert [i for b in batches for i in b] == [0, 1, 2, 3]

"""A batch that reaches the store ahead of its lane's head waits for the publishes still being
checked, and only for them."""

from __future__ import annotations

import threading

from evalfed.core.errors import ConflictError
from evalfed.server.publish_order import PublishOrder

TIMEOUT_S = 30.0


def ahead() -> ConflictError:
    return ConflictError("record seq 9 does not extend the head (seq 3)", 3, "", ahead=True)


def test_an_early_batch_is_stored_once_the_one_before_it_ends() -> None:
    order = PublishOrder(wait_s=TIMEOUT_S, grace_s=TIMEOUT_S)
    head = {"seq": 3}
    tried = threading.Event()
    outcome: list[object] = []

    def append_late() -> str:
        if head["seq"] < 8:
            tried.set()
            raise ahead()
        return "stored"

    def late_batch() -> None:
        with order.admitted():
            outcome.append(order.in_order(append_late))

    with order.admitted():  # batch k, still being checked
        waiter = threading.Thread(target=late_batch)
        waiter.start()
        assert tried.wait(TIMEOUT_S)
        head["seq"] = 8  # batch k is stored
    waiter.join(TIMEOUT_S)
    assert outcome == ["stored"]


def test_batches_that_only_wait_for_each_other_are_refused() -> None:
    """Two batches ahead of the head and nothing else in flight: neither waits for the other
    for long, both get their conflict."""
    order = PublishOrder(wait_s=TIMEOUT_S, grace_s=0.05)
    refused: list[ConflictError] = []

    def batch() -> None:
        def append() -> None:
            raise ahead()

        with order.admitted():
            try:
                order.in_order(append)
            except ConflictError as exc:
                refused.append(exc)

    waiters = [threading.Thread(target=batch) for _ in range(2)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(TIMEOUT_S)
    assert len(refused) == 2 and all(exc.ahead for exc in refused)

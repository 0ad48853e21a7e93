"""Keeping a node's membership current: re-derived whenever membership records are stored."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from evalfed.core.checks import VerifiedRecord
from evalfed.core.membership import MEMBERSHIP_KINDS, Membership
from evalfed.server.storage.member_store import MemberStore

log = logging.getLogger(__name__)


class MembershipKeeper:
    """Re-derives the membership from storage, and tells `on_change` when it changed."""

    def __init__(self, membership: Membership, store: MemberStore) -> None:
        self.membership = membership
        self.store = store
        self.on_change: Callable[[], None] = lambda: None

    def refresh(self) -> bool:
        changed = self.membership.update(
            self.store.membership_records(), self.store.join_requests()
        )
        if changed:
            log.info("membership changed: members %s", ", ".join(self.membership.institutes()))
            self.on_change()
        return changed

    def saw(self, stored: Iterable[VerifiedRecord]) -> None:
        """Call after storing records: refreshes when any of them is a membership event."""
        if any(v.facts.kind in MEMBERSHIP_KINDS for v in stored):
            self.refresh()

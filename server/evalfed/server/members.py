"""Keeping a node's membership current: re-derived whenever membership records are stored."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from evalfed.core.checks import VerifiedRecord
from evalfed.core.errors import ConflictError
from evalfed.core.membership import MEMBERSHIP_KINDS, Membership
from evalfed.core.records import MEMBERS_LANE
from evalfed.core.timeutil import iso_of_us
from evalfed.server.storage.member_store import MemberStore

log = logging.getLogger(__name__)


class MembershipKeeper:
    """Re-derives the membership from storage, and tells `on_change` when it changed."""

    def __init__(self, membership: Membership, store: MemberStore, own: str = "") -> None:
        self.membership = membership
        self.store = store
        self.own = own
        """This node's institute, whose rotations and revocations it publishes."""
        self.on_change: Callable[[], None] = lambda: None

    def refresh(self) -> bool:
        changed = self.membership.update(
            self.store.membership_records(), self.store.join_requests()
        )
        if changed:
            log.info("membership changed: members %s", ", ".join(self.membership.institutes()))
            self._void_invalidated()
            self.on_change()
        return changed

    def _void_invalidated(self) -> None:
        """Stored records that a revocation or expulsion now voids are flagged, not deleted."""
        for member in self.membership.state.members.values():
            if member.expelled_at_us is not None:
                self.store.void_origin_since(
                    member.institute,
                    member.expelled_at_us,
                    f"{member.institute} was expelled from {iso_of_us(member.expelled_at_us)}",
                )
            if member.expelled_heads is not None:
                self._void_past_heads(
                    member.institute,
                    None,
                    member.expelled_heads,
                    member.expelled_legacy,
                    f"{member.institute} was expelled; past the lane heads its expulsion "
                    "votes name",
                )
            for period in member.keys:
                if period.until_heads is not None:
                    self._void_past_heads(
                        member.institute,
                        period.key.key_id,
                        period.until_heads,
                        period.until_legacy,
                        f"signed by key {period.key.key_id[:16]} past the lane heads named when "
                        "it was rotated out or revoked",
                    )
                if period.compromised_since_us is None:
                    continue
                count = self.store.void_signed_since(
                    member.institute,
                    period.key.key_id,
                    period.compromised_since_us,
                    f"signed by key {period.key.key_id[:16]}, compromised since "
                    f"{iso_of_us(period.compromised_since_us)}",
                )
                if count:
                    log.warning("voided %d record(s) of %s", count, member.institute)

    def _void_past_heads(
        self,
        origin: str,
        key_id: str | None,
        heads: Mapping[str, int],
        legacy: bool,
        reason: str,
    ) -> None:
        """`heads` (restricted lanes by tag) turned into lane names for the store; lanes without
        a salt are spared when `legacy` (the time rule judged them as they arrived)."""
        by_lane: dict[str, int] = {}
        spared = []
        for lane, key in self.store.lane_keys(origin).items():
            if key is None and legacy:
                spared.append(lane)
            elif key is not None and key in heads:
                by_lane[lane] = heads[key]
        if MEMBERS_LANE in heads:
            by_lane[MEMBERS_LANE] = heads[MEMBERS_LANE]
        self.store.void_past_heads(origin, key_id, by_lane, reason, spared)

    def check_heads_named(self, published: Sequence[VerifiedRecord]) -> None:
        """A rotation or revocation being published must name at least the lane heads this node
        holds: records already stored past the heads it names would turn void, and each such
        lane would break at them on every other node."""
        held = {h.lane: h.seq for h in self.store.store.heads() if h.origin == self.own}
        for verified in published:
            kind = verified.facts.kind
            if kind not in ("rotation", "revocation") or verified.origin != self.own:
                continue
            body = getattr(verified.record, kind)
            if not body.HasField("signed_up_to"):
                continue
            named = {h.tag or h.lane: h.seq for h in body.signed_up_to.heads}
            keys = self.store.lane_keys(self.own)
            for lane, seq in held.items():
                key = keys.get(lane, lane)
                if lane == MEMBERS_LANE or (key is None and body.signed_up_to.legacy_lanes):
                    continue
                if key is None:
                    raise ConflictError(
                        f"lane {lane} has no lane salt (begun before lane salts), and the {kind} "
                        "does not say legacy_lanes: every record of it would turn void; run the "
                        "command again"
                    )
                if named.get(key, 0) < seq:
                    raise ConflictError(
                        f"the {kind} names seq {named.get(key, 0)} as the last of lane {lane}, "
                        f"but this node holds seq {seq} there (published meanwhile?); run the "
                        "command again to name the current heads"
                    )

    def saw(self, stored: Iterable[VerifiedRecord]) -> None:
        """Call after storing records: refreshes when any of them is a membership event."""
        if any(v.facts.kind in MEMBERSHIP_KINDS for v in stored):
            self.refresh()

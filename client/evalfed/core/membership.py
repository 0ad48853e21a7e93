"""Who the members are and which keys speak for them, derived from the charter plus the
membership records in the logs. No IO.

Every node holding the same records derives the same state: records are de-duplicated and
applied in one canonical order (origin, seq, id), in passes until nothing more applies (a
newcomer's own records apply once others' endorsements have admitted it). Admission counts
distinct member institutes, never keys, and a request's endorsements by non-members count for
nothing (TUF's two threshold lessons).

Key validity is by position. In the origin's members lane, where membership events are, a
rotation at seq r ends the old key after r; a revocation at seq r ends it likewise. In every
other lane the rotation or revocation names, per lane, the last seq the old key signed
(`signed_up_to`): the old key signs nothing past it, the new key nothing up to it, whatever
issue time either writes. With `compromised_since`, what the key signed from that time on is
rejected too. An expulsion rejects what the member signed from the time a threshold of distinct
members had all voted, and, when the votes name its lane heads, anything past the highest seq
they name in a lane. Rotations and revocations made before `signed_up_to` existed end the key
outside the members lane by their issue time, as they always did.

Lane heads are in the members lane, which every member reads, so they name a restricted lane
by its tag (`records.lane_tag`: a hash of its name and of the random salt its records carry),
never by its name; a record is matched to a head by its own lane and salt. A restricted record
without a salt (its lane begun before lane salts) is matched by issue time when the heads say
the origin has such lanes (`legacy_lanes`), and counts past no head otherwise.

Derivation runs to a fixed point: a membership record that the final state no longer admits
(signed by a key in its compromise window, by a member after its expulsion, by a member whose
admission fell away) is left out and the state derived again without it, until every record
applied is one the state admits. A record left out stays out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from evalfed.core.charter import VerifiedCharter
from evalfed.core.errors import EvalfedError, UnknownSignerError
from evalfed.core.joins import join_request_id, rotation_message, verify_join_request
from evalfed.core.records import MEMBERS_LANE, head_key, kind_of, parse_record, record_id
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.keys import PublicKey
from evalfed.keys.dsse import verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import JoinRequest
from evalfed.v1.record_pb2 import Expulsion, KeyRevocation, KeyRotation, Record

MEMBERSHIP_KINDS = ("endorsement", "rotation", "revocation", "expulsion")


@dataclass(frozen=True)
class KeyPeriod:
    """One key of an institute and the part of its log it may sign."""

    key: PublicKey
    from_seq: int = 1
    until_seq: int | None = None
    revoked: bool = False
    compromised_since_us: int | None = None
    from_us: int | None = None
    until_us: int | None = None
    """The same period by issue time, outside the members lane, where the rotation or
    revocation names no lane heads (records made before `signed_up_to`)."""
    from_heads: dict[str, int] | None = None
    until_heads: dict[str, int] | None = None
    """Outside the members lane: the key signs past `from_heads` and up to `until_heads`, keyed
    by `records.head_key` (restricted lanes by tag)."""
    from_legacy: bool = False
    until_legacy: bool = False
    """Whether the event giving `from_heads` (`until_heads`) said the origin has restricted
    lanes without a salt: in those the time rule applies; otherwise nothing counts there."""

    def early(self, seq: int, issued_at_us: int, lane: str, salt: bytes = b"") -> bool:
        """Whether a record at `seq` of `lane` (with lane salt `salt`), issued at
        `issued_at_us`, precedes the key."""
        if lane == MEMBERS_LANE:
            return seq < self.from_seq
        if self.from_heads is not None:
            key = head_key(lane, salt)
            if key is not None or not self.from_legacy:
                return key is not None and seq <= self.from_heads.get(key, 0)
        return self.from_us is not None and issued_at_us < self.from_us

    def late(self, seq: int, issued_at_us: int, lane: str, salt: bytes = b"") -> bool:
        """Whether a record at `seq` of `lane` (with lane salt `salt`), issued at
        `issued_at_us`, follows the key's end."""
        if lane == MEMBERS_LANE:
            return self.until_seq is not None and seq > self.until_seq
        if self.until_heads is not None:
            key = head_key(lane, salt)
            if key is not None or not self.until_legacy:
                return key is None or seq > self.until_heads.get(key, 0)
        return self.until_us is not None and issued_at_us >= self.until_us

    def ended(self, seq: int, issued_at_us: int, lane: str, salt: bytes = b"") -> bool:
        """Whether a record at `seq` of `lane`, issued at `issued_at_us`, is outside it."""
        return self.early(seq, issued_at_us, lane, salt) or self.late(seq, issued_at_us, lane, salt)


@dataclass
class Member:
    institute: str
    status: str  # "founder" or "admitted"
    keys: list[KeyPeriod]
    name: str = ""
    country: str = ""
    address: str = ""
    endorsed_by: set[str] = field(default_factory=set)
    expelled_by: set[str] = field(default_factory=set)
    expelled_at_us: int | None = None
    votes_at_us: dict[str, int] = field(default_factory=dict)
    """Each voter's earliest expulsion vote, by issue time."""
    expelled_heads: dict[str, int] | None = None
    """Per lane (by `records.head_key`), the highest seq any expulsion vote names; None when no
    vote names heads."""
    expelled_legacy: bool = False
    """Whether a vote naming heads said the member has restricted lanes without a salt: there
    only the expulsion time applies."""

    @property
    def expelled(self) -> bool:
        return self.expelled_at_us is not None

    def period(self, key_id: str) -> KeyPeriod | None:
        return next((p for p in self.keys if p.key.key_id == key_id), None)

    def set_period(self, period: KeyPeriod) -> None:
        self.keys = [period if p.key.key_id == period.key.key_id else p for p in self.keys]


@dataclass
class Pending:
    """A join request seen in endorsements (or submitted) but not yet admitted."""

    id: str
    request: JoinRequest
    envelope: Envelope
    endorsed_by: set[str] = field(default_factory=set)


@dataclass
class MembershipState:
    """The members, their keys and pending requests, as derived from a set of records."""

    charter: VerifiedCharter
    members: dict[str, Member]
    pending: dict[str, Pending] = field(default_factory=dict)
    records: list[Envelope] = field(default_factory=list)

    @property
    def federation_id(self) -> str:
        return self.charter.federation_id

    @property
    def threshold(self) -> int:
        return self.charter.charter.threshold

    def not_member_reason(self, institute: str) -> str:
        member = self.members.get(institute)
        if member is not None and member.expelled:
            return f"{institute} was expelled from this federation"
        counts = [
            len(p.endorsed_by) for p in self.pending.values() if p.request.institute == institute
        ]
        if counts:
            return (
                f"{institute} is pending admission: {max(counts)} of {self.threshold} "
                "endorsements from distinct members"
            )
        return f"{institute} is not a member of this federation"

    def signing_key(
        self,
        origin: str,
        key_id: str,
        seq: int,
        issued_at_us: int,
        lane: str = MEMBERS_LANE,
        salt: bytes = b"",
        *,
        compromise_applies: bool = True,
    ) -> PublicKey:
        """The key that may sign `origin`'s record at `seq` of `lane` (its lane salt `salt`),
        issued at `issued_at_us`. `compromise_applies=False` leaves out the compromise window
        (for the origin's own key rotations and revocations, which its members lane orders by
        position)."""
        member = self.members.get(origin)
        if member is None or (
            member.expelled_at_us is not None and issued_at_us >= member.expelled_at_us
        ):
            raise UnknownSignerError(
                f"{self.not_member_reason(origin)}, so its records are not accepted"
            )
        key = head_key(lane, salt)
        if (
            member.expelled
            and member.expelled_heads is not None
            and (key is not None or not member.expelled_legacy)
        ):
            last = member.expelled_heads.get(key, 0) if key is not None else 0
            if seq > last:
                raise UnknownSignerError(
                    f"{origin} was expelled, and its expulsion votes name seq {last} as the "
                    f"last of its records in lane {lane or '(members)'}; record {seq} is void"
                )
        period = member.period(key_id)
        if period is None:
            raise UnknownSignerError(
                f"key {key_id[:16]} is not a key of {origin}; sign with the institute's key"
            )
        if period.ended(seq, issued_at_us, lane, salt):
            raise UnknownSignerError(_outside_period(period, origin, seq, issued_at_us, lane, salt))
        since = period.compromised_since_us
        if compromise_applies and since is not None and issued_at_us >= since:
            raise UnknownSignerError(
                f"key {key_id[:16]} of {origin} is compromised since "
                f"{iso_of_us(since)}; records it signed since then are void"
            )
        return period.key

    def speaking_keys(self, institute: str) -> list[PublicKey]:
        """Keys that may speak for `institute` now (calls, node bindings): its current key,
        neither rotated out nor revoked."""
        member = self.members.get(institute)
        if member is None or member.expelled:
            return []
        return [
            p.key
            for p in member.keys
            if not p.revoked and p.until_seq is None and p.until_us is None
        ]


def _founders(charter: VerifiedCharter) -> dict[str, Member]:
    return {
        f.institute: Member(
            f.institute, "founder", [KeyPeriod(PublicKey(f.public_key))], f.name, f.country
        )
        for f in charter.charter.founders
    }


def _parsed(envelopes: Iterable[Envelope]) -> list[tuple[Record, str, Envelope]]:
    """Membership records, de-duplicated by id, in canonical order."""
    seen: dict[str, tuple[Record, str, Envelope]] = {}
    for envelope in envelopes:
        try:
            record = parse_record(envelope)
        except EvalfedError:
            continue
        if kind_of(record) in MEMBERSHIP_KINDS:
            rid = record_id(envelope.payload)
            seen.setdefault(rid, (record, rid, envelope))
    return sorted(seen.values(), key=lambda item: (item[0].origin, item[0].seq, item[1]))


def derive(
    charter: VerifiedCharter,
    envelopes: Iterable[Envelope],
    submitted: Iterable[Envelope] = (),
) -> MembershipState:
    """The membership state the charter and these records give, whatever their order.

    `submitted` join requests (handed to a node directly) show as pending with no endorsement.
    """
    items = _parsed(envelopes)
    left_out: set[str] = set()
    while True:
        state, applied = _derive_once(charter, [i for i in items if i[1] not in left_out])
        inadmissible = {rid for record, rid in applied if not _admitted(record, state)}
        if not inadmissible:
            break
        left_out |= inadmissible
    for envelope in submitted:
        try:
            request = verify_join_request(envelope, state.federation_id)
        except EvalfedError:
            continue
        if request.institute not in state.members:
            state.pending.setdefault(
                join_request_id(envelope), Pending(join_request_id(envelope), request, envelope)
            )
    return state


def _derive_once(
    charter: VerifiedCharter, items: list[tuple[Record, str, Envelope]]
) -> tuple[MembershipState, list[tuple[Record, str]]]:
    """The state these records give, applied in passes in canonical order; and those applied."""
    state = MembershipState(charter, _founders(charter))
    applied: list[tuple[Record, str]] = []
    done: set[str] = set()
    progress = True
    while progress:
        progress = False
        for record, rid, envelope in items:
            if rid in done or not _verifies(record, envelope, state):
                continue
            _apply(record, state)
            state.records.append(envelope)
            applied.append((record, rid))
            done.add(rid)
            progress = True
    return state, applied


def _admitted(record: Record, state: MembershipState) -> bool:
    """Whether `state` (the final one) lets the record's key sign it (its signature held)."""
    try:
        _key_of(record, state)
    except EvalfedError:
        return False
    return True


def _key_of(record: Record, state: MembershipState) -> PublicKey:
    """The key that may sign this membership record. The compromise window voids what a key
    said of others (endorsements, expulsion votes) but not the origin's own rotation or
    revocation: recovering from a leak means rotating with the leaked key after the leak, and
    in the members lane those events are ordered by position (a rival one is a fork)."""
    return state.signing_key(
        record.origin,
        record.key_id,
        record.seq,
        timestamp_us(record.issued_at),
        compromise_applies=kind_of(record) not in ("rotation", "revocation"),
    )


def _outside_period(
    period: KeyPeriod, origin: str, seq: int, issued_at_us: int, lane: str, salt: bytes
) -> str:
    """Why a key may not sign a record at `seq` of `lane` issued at `issued_at_us`."""
    key = f"key {period.key.key_id[:16]} of {origin}"
    early = period.early(seq, issued_at_us, lane, salt)
    named = head_key(lane, salt)
    heads = period.from_heads if early else period.until_heads
    by_time = heads is None or (
        named is None and (period.from_legacy if early else period.until_legacy)
    )
    if lane == MEMBERS_LANE:
        start, end = f"seq {period.from_seq}", f"seq {period.until_seq}"
    elif by_time:
        start, end = iso_of_us(period.from_us or 0), iso_of_us(period.until_us or 0)
    elif named is None:
        end = "its lane heads, which say every restricted lane has a lane salt (this has none)"
    elif early:
        start = f"seq {(heads or {}).get(named, 0) + 1} of its lane"
    else:
        end = f"seq {(heads or {}).get(named, 0)} of its lane"
    if early:
        return f"{key} signs from {start} on; record {seq} must be signed by the key in use then"
    ended = "revoked" if period.revoked else "rotated out"
    return f"{key} was {ended} at {end}; record {seq} must be signed by the institute's current key"


def _verifies(record: Record, envelope: Envelope, state: MembershipState) -> bool:
    if record.federation_id != state.federation_id:
        return False
    try:
        verify_signatures(envelope, [_key_of(record, state)])
    except EvalfedError:
        return False
    return True


def _apply(record: Record, state: MembershipState) -> None:
    kind = kind_of(record)
    member = state.members[record.origin]
    if kind == "endorsement":
        _endorse(record, state)
    elif kind == "rotation":
        old = member.period(record.key_id)
        new_key = record.rotation.new_public_key
        message = rotation_message(state.federation_id, record.origin, record.key_id, new_key)
        if (
            old is None
            or len(new_key) != 32
            or not PublicKey(new_key).is_valid(record.rotation.possession, message)
        ):
            return
        issued = timestamp_us(record.issued_at)
        heads = _heads(record.rotation)
        member.set_period(_ended(old, record.seq, issued, heads, _legacy(record.rotation)))
        if member.period(PublicKey(new_key).key_id) is None:
            member.keys.append(
                KeyPeriod(
                    PublicKey(new_key),
                    from_seq=record.seq + 1,
                    from_us=issued,
                    from_heads=heads,
                    from_legacy=_legacy(record.rotation),
                )
            )
    elif kind == "revocation":
        target = member.period(record.revocation.key_id)
        if target is None:
            return
        since = (
            timestamp_us(record.revocation.compromised_since)
            if record.revocation.HasField("compromised_since")
            else target.compromised_since_us
        )
        ended = _ended(
            target,
            record.seq,
            timestamp_us(record.issued_at),
            _heads(record.revocation),
            _legacy(record.revocation),
        )
        member.set_period(replace(ended, revoked=True, compromised_since_us=since))
    elif kind == "expulsion":
        target_member = state.members.get(record.expulsion.institute)
        if target_member is None or target_member.institute == record.origin:
            return
        _vote(target_member, record, state.threshold)


def _vote(target: Member, record: Record, threshold: int) -> None:
    """Counts one expulsion vote. The member is expelled from the time at which a threshold of
    distinct members had all voted: the threshold-th earliest of the voters' first votes, so
    that a backdated vote moves the time only as far as the other voters' votes allow."""
    target.expelled_by.add(record.origin)
    issued = timestamp_us(record.issued_at)
    earliest = target.votes_at_us.get(record.origin)
    target.votes_at_us[record.origin] = issued if earliest is None else min(earliest, issued)
    if len(target.votes_at_us) >= threshold:
        target.expelled_at_us = sorted(target.votes_at_us.values())[threshold - 1]
    heads = _heads(record.expulsion)
    if heads is not None:
        merged = dict(target.expelled_heads or {})
        for lane, seq in heads.items():
            merged[lane] = max(merged.get(lane, 0), seq)
        target.expelled_legacy |= _legacy(record.expulsion)
        target.expelled_heads = merged


def _endorse(record: Record, state: MembershipState) -> None:
    envelope = Envelope()
    try:
        envelope.ParseFromString(record.endorsement.join_request)
        request = verify_join_request(envelope, state.federation_id)
    except Exception:
        return
    if request.institute in state.members:
        state.members[request.institute].endorsed_by.add(record.origin)
        return
    rid = join_request_id(envelope)
    pending = state.pending.setdefault(rid, Pending(rid, request, envelope))
    pending.endorsed_by.add(record.origin)
    if len(pending.endorsed_by) >= state.threshold:
        state.members[request.institute] = Member(
            request.institute,
            "admitted",
            [KeyPeriod(PublicKey(request.public_key))],
            request.name,
            request.country,
            request.address,
            endorsed_by=set(pending.endorsed_by),
        )
        for other in [
            k for k, p in state.pending.items() if p.request.institute == request.institute
        ]:
            del state.pending[other]


def _earliest(current: int | None, bound: int) -> int:
    return bound if current is None else min(current, bound)


def _heads(body: KeyRotation | KeyRevocation | Expulsion) -> dict[str, int] | None:
    """The lane heads a membership event names (per lane, by name or tag, the highest seq), or
    None without."""
    if not body.HasField("signed_up_to"):
        return None
    heads: dict[str, int] = {}
    for head in body.signed_up_to.heads:
        key = head.tag or head.lane
        heads[key] = max(heads.get(key, 0), head.seq)
    return heads


def _legacy(body: KeyRotation | KeyRevocation | Expulsion) -> bool:
    """Whether the event's lane heads say the origin has restricted lanes without a salt."""
    return body.HasField("signed_up_to") and body.signed_up_to.legacy_lanes


def _ended(
    period: KeyPeriod, seq: int, issued_us: int, heads: dict[str, int] | None, legacy: bool
) -> KeyPeriod:
    """`period` ended by a rotation or revocation at members-lane `seq`, issued at `issued_us`,
    naming `heads`; an earlier end stands (the lower head, and no time rule for unsalted lanes
    once one end drops it)."""
    until_heads, until_legacy = period.until_heads, period.until_legacy
    if heads is not None:
        if until_heads is None:
            until_heads, until_legacy = heads, legacy
        else:
            until_heads = {lane: min(s, heads.get(lane, 0)) for lane, s in until_heads.items()}
            until_legacy = until_legacy and legacy
    return replace(
        period,
        until_seq=_earliest(period.until_seq, seq),
        until_us=_earliest(period.until_us, issued_us),
        until_heads=until_heads,
        until_legacy=until_legacy,
    )


class Membership:
    """The live membership a node or client checks against; updated as records arrive."""

    def __init__(
        self,
        charter: VerifiedCharter,
        records: Iterable[Envelope] = (),
        submitted: Iterable[Envelope] = (),
    ) -> None:
        self.charter = charter
        self._lock = threading.Lock()
        self._state = derive(charter, records, submitted)

    @property
    def state(self) -> MembershipState:
        return self._state

    def update(self, records: Iterable[Envelope], submitted: Iterable[Envelope] = ()) -> bool:
        """Re-derives from all records; True when members or keys changed."""
        new = derive(self.charter, records, submitted)
        with self._lock:
            old, self._state = self._state, new
        return _summary(old) != _summary(new)

    @property
    def federation_id(self) -> str:
        return self.charter.federation_id

    @property
    def threshold(self) -> int:
        return self.charter.charter.threshold

    def institutes(self) -> list[str]:
        return sorted(i for i, m in self._state.members.items() if not m.expelled)

    def is_member(self, institute: str) -> bool:
        member = self._state.members.get(institute)
        return member is not None and not member.expelled

    def keys_for(self, institute: str) -> list[PublicKey]:
        """Keys that may speak for `institute` now (calls, node bindings): its current key."""
        return self._state.speaking_keys(institute)

    def signing_key(
        self,
        origin: str,
        key_id: str,
        seq: int,
        issued_at_us: int,
        lane: str = MEMBERS_LANE,
        salt: bytes = b"",
    ) -> PublicKey:
        return self._state.signing_key(origin, key_id, seq, issued_at_us, lane, salt)

    def not_member_reason(self, institute: str) -> str:
        return self._state.not_member_reason(institute)

    def institute_of_key(self, key_id: str) -> str | None:
        """The institute whose current key `key_id` is."""
        state = self._state
        for institute in state.members:
            if any(k.key_id == key_id for k in state.speaking_keys(institute)):
                return institute
        return None


def _summary(state: MembershipState) -> object:
    """Who may sign and call: members and their keys. Pending requests are left out: they
    change no link's or record's standing (anyone may hand one in)."""
    return sorted(
        (
            m.institute,
            m.expelled_at_us,
            sorted((m.expelled_heads or {}).items()),
            m.expelled_legacy,
            tuple(
                (
                    p.key.key_id,
                    p.from_seq,
                    p.until_seq,
                    p.revoked,
                    p.compromised_since_us,
                    sorted((p.from_heads or {}).items()),
                    sorted((p.until_heads or {}).items()),
                    p.from_legacy,
                    p.until_legacy,
                )
                for p in m.keys
            ),
        )
        for m in state.members.values()
    )

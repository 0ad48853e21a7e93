"""Who the members are and which keys speak for them, derived from the charter plus the
membership records in the logs. No IO.

Every node holding the same records derives the same state: records are de-duplicated and
applied in one canonical order (origin, seq, id), in passes until nothing more applies (a
newcomer's own records apply once others' endorsements have admitted it). Admission counts
distinct member institutes, never keys, and a request's endorsements by non-members count for
nothing (TUF's two threshold lessons).

Key validity is by position in the origin's members lane, where membership events are: a
rotation at seq r ends the old key after r; a revocation at seq r ends it likewise (and, with
`compromised_since`, also rejects what it signed from that time on); an expulsion rejects what
the member signed from the time the threshold of votes was reached. A record in another lane
(a public or restricted audience) has no position in the members lane, so there the ends are
by time: a key is valid from the issue time of the rotation that named it until that of the
rotation or revocation that ended it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from evalfed.core.charter import VerifiedCharter
from evalfed.core.errors import EvalfedError, UnknownSignerError
from evalfed.core.joins import join_request_id, rotation_message, verify_join_request
from evalfed.core.records import MEMBERS_LANE, kind_of, parse_record, record_id
from evalfed.core.timeutil import iso_of_us, timestamp_us
from evalfed.keys import PublicKey
from evalfed.keys.dsse import verify_signatures
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import JoinRequest
from evalfed.v1.record_pb2 import Record

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
    """The same period by issue time, for records outside the members lane."""

    def ended(self, seq: int, issued_at_us: int, lane: str) -> bool:
        """Whether a record at `seq` of `lane`, issued at `issued_at_us`, is outside it."""
        if lane == MEMBERS_LANE:
            return seq < self.from_seq or (self.until_seq is not None and seq > self.until_seq)
        return (self.from_us is not None and issued_at_us < self.from_us) or (
            self.until_us is not None and issued_at_us >= self.until_us
        )


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
        self, origin: str, key_id: str, seq: int, issued_at_us: int, lane: str = MEMBERS_LANE
    ) -> PublicKey:
        """The key that may sign `origin`'s record at `seq` of `lane`, issued at `issued_at_us`."""
        member = self.members.get(origin)
        if member is None or (
            member.expelled_at_us is not None and issued_at_us >= member.expelled_at_us
        ):
            raise UnknownSignerError(
                f"{self.not_member_reason(origin)}, so its records are not accepted"
            )
        period = member.period(key_id)
        if period is None:
            raise UnknownSignerError(
                f"key {key_id[:16]} is not a key of {origin}; sign with the institute's key"
            )
        if period.ended(seq, issued_at_us, lane):
            raise UnknownSignerError(_outside_period(period, origin, seq, issued_at_us, lane))
        if period.compromised_since_us is not None and issued_at_us >= period.compromised_since_us:
            raise UnknownSignerError(
                f"key {key_id[:16]} of {origin} is compromised since "
                f"{iso_of_us(period.compromised_since_us)}; records it signed since then are void"
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
    state = MembershipState(charter, _founders(charter))
    items = _parsed(envelopes)
    applied: set[str] = set()
    progress = True
    while progress:
        progress = False
        for record, rid, envelope in items:
            if rid in applied or not _verifies(record, envelope, state):
                continue
            _apply(record, state)
            state.records.append(envelope)
            applied.add(rid)
            progress = True
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


def _outside_period(period: KeyPeriod, origin: str, seq: int, issued_at_us: int, lane: str) -> str:
    """Why a key may not sign a record at `seq` of `lane` issued at `issued_at_us`."""
    key = f"key {period.key.key_id[:16]} of {origin}"
    if lane == MEMBERS_LANE:
        early, start, end = (
            seq < period.from_seq,
            f"seq {period.from_seq}",
            f"seq {period.until_seq}",
        )
    else:
        early = period.from_us is not None and issued_at_us < period.from_us
        start, end = iso_of_us(period.from_us or 0), iso_of_us(period.until_us or 0)
    if early:
        return f"{key} signs from {start} on; record {seq} must be signed by the key in use then"
    ended = "revoked" if period.revoked else "rotated out"
    return f"{key} was {ended} at {end}; record {seq} must be signed by the institute's current key"


def _verifies(record: Record, envelope: Envelope, state: MembershipState) -> bool:
    if record.federation_id != state.federation_id:
        return False
    try:
        key = state.signing_key(
            record.origin, record.key_id, record.seq, timestamp_us(record.issued_at)
        )
        verify_signatures(envelope, [key])
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
        member.set_period(
            replace(
                old,
                until_seq=_earliest(old.until_seq, record.seq),
                until_us=_earliest(old.until_us, issued),
            )
        )
        if member.period(PublicKey(new_key).key_id) is None:
            member.keys.append(
                KeyPeriod(PublicKey(new_key), from_seq=record.seq + 1, from_us=issued)
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
        member.set_period(
            replace(
                target,
                until_seq=_earliest(target.until_seq, record.seq),
                until_us=_earliest(target.until_us, timestamp_us(record.issued_at)),
                revoked=True,
                compromised_since_us=since,
            )
        )
    elif kind == "expulsion":
        target_member = state.members.get(record.expulsion.institute)
        if target_member is None or target_member.institute == record.origin:
            return
        target_member.expelled_by.add(record.origin)
        if (
            target_member.expelled_at_us is None
            and len(target_member.expelled_by) >= state.threshold
        ):
            target_member.expelled_at_us = timestamp_us(record.issued_at)


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
        self, origin: str, key_id: str, seq: int, issued_at_us: int, lane: str = MEMBERS_LANE
    ) -> PublicKey:
        return self._state.signing_key(origin, key_id, seq, issued_at_us, lane)

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
            tuple(
                (p.key.key_id, p.from_seq, p.until_seq, p.revoked, p.compromised_since_us)
                for p in m.keys
            ),
        )
        for m in state.members.values()
    )

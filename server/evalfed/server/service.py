"""The node's domain service: publish, read and query, with no gRPC in sight."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Row

from evalfed.core.binding import verify_binding
from evalfed.core.codec import BUNDLE_FORMAT
from evalfed.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    LimitError,
    NotFoundError,
    PermissionDeniedError,
)
from evalfed.core.joins import join_request_id, verify_join_request
from evalfed.core.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_FIND_DIGESTS,
    MAX_GAP_RANGES,
    MAX_JOIN_REQUEST_BYTES,
    MAX_PAGE_SIZE,
    MAX_PEER_ADDRESS,
    MAX_PUBLISH_BATCH,
    MAX_STATUS_PAGE,
)
from evalfed.core.membership import MEMBERSHIP_KINDS, Membership, MembershipState
from evalfed.core.names import check_digest, check_institute_id, check_record_id
from evalfed.core.records import LogKey, check_lane, record_lane
from evalfed.core.timeutil import timestamp_of_us
from evalfed.server.identity import NodeIdentity
from evalfed.server.join_limits import JoinRequestLimits
from evalfed.server.members import MembershipKeeper
from evalfed.server.pages import page_after
from evalfed.server.publish_order import PublishOrder
from evalfed.server.sealing import PositionSealer
from evalfed.server.storage.store import (
    Appended,
    Head,
    LogGap,
    QueryFilter,
    RecordStore,
    Viewer,
)
from evalfed.server.storage.sync_store import Have
from evalfed.server.streams import StreamSlots
from evalfed.server.sync.manager import SyncManager
from evalfed.server.sync.puller import LinkStats
from evalfed.server.sync.sender import Gossip, sync_stream
from evalfed.server.witness import CheckpointBook, LogCheckpointStatus
from evalfed.v1.envelope_pb2 import Bundle, Envelope, SplitViewEvidence
from evalfed.v1.node_pb2 import Cursor, StoredRecord, SyncBatch, SyncRequest
from evalfed.v1.record_pb2 import Record

QUERY_KINDS = ("", "result", "correction", "retraction", *MEMBERSHIP_KINDS)


@dataclass(frozen=True)
class StatusPage:
    """One page of a node's status: heads of a range of logs, here and at each partner."""

    heads: list[Head]
    links: dict[str, LinkStats]
    peer_heads: dict[str, dict[LogKey, int]]
    forked_origins: list[str]
    next_page_token: str


class NodeService:
    """One institute's node: accepts its own institute's records and serves what callers may see."""

    def __init__(
        self,
        institute: str,
        membership: Membership,
        store: RecordStore,
        links: SyncManager,
        keeper: MembershipKeeper,
        identity: NodeIdentity,
        streams: StreamSlots | None = None,
        join_requests: JoinRequestLimits | None = None,
    ) -> None:
        self.institute = institute
        self.membership = membership
        self.store = store
        self.links = links
        self.sync_store = links.store
        self.keeper = keeper
        self.identity = identity
        self.verifier = links.verifier
        self.streams = streams or StreamSlots()
        self.join_requests = join_requests or JoinRequestLimits(keeper)
        self.sealer = PositionSealer(identity.key)
        self.page_tokens = PageTokens(self.sealer)
        self.publishes = PublishOrder()
        self.book: CheckpointBook | None = None
        """The checkpoints held and gossiped, and split-view evidence (set by the node)."""

    def sync(
        self, request: SyncRequest, viewer: Viewer, active: Callable[[], bool]
    ) -> Iterator[SyncBatch]:
        """What the calling member lacks and may see; then, with follow, each new record."""
        institute = _require_member(viewer)
        forks_for = b"forks\0" + institute.encode()
        try:
            forks_through = self.sealer.open(request.forks_cursor, forks_for)
        except ValueError:
            forks_through = 0  # none, or another node's key's: the evidence is sent again
        cursors: dict[LogKey, Have] = {}
        for cursor in request.have:
            key = (check_institute_id(cursor.origin), check_lane(cursor.lane))
            if key not in cursors or cursor.seq >= cursors[key].seq:
                cursors[key] = Have(cursor.seq, cursor.id, _held_runs(cursor))
        held = set(self.store.logs())  # a cursor of a log not held here costs no lookup
        cursors = {key: cursor for key, cursor in cursors.items() if key in held}
        stream = sync_stream(
            self.sync_store,
            viewer,
            cursors,
            request.follow,
            request.embargo_through_us,
            active,
            forks_through,
            lambda pos: self.sealer.seal(pos, forks_for),
            None if self.book is None else _gossip_for(self.book, viewer),
        )
        return self.streams.held(institute, stream)

    def update_peers(self, add: Sequence[str], remove: Sequence[str], viewer: Viewer) -> list[str]:
        if _require_member(viewer) != self.institute:
            raise PermissionDeniedError(f"only {self.institute} may change this node's partners")
        for address in [*add, *remove]:
            if not address or len(address) > MAX_PEER_ADDRESS or ":" not in address:
                raise InvalidInputError(f"partner address {address!r} is not HOST:PORT")
        for address in remove:
            self.sync_store.remove_peer(address)
        for address in add:
            self.sync_store.add_peer(address)
        self.links.refresh()
        return [address for address, _ in self.sync_store.peer_list()]

    def link_stats(self, viewer: Viewer) -> dict[str, LinkStats]:
        """Partner links, for this node's institute only."""
        return self.links.stats() if self._is_operator(viewer) else {}

    def publish(self, envelopes: Sequence[Envelope], viewer: Viewer) -> list[Appended]:
        operator_only(viewer.institute, self.institute)
        if not envelopes:
            raise InvalidInputError("the publish request holds no envelopes")
        if len(envelopes) > MAX_PUBLISH_BATCH:
            raise LimitError(
                f"{len(envelopes)} envelopes in one publish, over "
                f"MAX_PUBLISH_BATCH={MAX_PUBLISH_BATCH}; split the batch"
            )
        with self.publishes.admitted():
            verified = self.verifier.check_all(envelopes)
            for record in verified:
                if record.origin != self.institute:
                    raise PermissionDeniedError(
                        f"this node publishes only {self.institute}'s records, not "
                        f"{record.origin}'s; publish to your own institute's node"
                    )
            self.keeper.check_heads_named(verified)
            appended = self.publishes.in_order(
                lambda: self.store.append_own(verified, received_from="publish")
            )
        self.keeper.saw(verified)
        return appended

    def submit_join_request(self, envelope: Envelope, caller: str) -> tuple[str, int]:
        """Keeps a newcomer's self-signed request as pending; returns its id and endorsements.
        `caller` (an institute, or an address) is held to JOIN_REQUESTS_PER_HOUR, before any
        signature is checked; the requests kept are bounded in all and per institute."""
        if envelope.ByteSize() > MAX_JOIN_REQUEST_BYTES:
            raise LimitError(
                f"a join request is at most MAX_JOIN_REQUEST_BYTES={MAX_JOIN_REQUEST_BYTES}"
            )
        self.join_requests.take(caller)
        request = verify_join_request(envelope, self.membership.federation_id)
        if self.membership.is_member(request.institute):
            raise ConflictError(f"{request.institute} is already a member")
        request_id = join_request_id(envelope)
        if request_id not in self.membership.state.pending:
            self.join_requests.check_room(request.institute)
            self.keeper.store.add_join_request(request_id, request.institute, envelope)
            self.keeper.refresh()
        pending = self.membership.state.pending.get(request_id)
        return request_id, len(pending.endorsed_by) if pending else 0

    def update_binding(self, envelope: Envelope, viewer: Viewer) -> None:
        """Takes a new binding of this node, signed by an active key of its institute."""
        if _require_member(viewer) != self.institute:
            raise PermissionDeniedError(f"only {self.institute} may re-bind its node")
        try:
            binding = verify_binding(envelope, self.membership)
        except AuthenticationError as exc:
            raise InvalidInputError(f"the new binding does not check out: {exc}") from None
        if not self.identity.names_this_node(binding):
            raise InvalidInputError(
                "the new binding names another node key or certificate than this node's"
            )
        self.identity.replace_binding(envelope)
        self.links.reconnect_all()

    def members(self) -> MembershipState:
        return self.membership.state

    def head(self, origin: str, lane: str, viewer: Viewer) -> Head:
        """A log's head; other institutes see the last record of it they may see."""
        key = (check_institute_id(origin) if origin else self.institute, check_lane(lane))
        if self._is_operator(viewer):
            return self.store.head(*key)
        return next(
            (h for h in self.store.visible_heads(viewer) if (h.origin, h.lane) == key),
            Head(key[0], 0, "", lane=key[1]),
        )

    def heads(self, viewer: Viewer) -> list[Head]:
        """Every origin's head: in full for this node's institute, else as far as visible."""
        if self._is_operator(viewer):
            return self.store.heads()
        return self.store.visible_heads(viewer)

    def status_page(self, viewer: Viewer, page_size: int, page_token: str) -> StatusPage:
        """One page of logs (MAX_STATUS_PAGE at most): their heads here and at each partner
        (partners for this node's institute only)."""
        heads = {(h.origin, h.lane): h for h in self.heads(viewer)}
        links = self.link_stats(viewer)
        keys = sorted(set(heads).union(*(stats.heads for stats in links.values())))
        page, token = page_after(keys, page_size, page_token, MAX_STATUS_PAGE, "MAX_STATUS_PAGE")
        shown = keys[page]
        return StatusPage(
            heads=[heads[key] for key in shown if key in heads],
            links=links,
            peer_heads={
                address: {key: stats.heads[key] for key in shown if key in stats.heads}
                for address, stats in links.items()
            },
            forked_origins=sorted({h.origin for h in heads.values() if h.forked}),
            next_page_token=token,
        )

    def checkpoints(self, viewer: Viewer) -> list[LogCheckpointStatus]:
        """Per log, the largest checkpoint held and the records held (lag), for this node's
        institute only."""
        if self.book is None or not self._is_operator(viewer):
            return []
        return self.book.status()

    def split_views(self, viewer: Viewer) -> list[SplitViewEvidence]:
        """Split-view evidence held, for this node's institute only."""
        if self.book is None or not self._is_operator(viewer):
            return []
        return [held.evidence for held in self.book.witnesses.split_views_since(0)]

    def gaps(self, viewer: Viewer) -> list[LogGap]:
        """Logs missing seqs below their heads, for this node's institute only."""
        return self.store.gaps() if self._is_operator(viewer) else []

    def lags(self, links: dict[str, LinkStats]) -> dict[str, int]:
        """Per partner, the seqs up to its claimed heads that this node lacks."""
        return self.sync_store.lags({address: stats.heads for address, stats in links.items()})

    def record_count(self, viewer: Viewer) -> int:
        return self.store.count() if self._is_operator(viewer) else self.store.visible_count(viewer)

    def _is_operator(self, viewer: Viewer) -> bool:
        """The node's own institute sees everything it holds; others only what they may see."""
        return _require_member(viewer) == self.institute

    def find_existing(self, digests: Sequence[str], viewer: Viewer) -> dict[str, str]:
        institute = _require_member(viewer)
        if len(digests) > MAX_FIND_DIGESTS:
            raise LimitError(f"at most MAX_FIND_DIGESTS={MAX_FIND_DIGESTS} digests per call")
        return self.store.find_digests(institute, [check_digest(d) for d in digests])

    def get(self, record_id: str, viewer: Viewer) -> StoredRecord:
        row = self.store.get(check_record_id(record_id), viewer)
        if row is None:
            raise NotFoundError(f"no record {record_id} that you may see is held here")
        return self._stored([row], viewer)[0]

    def bundle(self, stored: StoredRecord) -> Bundle:
        """The record with what checks it offline, and the split-view evidence held of its
        log (the caller, who may see the record, may see its log)."""
        bundle = Bundle(
            format=BUNDLE_FORMAT,
            federation_id=self.membership.federation_id,
            record_id=stored.id,
            record=stored.envelope,
            membership=self.membership.state.records,
        )
        if self.book is not None and stored.log_split_view:
            record = Record()
            record.ParseFromString(stored.envelope.payload)
            key = (record.origin, record_lane(record))
            bundle.split_views.extend(self.book.witnesses.split_views_of(key))
        return bundle

    def query(
        self, where: QueryFilter, viewer: Viewer, page_size: int, page_token: str
    ) -> tuple[list[StoredRecord], str]:
        if where.kind not in QUERY_KINDS:
            raise InvalidInputError(f"kind must be one of {', '.join(QUERY_KINDS[1:])}")
        if page_size > MAX_PAGE_SIZE:
            raise LimitError(f"page_size {page_size} is over MAX_PAGE_SIZE={MAX_PAGE_SIZE}")
        size = page_size or DEFAULT_PAGE_SIZE
        before_pos = self.page_tokens.open(page_token, viewer, where)
        rows = self.store.query(where, viewer, size + 1, before_pos)
        more = len(rows) > size
        rows = rows[:size]
        token = self.page_tokens.seal(rows[-1].pos, viewer, where) if more and rows else ""
        return self._stored(rows, viewer), token

    def _stored(self, rows: list[Row], viewer: Viewer) -> list[StoredRecord]:
        superseded = self.store.superseded(r.id for r in rows)
        forked = self.store.forked_origins_seen_by(viewer) if rows else set()
        split = self.book.split_logs() if self.book is not None and rows else set()
        out = []
        for row in rows:
            stored = StoredRecord(
                id=row.id,
                origin_forked=row.origin in forked,
                void_reason=row.void_reason,
                log_split_view=(row.origin, row.lane) in split,
            )
            stored.envelope.ParseFromString(row.envelope)
            stored.received_at.CopyFrom(timestamp_of_us(row.received_at_us))
            kind, by = superseded.get(row.id, ("", ""))
            stored.retracted = kind == "retraction"
            stored.corrected_by = by if kind == "correction" else ""
            out.append(stored)
        return out


def _gossip_for(book: CheckpointBook, viewer: Viewer) -> Gossip:
    return lambda version: book.gossip(viewer, version)


def operator_only(institute: str | None, operator: str) -> None:
    """Publishing is for the node's own institute (its operator): anyone else is refused
    before any record is checked."""
    if institute is None:
        raise AuthenticationError(
            f"publishing needs the signed call of this node's operator ({operator}): "
            f"pass --key with {operator}'s key"
        )
    if institute != operator:
        raise PermissionDeniedError(
            f"only this node's operator ({operator}) publishes here, not {institute}; "
            "publish to your own institute's node"
        )


def _held_runs(cursor: Cursor) -> tuple[tuple[int, int], ...]:
    """A cursor's runs held past its gap, checked: ascending, apart, past its seq."""
    if len(cursor.held) > MAX_GAP_RANGES:
        raise LimitError(
            f"a cursor of {cursor.origin} names {len(cursor.held)} held ranges, over "
            f"MAX_GAP_RANGES={MAX_GAP_RANGES}; name the first ones"
        )
    runs, after = [], cursor.seq
    for run in cursor.held:
        if not after + 1 < run.low <= run.high:
            raise InvalidInputError(
                f"the held ranges of the cursor of {cursor.origin} must be ascending, apart, "
                f"and past its seq {cursor.seq}; {run.low}..{run.high} is not"
            )
        runs.append((run.low, run.high))
        after = run.high
    return tuple(runs)


def _require_member(viewer: Viewer) -> str:
    if viewer.institute is None:
        raise AuthenticationError("this call needs a member's signed credentials (--key KEYFILE)")
    return viewer.institute


class PageTokens:
    """Query page tokens: the position a page ended at, sealed (see evalfed.server.sealing)
    for the caller and the filter. A token says nothing of the records between pages, and
    works for nobody else and no other query."""

    def __init__(self, sealer: PositionSealer) -> None:
        self.sealer = sealer

    @staticmethod
    def _bound_to(viewer: Viewer, where: QueryFilter) -> bytes:
        fields = ("page", viewer.institute or "", where.model, where.task, where.origin, where.kind)
        return "\0".join(fields).encode()

    def seal(self, pos: int, viewer: Viewer, where: QueryFilter) -> str:
        sealed = self.sealer.seal(pos, self._bound_to(viewer, where))
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, token: str, viewer: Viewer, where: QueryFilter) -> int | None:
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return self.sealer.open(raw, self._bound_to(viewer, where))
        except ValueError:
            raise InvalidInputError(
                "page_token is not one this node issued for this caller and query; pass "
                "next_page_token unchanged, with the same filters"
            ) from None

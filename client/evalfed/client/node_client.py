"""A client for one node: info, heads, publishing signed envelopes, reading and querying."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import grpc

from evalfed.client.channel import CallSigner
from evalfed.client.retry import call_with_retry
from evalfed.client.status import error_of
from evalfed.client.transport import connect_node
from evalfed.core.binding import verify_binding
from evalfed.core.errors import AuthenticationError, EvalfedError
from evalfed.core.limits import MAX_FIND_DIGESTS
from evalfed.core.membership import Membership
from evalfed.keys import PrivateKey
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.node_pb2_grpc import NodeStub

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0


class PublishCall:
    """A publish under way; a refusal for now (rate, reachability) is retried when its
    result is asked for (see evalfed.client.retry)."""

    def __init__(self, send: Callable[[], grpc.Future], address: str) -> None:
        self._send = send
        self._future: grpc.Future | None = send()
        self._address = address

    def _outcome(self) -> pb.PublishResponse:
        future, self._future = self._future or self._send(), None
        response: pb.PublishResponse = future.result()
        return response

    def result(self) -> list[pb.Published]:
        return list(call_with_retry(self._outcome, self._address).results)


class NodeClient:
    """Talks to one node; with a key, every call is signed as that key's institute."""

    def __init__(
        self,
        address: str,
        key: PrivateKey | None = None,
        federation: Membership | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.connection = connect_node(address, federation, key.public if key else None)
        self.info = self.connection.info
        self.membership = self.connection.membership
        self.key = key
        self.institute = ""
        signer = None
        if key is not None:
            self.institute = self._institute_of(key)
            signer = CallSigner(key, self.institute, self.membership.federation_id)
        self._channel = self.connection.channel(signer)
        self.stub = NodeStub(self._channel)

    def _institute_of(self, key: PrivateKey) -> str:
        """The member institute `key` speaks for; or, at one's own pending node, the node's."""
        institute = self.membership.institute_of_key(key.key_id)
        if institute is not None:
            return institute
        if self.info.institute and not self.membership.is_member(self.info.institute):
            try:
                verify_binding(self.info.node_binding, self.membership, key.public)
                return self.info.institute
            except EvalfedError:
                pass
        former = next(
            (m.institute for m in self.membership.state.members.values() if m.period(key.key_id)),
            None,
        )
        if former is not None:
            raise AuthenticationError(
                f"key {key.key_id[:16]} of {former} was rotated out or revoked and speaks for "
                f"no one; use {former}'s current key file"
            )
        raise AuthenticationError(
            f"key {key.key_id[:16]} is not the key of any member of the federation "
            f"served at {self.address}; use your institute's key file"
        )

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    @property
    def federation_id(self) -> str:
        return self.membership.federation_id

    def _call(self, method: Callable[..., T], request: object) -> T:
        """One call; a refusal for now is retried (see evalfed.client.retry)."""
        return call_with_retry(lambda: method(request, timeout=self.timeout_s), self.address)

    def head(self, origin: str = "", lane: str = "") -> pb.GetHeadResponse:
        """A log's head: `origin` (empty: the node's institute) in `lane` (empty: members)."""
        return self._call(self.stub.GetHead, pb.GetHeadRequest(origin=origin, lane=lane))

    def checkpoint(self, origin: str = "", lane: str = "") -> pb.GetCheckpointResponse:
        """The latest checkpoint the node signed of one of its own logs."""
        request = pb.GetCheckpointRequest(origin=origin, lane=lane)
        return self._call(self.stub.GetCheckpoint, request)

    def proof(self, request: pb.GetProofRequest) -> pb.GetProofResponse:
        """An inclusion proof of a record, or a consistency proof between two tree sizes."""
        return self._call(self.stub.GetProof, request)

    def cosign(self, request: pb.CosignRequest) -> pb.CosignResponse:
        """Asks the node, as a witness, to cosign a checkpoint (see PROTOCOL.md)."""
        return self._call(self.stub.Cosign, request)

    def publish_async(self, envelopes: list[Envelope]) -> PublishCall:
        """Sends a publish without waiting; `.result()` gives its outcome or raises."""
        request = pb.PublishRequest(envelopes=envelopes)
        return PublishCall(
            lambda: self.stub.Publish.future(request, timeout=self.timeout_s), self.address
        )

    def publish(self, envelopes: list[Envelope]) -> list[pb.Published]:
        response = self._call(self.stub.Publish, pb.PublishRequest(envelopes=envelopes))
        return list(response.results)

    def find_existing(self, digests: list[str]) -> dict[str, str]:
        """Which of these result digests the node already holds, in calls of at most
        MAX_FIND_DIGESTS digests."""
        found: dict[str, str] = {}
        for start in range(0, len(digests), MAX_FIND_DIGESTS):
            chunk = digests[start : start + MAX_FIND_DIGESTS]
            found.update(
                self._call(self.stub.FindExisting, pb.FindExistingRequest(body_digests=chunk)).ids
            )
        return found

    def get(self, record_id: str, bundle: bool = False) -> pb.GetRecordResponse:
        return self._call(self.stub.GetRecord, pb.GetRecordRequest(id=record_id, bundle=bundle))

    def query_page(self, request: pb.QueryRequest) -> pb.QueryResponse:
        return self._call(self.stub.Query, request)

    def query(self, request: pb.QueryRequest, limit: int = 0) -> Iterator[pb.StoredRecord]:
        """Every matching record, page by page; at most `limit` when it is set."""
        seen = 0
        page = pb.QueryRequest()
        page.CopyFrom(request)
        while True:
            response = self.query_page(page)
            for record in response.records:
                yield record
                seen += 1
                if limit and seen >= limit:
                    return
            if not response.next_page_token:
                return
            page.page_token = response.next_page_token

    def status(self, page_size: int = 0) -> pb.GetStatusResponse:
        """The node's status, every page of it merged: all heads, each partner's in full."""
        merged = self._call(self.stub.GetStatus, pb.GetStatusRequest(page_size=page_size))
        peers = {peer.address: peer for peer in merged.peers}
        token = merged.next_page_token
        while token:
            request = pb.GetStatusRequest(page_size=page_size, page_token=token)
            page = self._call(self.stub.GetStatus, request)
            merged.heads.extend(page.heads)
            for peer in page.peers:
                if peer.address in peers:
                    peers[peer.address].heads.extend(peer.heads)
                else:
                    peers[peer.address] = merged.peers.add()
                    peers[peer.address].CopyFrom(peer)
            token = page.next_page_token
        merged.next_page_token = ""
        return merged

    def submit_join_request(self, request: Envelope) -> pb.SubmitJoinRequestResponse:
        return self._call(self.stub.SubmitJoinRequest, pb.SubmitJoinRequestRequest(request=request))

    def update_binding(self, binding: Envelope, signed_by: PrivateKey | None = None) -> None:
        """Re-binds the node; after a rotation the call must be `signed_by` the new key (the
        old one speaks for no one any more), on this same checked connection."""
        request = pb.UpdateBindingRequest(binding=binding)
        if signed_by is None:
            self._call(self.stub.UpdateBinding, request)
            return
        signer = CallSigner(signed_by, self.institute, self.federation_id)
        with self.connection.channel(signer) as channel:
            self._call(NodeStub(channel).UpdateBinding, request)

    def members(self, page_size: int = 0) -> pb.ListMembersResponse:
        """Members and pending requests, every page of them."""
        merged = pb.ListMembersResponse()
        token = ""
        while True:
            request = pb.ListMembersRequest(page_size=page_size, page_token=token)
            page = self._call(self.stub.ListMembers, request)
            merged.members.extend(page.members)
            merged.pending.extend(page.pending)
            if not (token := page.next_page_token):
                return merged

    def update_peers(self, add: list[str], remove: list[str]) -> list[str]:
        response = self._call(self.stub.UpdatePeers, pb.UpdatePeersRequest(add=add, remove=remove))
        return list(response.peers)

    def follow(self, have: dict[tuple[str, str], int] | None = None) -> Iterator[pb.SyncBatch]:
        """The node's sync stream as this caller may see it: backlog past `have` (the seq held
        per log, (origin, lane)), then live records."""
        request = pb.SyncRequest(
            have=[pb.Cursor(origin=o, lane=lane, seq=s) for (o, lane), s in (have or {}).items()],
            follow=True,
        )
        try:
            yield from self.stub.Sync(request)
        except grpc.RpcError as exc:
            raise error_of(exc, self.address) from None


def require_key(client: NodeClient) -> PrivateKey:
    if client.key is None:
        raise EvalfedError("this needs your institute's key: pass --key KEYFILE or set EVALFED_KEY")
    return client.key

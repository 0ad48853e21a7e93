"""The gRPC face of the node: parse each request, call the service, build the response."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from evalfed.core.errors import NotFoundError
from evalfed.core.note import parse_checkpoint, parse_note
from evalfed.core.timeutil import timestamp_of_us
from evalfed.server.cosigning import Witness
from evalfed.server.guard import current_viewer
from evalfed.server.member_view import members_response
from evalfed.server.service import NodeService
from evalfed.server.storage.store import QueryFilter
from evalfed.server.transparency import TransparencyService
from evalfed.server.witness import LogCheckpointStatus
from evalfed.v1 import node_pb2 as pb
from evalfed.v1.envelope_pb2 import Envelope, SplitViewEvidence
from evalfed.v1.node_pb2_grpc import NodeServicer

VERSION = "0.1.0"


class NodeApi(NodeServicer):
    """Implements evalfed.v1.Node on a NodeService."""

    def __init__(
        self,
        service: NodeService,
        charter: Envelope,
        insecure: bool,
        transparency: TransparencyService,
        witness: Witness | None = None,
    ) -> None:
        self.service = service
        self.transparency = transparency
        self.witness = witness
        self.charter = charter
        self.insecure = insecure

    def Publish(
        self, request: pb.PublishRequest, context: grpc.ServicerContext
    ) -> pb.PublishResponse:
        appended = self.service.publish(list(request.envelopes), current_viewer())
        return pb.PublishResponse(
            results=[pb.Published(id=a.id, seq=a.seq, existed=a.existed) for a in appended]
        )

    def GetRecord(
        self, request: pb.GetRecordRequest, context: grpc.ServicerContext
    ) -> pb.GetRecordResponse:
        stored = self.service.get(request.id, current_viewer())
        response = pb.GetRecordResponse(record=stored)
        if request.bundle:
            response.bundle.CopyFrom(self.service.bundle(stored))
            proof = self.transparency.tlog_proof(stored.id, current_viewer())
            if proof:  # only of this node's own logs: it signs no other checkpoints
                response.bundle.tlog_proof = proof.decode()
                response.bundle.origin_binding.CopyFrom(self.service.identity.binding)
        return response

    def Query(self, request: pb.QueryRequest, context: grpc.ServicerContext) -> pb.QueryResponse:
        where = QueryFilter(
            model=request.model, task=request.task, origin=request.origin, kind=request.kind
        )
        stored, token = self.service.query(
            where, current_viewer(), request.page_size, request.page_token
        )
        return pb.QueryResponse(records=stored, next_page_token=token)

    def GetHead(
        self, request: pb.GetHeadRequest, context: grpc.ServicerContext
    ) -> pb.GetHeadResponse:
        head = self.service.head(request.origin, request.lane, current_viewer())
        return pb.GetHeadResponse(origin=head.origin, seq=head.seq, id=head.id, lane=head.lane)

    def GetCheckpoint(
        self, request: pb.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.GetCheckpointResponse:
        checkpoint = self.transparency.checkpoint(request.origin, request.lane, current_viewer())
        return pb.GetCheckpointResponse(note=checkpoint.note, size=checkpoint.size)

    def GetProof(
        self, request: pb.GetProofRequest, context: grpc.ServicerContext
    ) -> pb.GetProofResponse:
        viewer = current_viewer()
        if request.record_id:
            proof = self.transparency.inclusion(request.record_id, request.size, viewer)
        else:
            proof = self.transparency.consistency(
                request.origin, request.lane, request.old_size, request.size, viewer
            )
        return pb.GetProofResponse(
            index=proof.index, size=proof.size, hashes=proof.hashes, checkpoint=proof.checkpoint
        )

    def Cosign(self, request: pb.CosignRequest, context: grpc.ServicerContext) -> pb.CosignResponse:
        if self.witness is None:
            raise NotFoundError("this node witnesses no logs")
        return self.witness.cosign(request, current_viewer())

    def FindExisting(
        self, request: pb.FindExistingRequest, context: grpc.ServicerContext
    ) -> pb.FindExistingResponse:
        ids = self.service.find_existing(list(request.body_digests), current_viewer())
        return pb.FindExistingResponse(ids=ids)

    def GetInfo(
        self, request: pb.GetInfoRequest, context: grpc.ServicerContext
    ) -> pb.GetInfoResponse:
        return pb.GetInfoResponse(
            institute=self.service.institute,
            federation_id=self.service.membership.federation_id,
            charter=self.charter,
            version=VERSION,
            insecure=self.insecure,
            node_binding=self.service.identity.binding,
            membership=self.service.membership.state.records,
        )

    def SubmitJoinRequest(
        self, request: pb.SubmitJoinRequestRequest, context: grpc.ServicerContext
    ) -> pb.SubmitJoinRequestResponse:
        caller = current_viewer().institute or "address " + context.peer().rsplit(":", 1)[0]
        request_id, endorsements = self.service.submit_join_request(request.request, caller)
        return pb.SubmitJoinRequestResponse(id=request_id, endorsements=endorsements)

    def UpdateBinding(
        self, request: pb.UpdateBindingRequest, context: grpc.ServicerContext
    ) -> pb.UpdateBindingResponse:
        self.service.update_binding(request.binding, current_viewer())
        return pb.UpdateBindingResponse()

    def ListMembers(
        self, request: pb.ListMembersRequest, context: grpc.ServicerContext
    ) -> pb.ListMembersResponse:
        return members_response(self.service.members(), request.page_size, request.page_token)

    def Sync(
        self, request: pb.SyncRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.SyncBatch]:
        yield from self.service.sync(request, current_viewer(), context.is_active)

    def UpdatePeers(
        self, request: pb.UpdatePeersRequest, context: grpc.ServicerContext
    ) -> pb.UpdatePeersResponse:
        peers = self.service.update_peers(list(request.add), list(request.remove), current_viewer())
        return pb.UpdatePeersResponse(peers=peers)

    def GetStatus(
        self, request: pb.GetStatusRequest, context: grpc.ServicerContext
    ) -> pb.GetStatusResponse:
        viewer = current_viewer()
        page = self.service.status_page(viewer, request.page_size, request.page_token)
        gaps = {(g.origin, g.lane): g for g in self.service.gaps(viewer)}
        heads = []
        for h in page.heads:
            head = pb.OriginHead(
                origin=h.origin, seq=h.seq, id=h.id, forked=h.forked, lane=h.lane,
                complete_seq=h.complete,
            )  # fmt: skip
            if gap := gaps.get((h.origin, h.lane)):
                head.missing = gap.missing
                head.missing_ranges.extend(
                    pb.SeqRange(low=low, high=high) for low, high in gap.missing_ranges
                )
            heads.append(head)
        peers = []
        lags = self.service.lags(page.links)
        for address, stats in page.links.items():
            peer = pb.PeerStatus(
                address=address,
                institute=stats.institute,
                state=stats.state,
                received=stats.received,
                rejected=sum(stats.rejected.values()),
                rejected_by_reason=dict(stats.rejected),
                last_error=stats.last_error,
                heads=[
                    pb.OriginHead(origin=o, lane=lane, seq=s)
                    for (o, lane), s in sorted(page.peer_heads[address].items())
                ],
                lag=lags[address],
            )
            if stats.last_contact_us:
                peer.last_contact.CopyFrom(timestamp_of_us(stats.last_contact_us))
            peers.append(peer)
        return pb.GetStatusResponse(
            institute=self.service.institute,
            federation_id=self.service.membership.federation_id,
            heads=heads,
            peers=peers,
            forked_origins=page.forked_origins,
            records=self.service.record_count(viewer),
            next_page_token=page.next_page_token,
            checkpoints=[_checkpoint_status(c) for c in self.service.checkpoints(viewer)],
            split_views=[_split_view_status(e) for e in self.service.split_views(viewer)],
        )


def _checkpoint_status(c: LogCheckpointStatus) -> pb.LogCheckpoint:
    return pb.LogCheckpoint(
        origin=c.key[0],
        lane=c.key[1],
        size=c.size,
        held=c.held,
        cosigners=c.cosigners,
        newest_cosigned_at=c.newest_cosigned_at,
    )


def _split_view_status(evidence: SplitViewEvidence) -> pb.SplitView:
    sizes = [_size_of(evidence.first.note), _size_of(evidence.second.note)]
    return pb.SplitView(
        origin=evidence.origin,
        lane=evidence.lane,
        first_size=sizes[0],
        second_size=sizes[1],
        reason=evidence.reason,
    )


def _size_of(note: bytes) -> int:
    return parse_checkpoint(parse_note(note).text).size

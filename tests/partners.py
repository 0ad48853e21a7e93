"""A crafted partner: a real gRPC server that serves exactly the batches a test gives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from evalfed.v1 import node_pb2 as pb
from evalfed.v1.node_pb2_grpc import NodeServicer
from tests.conftest import Federation


class CraftedPartner(NodeServicer):
    """A partner that answers Sync with the batches it is given, then holds the stream open.

    It serves plain gRPC on loopback, which nodes accept there only."""

    def __init__(self, federation: Federation, institute: str, batches: list[list[bytes]]) -> None:
        self.federation = federation
        self.institute = institute
        self.batches = batches

    def GetInfo(self, request, context):
        charter = self.federation.charter
        return pb.GetInfoResponse(
            institute=self.institute, federation_id=charter.federation_id, charter=charter.envelope
        )

    def GetStatus(self, request, context):
        return pb.GetStatusResponse(institute=self.institute)

    def Sync(self, request, context) -> Iterator[pb.SyncBatch]:
        for batch in self.batches:
            yield pb.SyncBatch(envelopes=batch)
        yield pb.SyncBatch(caught_up=True)
        closed = threading.Event()
        context.add_callback(closed.set)
        closed.wait()


class FaultyPartner(CraftedPartner):
    """Serves one origin's log from the caller's cursor on, misbehaving as asked: dropping
    the connection after `drop_after` batches, or stalling forever after `stall_after`, or
    taking `delay_s` per batch."""

    def __init__(
        self,
        federation: Federation,
        envelopes: list[bytes],
        batch: int = 50,
        drop_after: int = 0,
        stall_after: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        super().__init__(federation, "ca-aisi", [])
        self.envelopes = envelopes
        self.batch = batch
        self.drop_after = drop_after
        self.stall_after = stall_after
        self.delay_s = delay_s
        self.streams = 0
        self.released = threading.Event()

    def Sync(self, request, context) -> Iterator[pb.SyncBatch]:
        self.streams += 1
        have = max((c.seq for c in request.have if c.origin == "us-aisi"), default=0)
        remaining = self.envelopes[have:]
        for sent, start in enumerate(range(0, len(remaining), self.batch)):
            if self.drop_after and sent == self.drop_after:
                context.abort(grpc.StatusCode.UNAVAILABLE, "dropping the connection, as asked")
            if self.stall_after and sent == self.stall_after:
                self.released.wait()
                return
            if self.delay_s:
                self.released.wait(self.delay_s)
            yield pb.SyncBatch(envelopes=remaining[start : start + self.batch])
        yield pb.SyncBatch(caught_up=True)
        closed = threading.Event()
        context.add_callback(closed.set)
        closed.wait()

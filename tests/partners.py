"""A crafted partner: a real gRPC server that serves exactly the batches a test gives it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

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

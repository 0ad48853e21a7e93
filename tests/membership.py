"""Helpers for membership tests: join requests and membership records signed as users would."""

from __future__ import annotations

from evalfed.client.node_client import NodeClient
from evalfed.core.binding import sign_binding
from evalfed.core.joins import sign_join_request
from evalfed.core.records import sign_record
from evalfed.core.timeutil import now_us, timestamp_of_us
from evalfed.keys import PrivateKey
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import JoinRequest, NodeBinding
from evalfed.v1.record_pb2 import Record
from tests.conftest import Federation


def join_request(
    federation: Federation, institute: str, key: PrivateKey, address: str = "127.0.0.1:1"
) -> Envelope:
    request = JoinRequest(
        federation_id=federation.charter.federation_id,
        institute=institute,
        country=institute[:2].upper(),
        name=f"{institute} institute",
        address=address,
        public_key=key.public.raw,
    )
    request.issued_at.CopyFrom(timestamp_of_us(now_us()))
    return sign_join_request(request, key)


def signed_event(
    federation: Federation,
    body: Record,
    origin: str,
    seq: int,
    prev: str,
    key: PrivateKey,
    issued_at_us: int | None = None,
) -> Envelope:
    """`body` (a membership or result record) as `origin`'s record `seq`, signed by `key`."""
    record = Record()
    record.CopyFrom(body)
    record.federation_id = federation.charter.federation_id
    record.origin, record.seq, record.prev, record.key_id = origin, seq, prev, key.key_id
    record.issued_at.CopyFrom(timestamp_of_us(issued_at_us or now_us()))
    return sign_record(record, key)


def rebind(client: NodeClient, key: PrivateKey) -> None:
    """Re-signs the node's binding with the institute's new current key, as `keys rotate` does."""
    binding = NodeBinding()
    binding.ParseFromString(client.info.node_binding.payload)
    client.update_binding(sign_binding(binding, key), signed_by=key)

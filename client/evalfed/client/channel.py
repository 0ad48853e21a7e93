"""Channels to a node, and the interceptor that signs every call with the caller's key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from evalfed.core.callauth import sign_call
from evalfed.core.limits import MAX_MESSAGE_BYTES
from evalfed.keys import PrivateKey

KEEPALIVE_MS = 30_000

CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_permit_without_calls", 1),
]

SERVER_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Partners' long-lived sync streams are idle between records; their keepalive pings
    # (every KEEPALIVE_MS) must not count as abuse.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", KEEPALIVE_MS // 2),
]


@dataclass(frozen=True)
class CallSigner:
    """Signs calls as `institute` with `key` for the federation `federation_id`."""

    key: PrivateKey
    institute: str
    federation_id: str
    binding: bytes = b""
    """A node's institute-signed binding of `key`; empty when `key` is the institute's own."""

    def metadata(self, method: str) -> list[tuple[str, str | bytes]]:
        return sign_call(
            self.key, self.institute, self.federation_id, method, int(time.time()), self.binding
        )


class _ClientCallDetails(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: list[tuple[str, Any]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = tuple(metadata)
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class SigningInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the signed-call metadata to every outgoing call."""

    def __init__(self, signer: CallSigner) -> None:
        self._signer = signer

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        metadata = list(details.metadata or []) + self._signer.metadata(method)
        return _ClientCallDetails(details, metadata)

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)


def open_channel(
    address: str,
    signer: CallSigner | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    options: list[tuple[str, Any]] | None = None,
) -> grpc.Channel:
    """A channel to `address`: TLS when `credentials` are given, calls signed when `signer` is."""
    opts = CHANNEL_OPTIONS + list(options or [])
    channel = (
        grpc.secure_channel(address, credentials, options=opts)
        if credentials is not None
        else grpc.insecure_channel(address, options=opts)
    )
    if signer is not None:
        channel = grpc.intercept_channel(channel, SigningInterceptor(signer))
    return channel

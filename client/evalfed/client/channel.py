"""Channels to a node, and the channel wrapper that signs every call with the caller's key."""

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

    def metadata(
        self, method: str, callee_key_id: str, request: bytes
    ) -> list[tuple[str, str | bytes]]:
        """The credentials of one call of `method` to the node `callee_key_id`, carrying the
        serialized `request`."""
        return sign_call(
            self.key,
            self.institute,
            self.federation_id,
            method,
            int(time.time()),
            callee_key_id,
            request,
            self.binding,
        )


Serializer = Callable[[Any], bytes] | None


class _Signed:
    """Serializes a request once, signs those bytes for the callee, and sends the same bytes."""

    def __init__(
        self, inner: Any, method: str, serializer: Serializer, signer: CallSigner, callee: str
    ) -> None:
        self._inner = inner
        self._method = method
        self._serializer = serializer
        self._signer = signer
        self._callee = callee

    def _signed(self, request: Any, metadata: Any) -> tuple[bytes, list[tuple[str, Any]]]:
        data = self._serializer(request) if self._serializer is not None else request
        credentials = self._signer.metadata(self._method, self._callee, data)
        return data, list(metadata or ()) + credentials

    def __call__(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **options: Any
    ) -> Any:
        data, signed = self._signed(request, metadata)
        return self._inner(data, timeout=timeout, metadata=signed, **options)

    def with_call(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **options: Any
    ) -> Any:
        data, signed = self._signed(request, metadata)
        return self._inner.with_call(data, timeout=timeout, metadata=signed, **options)

    def future(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **options: Any
    ) -> Any:
        data, signed = self._signed(request, metadata)
        return self._inner.future(data, timeout=timeout, metadata=signed, **options)


class SigningChannel(grpc.Channel):
    """A channel whose unary-request calls carry credentials signed over the exact request
    bytes sent and the callee's node key id. grpc's client interceptors see the request
    message, not its bytes, so the channel serializes each request itself, signs those
    bytes and hands them to the wire unchanged (no serializer of its own)."""

    def __init__(self, channel: grpc.Channel, signer: CallSigner, callee_key_id: str) -> None:
        self._channel = channel
        self._signer = signer
        self._callee = callee_key_id

    def unary_unary(
        self,
        method: str,
        request_serializer: Serializer = None,
        response_deserializer: Any = None,
        **options: Any,
    ) -> Any:
        inner = self._channel.unary_unary(method, None, response_deserializer, **options)
        return _Signed(inner, method, request_serializer, self._signer, self._callee)

    def unary_stream(
        self,
        method: str,
        request_serializer: Serializer = None,
        response_deserializer: Any = None,
        **options: Any,
    ) -> Any:
        inner = self._channel.unary_stream(method, None, response_deserializer, **options)
        return _Signed(inner, method, request_serializer, self._signer, self._callee)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("evalfed has no client-streaming calls to sign")

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("evalfed has no client-streaming calls to sign")

    def subscribe(self, callback: Callable[..., Any], try_to_connect: bool = False) -> None:
        self._channel.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Callable[..., Any]) -> None:
        self._channel.unsubscribe(callback)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> SigningChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_channel(
    address: str,
    signer: CallSigner | None = None,
    credentials: grpc.ChannelCredentials | None = None,
    options: list[tuple[str, Any]] | None = None,
    callee_key_id: str = "",
) -> grpc.Channel:
    """A channel to `address`: TLS when `credentials` are given, calls signed when `signer` is,
    for the node whose key id is `callee_key_id` (from its binding)."""
    opts = CHANNEL_OPTIONS + list(options or [])
    channel = (
        grpc.secure_channel(address, credentials, options=opts)
        if credentials is not None
        else grpc.insecure_channel(address, options=opts)
    )
    if signer is not None:
        channel = SigningChannel(channel, signer, callee_key_id)
    return channel

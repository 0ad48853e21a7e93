"""The one server interceptor: limits, decodes and authenticates each call, and maps errors
to gRPC statuses.

In this order, so that nothing costly runs for a caller over its rate or for junk: the caller's
rate (keyed by the institute it claims and its address, before any signature is checked), the
request's decoding (an undecodable request is INVALID_ARGUMENT), the operator-only rule for
Publish and its records' cost, then the call signature over the exact request bytes received.
A call signed with a member's key runs as that institute; an unsigned call runs anonymous
(public records only). Every EvalfedError becomes its one status with its message; anything
else is INTERNAL, logged with its stack, and its details stay in the log.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import ceil
from typing import Any

import grpc
from google.protobuf import descriptor_pool

from evalfed.client.status import HEAD_ID, HEAD_SEQ, RETRY_AFTER_MS, code_of
from evalfed.core.callauth import (
    MAX_CLOCK_SKEW_S,
    binding_checker,
    check_call,
    claimed_institute,
    is_signed_call,
    request_digest,
)
from evalfed.core.errors import (
    AuthenticationError,
    ConflictError,
    EvalfedError,
    InvalidInputError,
    RateLimitError,
)
from evalfed.core.membership import Membership
from evalfed.keys import PublicKey
from evalfed.server.ratelimit import RateLimiter
from evalfed.server.service import operator_only
from evalfed.server.storage.store import Viewer
from evalfed.v1.federation_pb2 import NodeBinding

log = logging.getLogger(__name__)

SERVICE_PREFIX = "/evalfed.v1."
PUBLISH = "/evalfed.v1.Node/Publish"
BINDING_CACHE_SIZE = 1024

_viewer: contextvars.ContextVar[Viewer] = contextvars.ContextVar("viewer")


def current_viewer() -> Viewer:
    """The authenticated caller of the RPC being served."""
    return _viewer.get()


class NonceCache:
    """Remembers each institute's call nonces for the whole window in which a call's time is
    accepted (twice MAX_CLOCK_SKEW_S), so a captured call cannot be replayed, from any address:
    a nonce is never let go while its call could still be accepted. An institute may keep
    `per_caller` nonces (what one caller's rate allows in a window); past that its calls are
    refused until the oldest expire, and no one else's are."""

    def __init__(self, per_caller: int) -> None:
        self._seen: dict[str, OrderedDict[str, float]] = {}
        self._per_caller = per_caller
        self._lock = threading.Lock()
        self._swept = 0.0

    def add(self, caller: str, nonce: str, now: float) -> bool:
        """False when `caller` made a call with `nonce` within the window."""
        expired = now - 2 * MAX_CLOCK_SKEW_S
        with self._lock:
            if now - self._swept > MAX_CLOCK_SKEW_S:
                self._sweep(expired)
                self._swept = now
            seen = self._seen.setdefault(caller, OrderedDict())
            while seen and next(iter(seen.values())) < expired:
                seen.popitem(last=False)
            if nonce in seen:
                return False
            if len(seen) >= self._per_caller:
                oldest = next(iter(seen.values()))
                raise RateLimitError(
                    f"{caller} made {len(seen)} signed calls within "
                    f"{2 * MAX_CLOCK_SKEW_S} s, as many as this node remembers for one caller "
                    f"(rate_per_caller * {2 * MAX_CLOCK_SKEW_S} s + rate_burst = "
                    f"{self._per_caller}); slow down and retry",
                    retry_after_s=max(0.001, oldest - expired),
                )
            seen[nonce] = now
            return True

    def _sweep(self, expired: float) -> None:
        """Lets go of callers whose nonces have all expired."""
        for caller in [
            c for c, seen in self._seen.items() if next(reversed(seen.values()), 0.0) < expired
        ]:
            del self._seen[caller]


@dataclass(frozen=True)
class Received:
    """A request as it arrived: its message (None when it did not decode, with `error` saying
    why) and the SHA-256 of its bytes, which the call signature covers."""

    message: Any
    sha256: str
    error: str = ""


def _decoder(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Received]:
    """Wraps a handler's deserializer: it sees the raw bytes, so nothing is re-serialized."""

    def decode(data: bytes) -> Received:
        digest = request_digest(data)
        try:
            return Received(deserializer(data) if deserializer else data, digest)
        except Exception as exc:
            return Received(None, digest, str(exc) or type(exc).__name__)

    return decode


def _request_type(method: str) -> str:
    """The full name of `method`'s request message (/evalfed.v1.Node/Publish: ...PublishRequest)."""
    _, service, name = method.split("/", 2)
    try:
        found = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name)
    except KeyError:
        return "request message"
    return str(found.input_type.full_name)


def _decoded(received: Received, method: str) -> Any:
    if received.message is None:
        name = _request_type(method)
        raise InvalidInputError(
            f"the request could not be decoded as {name} ({received.error}); "
            f"send one serialized {name}"
        )
    return received.message


class Guard(grpc.ServerInterceptor):
    """Authenticates callers and turns errors into statuses for every evalfed RPC."""

    def __init__(
        self,
        membership: Membership,
        limiter: RateLimiter,
        records: RateLimiter,
        own: tuple[str, PublicKey],
        node_key_id: str,
    ) -> None:
        """`records` limits records published per caller; `own` is the node's institute and
        its `institute.pub` key; `node_key_id` is this node's call key id, which every signed
        call to it must name."""
        self.membership = membership
        self.limiter = limiter
        self.records = records
        self.own = own
        self.node_key_id = node_key_id
        self.nonces = NonceCache(nonce_window_calls(limiter))
        self._verify_binding = binding_checker(membership)
        self._bindings: dict[bytes, NodeBinding] = {}
        self._bindings_state: object = None
        self._lock = threading.Lock()

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith(SERVICE_PREFIX):
            return handler
        method = details.method
        metadata = dict(details.invocation_metadata or ())
        decode = _decoder(handler.request_deserializer)
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(received: Received, context: grpc.ServicerContext) -> Any:
                token = None
                try:
                    request = self._admit(metadata, method, context, received)
                    token = _viewer.set(request[1])
                    return inner(request[0], context)
                except Exception as exc:
                    _abort(context, exc, method)
                finally:
                    if token is not None:
                        _viewer.reset(token)

            return grpc.unary_unary_rpc_method_handler(unary, decode, handler.response_serializer)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            def stream(received: Received, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    request, viewer = self._admit(metadata, method, context, received)
                    _viewer.set(viewer)
                    yield from inner_stream(request, context)
                except Exception as exc:
                    _abort(context, exc, method)

            return grpc.unary_stream_rpc_method_handler(stream, decode, handler.response_serializer)
        return handler

    def _check_binding(self, data: bytes) -> NodeBinding:
        """A node binding, checked once per membership state (a change may void it)."""
        state = self.membership.state
        with self._lock:
            if state is not self._bindings_state:
                self._bindings.clear()
                self._bindings_state = state
            cached = self._bindings.get(data)
        if cached is not None:
            return cached
        binding = self._verify_binding(data)
        with self._lock:
            if len(self._bindings) < BINDING_CACHE_SIZE:
                self._bindings[data] = binding
        return binding

    def _admit(
        self,
        metadata: dict[str, Any],
        method: str,
        context: grpc.ServicerContext,
        received: Received,
    ) -> tuple[Any, Viewer]:
        """The decoded request and its authenticated caller, once within its rates."""
        claimed = claimed_institute(metadata)
        caller = self._caller(claimed, context.peer().rsplit(":", 1)[0])
        self.limiter.take(caller)
        request = _decoded(received, method)
        if method == PUBLISH:
            operator_only(claimed, self.own[0])
            self.records.take(caller, len(request.envelopes))
        return request, self._authenticate(metadata, method, received.sha256)

    def _caller(self, claimed: str | None, host: str) -> str:
        """Whose allowance a call spends, known before any signature is checked: the institute
        it claims at its address, when that is a member or this node's own; else its address
        alone, so made-up names open no new allowances."""
        if claimed is not None and (
            claimed == self.own[0] or claimed in self.membership.state.members
        ):
            return f"{claimed} (as claimed from {host})"
        return f"{'anonymous' if claimed is None else 'unknown'} caller {host}"

    def _authenticate(self, metadata: dict[str, Any], method: str, request_sha256: str) -> Viewer:
        if not is_signed_call(metadata):
            return Viewer.anonymous()
        now = time.time()
        identity = check_call(
            metadata,
            method,
            self.membership,
            int(now),
            self.node_key_id,
            request_sha256,
            self._check_binding,
            self.own,
        )
        if not self.nonces.add(identity.institute, identity.nonce, now):
            raise AuthenticationError("this call was already made once (replayed nonce)")
        return Viewer(identity.institute)


def nonce_window_calls(limiter: RateLimiter) -> int:
    """The most calls one caller can make within its rate in the window a nonce is kept
    (200 calls/s for 600 s and a burst of 400 by default: 120,400)."""
    return ceil(limiter.rate_per_s * 2 * MAX_CLOCK_SKEW_S) + limiter.burst


def _abort(context: grpc.ServicerContext, exc: Exception, method: str) -> None:
    if isinstance(exc, EvalfedError):
        if isinstance(exc, ConflictError):
            context.set_trailing_metadata(((HEAD_SEQ, str(exc.head_seq)), (HEAD_ID, exc.head_id)))
        if isinstance(exc, RateLimitError):
            context.set_trailing_metadata(((RETRY_AFTER_MS, str(ceil(exc.retry_after_s * 1000))),))
        log.info("%s refused: %s: %s", method, type(exc).__name__, exc)
        context.abort(code_of(exc), str(exc))
    log.exception("%s failed", method)
    context.abort(grpc.StatusCode.INTERNAL, "internal error in the node; its log has the details")

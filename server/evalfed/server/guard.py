"""The one server interceptor: authenticates the caller and maps errors to gRPC statuses.

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
from math import ceil
from typing import Any

import grpc

from evalfed.client.status import HEAD_ID, HEAD_SEQ, RETRY_AFTER_MS, code_of
from evalfed.core.callauth import MAX_CLOCK_SKEW_S, binding_checker, check_call, is_signed_call
from evalfed.core.errors import AuthenticationError, ConflictError, EvalfedError, RateLimitError
from evalfed.core.membership import Membership
from evalfed.keys import PublicKey
from evalfed.server.ratelimit import RateLimiter
from evalfed.server.storage.store import Viewer
from evalfed.v1.federation_pb2 import NodeBinding

log = logging.getLogger(__name__)

SERVICE_PREFIX = "/evalfed.v1."
NONCE_CACHE_SIZE = 100_000
BINDING_CACHE_SIZE = 1024

_viewer: contextvars.ContextVar[Viewer] = contextvars.ContextVar("viewer")


def current_viewer() -> Viewer:
    """The authenticated caller of the RPC being served."""
    return _viewer.get()


class NonceCache:
    """Remembers recent call nonces so a captured call cannot be replayed."""

    def __init__(self, size: int = NONCE_CACHE_SIZE) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, nonce: str, now: float) -> bool:
        """False when `nonce` was seen within the clock-skew window."""
        with self._lock:
            while self._seen and (
                len(self._seen) >= self._size
                or next(iter(self._seen.values())) < now - 2 * MAX_CLOCK_SKEW_S
            ):
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


class Guard(grpc.ServerInterceptor):
    """Authenticates callers and turns errors into statuses for every evalfed RPC."""

    def __init__(
        self,
        membership: Membership,
        limiter: RateLimiter,
        own: tuple[str, PublicKey] | None = None,
    ) -> None:
        self.membership = membership
        self.limiter = limiter
        self.own = own
        self.nonces = NonceCache()
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
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                token = None
                try:
                    token = _viewer.set(self._admit(metadata, method, context))
                    return inner(request, context)
                except Exception as exc:
                    _abort(context, exc, method)
                finally:
                    if token is not None:
                        _viewer.reset(token)

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    _viewer.set(self._admit(metadata, method, context))
                    yield from inner_stream(request, context)
                except Exception as exc:
                    _abort(context, exc, method)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
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
        self, metadata: dict[str, Any], method: str, context: grpc.ServicerContext
    ) -> Viewer:
        """The authenticated caller, once it is within its rate."""
        viewer = self._authenticate(metadata, method)
        if viewer.institute is not None:
            self.limiter.take(viewer.institute)
        else:
            self.limiter.take("anonymous caller " + context.peer().rsplit(":", 1)[0])
        return viewer

    def _authenticate(self, metadata: dict[str, Any], method: str) -> Viewer:
        if not is_signed_call(metadata):
            return Viewer.anonymous()
        now = time.time()
        identity = check_call(
            metadata, method, self.membership, int(now), self._check_binding, self.own
        )
        if not self.nonces.add(identity.nonce, now):
            raise AuthenticationError("this call was already made once (replayed nonce)")
        return Viewer(identity.institute)


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

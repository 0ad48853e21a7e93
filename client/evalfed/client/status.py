"""One table between evalfed errors and gRPC status codes, used by the node and the client."""

from __future__ import annotations

import grpc

from evalfed.core import errors

CODE_OF: dict[type[errors.EvalfedError], grpc.StatusCode] = {
    errors.InvalidInputError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.SignatureError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ChainError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ConflictError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.UnknownSignerError: grpc.StatusCode.PERMISSION_DENIED,
    errors.PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    errors.AuthenticationError: grpc.StatusCode.UNAUTHENTICATED,
    errors.NotFoundError: grpc.StatusCode.NOT_FOUND,
    errors.LimitError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.UnavailableError: grpc.StatusCode.UNAVAILABLE,
    errors.KeyFileError: grpc.StatusCode.INVALID_ARGUMENT,
}

_ERROR_OF: dict[grpc.StatusCode, type[errors.EvalfedError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidInputError,
    grpc.StatusCode.FAILED_PRECONDITION: errors.ConflictError,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: errors.AuthenticationError,
    grpc.StatusCode.NOT_FOUND: errors.NotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.LimitError,
    grpc.StatusCode.UNAVAILABLE: errors.UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.UnavailableError,
}

HEAD_SEQ = "evalfed-head-seq"
HEAD_ID = "evalfed-head-id"
RETRY_AFTER_MS = "evalfed-retry-after-ms"


def code_of(error: errors.EvalfedError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in CODE_OF:
            return CODE_OF[cls]
    return grpc.StatusCode.INTERNAL


def error_of(exc: grpc.RpcError, address: str) -> errors.EvalfedError:
    """The evalfed error a failed call stands for, with the node's own message."""
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    detail = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    if code == grpc.StatusCode.UNAVAILABLE:
        return errors.UnavailableError(
            f"cannot reach the node at {address}: {detail}; is it running (`evalfed node run`)?"
        )
    if code == grpc.StatusCode.FAILED_PRECONDITION and isinstance(exc, grpc.Call):
        trailers = dict(exc.trailing_metadata() or ())
        head_seq = int(str(trailers.get(HEAD_SEQ, "0")) or 0)
        return errors.ConflictError(detail or "", head_seq, str(trailers.get(HEAD_ID, "")))
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and isinstance(exc, grpc.Call):
        trailers = dict(exc.trailing_metadata() or ())
        if RETRY_AFTER_MS in trailers:
            retry_after_s = int(str(trailers[RETRY_AFTER_MS])) / 1000
            return errors.RateLimitError(detail or "", retry_after_s)
    cls = _ERROR_OF.get(code, errors.EvalfedError)
    return cls(detail or f"the node answered {code.name}")

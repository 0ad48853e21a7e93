"""The error hierarchy: one base, one subclass per way things go wrong.

The server maps each subclass to one gRPC status in a single interceptor; the CLI prints
`str(error)` as one line. Messages say what was wrong and what to do, and never carry key
material.
"""


class EvalfedError(Exception):
    """Base of every error evalfed raises on purpose."""


class InvalidInputError(EvalfedError):
    """The input is malformed or incomplete."""


class KeyFileError(EvalfedError):
    """A key file is missing, unreadable, too open, or of the wrong kind."""


class SignatureError(EvalfedError):
    """A signature does not verify, or an envelope is not signed as required."""


class UnknownSignerError(EvalfedError):
    """The signing key is not an active key of the institute it claims."""


class AuthenticationError(EvalfedError):
    """The caller did not prove who it is."""


class PermissionDeniedError(EvalfedError):
    """The caller is known but may not do this."""


class ConflictError(EvalfedError):
    """The request does not fit the current state (e.g. a stale log head). `ahead`: a record
    starts beyond its lane's head, which a batch still on its way may fill."""

    def __init__(
        self, message: str, head_seq: int = 0, head_id: str = "", ahead: bool = False
    ) -> None:
        super().__init__(message)
        self.head_seq = head_seq
        self.head_id = head_id
        self.ahead = ahead


class ChainError(EvalfedError):
    """A record does not extend its origin's log (seq gap or prev mismatch)."""


class NotFoundError(EvalfedError):
    """The requested record or object does not exist (or is not visible)."""


class LimitError(EvalfedError):
    """A named limit (message size, batch size, rate) was exceeded."""


class RateLimitError(LimitError):
    """The caller is over its request rate; it may retry after `retry_after_s`."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class UnavailableError(EvalfedError):
    """A node could not be reached."""


class ProofError(SignatureError):
    """A Merkle inclusion or consistency proof does not verify: the leaf, the proof or the
    tree head is not the log's, or the log showed two histories."""

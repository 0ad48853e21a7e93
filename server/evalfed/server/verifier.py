"""Checking many envelopes at once on a small thread pool (Ed25519 checks release the GIL),
shared by publishing and by every partner link."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from evalfed.core.checks import VerifiedRecord, check_envelope, decode_envelope
from evalfed.core.errors import EvalfedError
from evalfed.core.membership import Membership
from evalfed.v1.envelope_pb2 import Envelope

VERIFY_THREADS = 2
"""Signature-checking threads (the machine's cores; Ed25519 checks release the GIL)."""

Checked = VerifiedRecord | tuple[str, str]
"""A verified record, or ('?', 'reason: message') for one that failed its checks."""


def _reason(exc: EvalfedError) -> str:
    return type(exc).__name__.removesuffix("Error").lower()


class Verifier:
    """Checks envelopes against the membership, in order-keeping parallel chunks."""

    def __init__(self, membership: Membership, threads: int = VERIFY_THREADS) -> None:
        self.membership = membership
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="verify")

    def _check_chunk(self, chunk: Sequence[bytes | Envelope]) -> list[Checked]:
        out: list[Checked] = []
        for item in chunk:
            try:
                if isinstance(item, bytes):
                    out.append(check_envelope(decode_envelope(item), self.membership, item))
                else:
                    out.append(check_envelope(item, self.membership))
            except EvalfedError as exc:
                out.append(("?", f"{_reason(exc)}: {exc}"))
        return out

    def submit(self, items: Sequence[bytes | Envelope]) -> list[Future[list[Checked]]]:
        """Starts checking `items`; the futures' results, concatenated, keep their order."""
        size = max(1, -(-len(items) // self.threads))
        return [
            self.pool.submit(self._check_chunk, items[i : i + size])
            for i in range(0, len(items), size)
        ]

    @staticmethod
    def results(futures: list[Future[list[Checked]]]) -> list[Checked]:
        return [item for future in futures for item in future.result()]

    def check(self, items: Sequence[bytes | Envelope]) -> list[Checked]:
        return self.results(self.submit(items))

    def check_all(self, envelopes: Sequence[Envelope]) -> list[VerifiedRecord]:
        """Every envelope verified, or the first one's error raised (for a publish)."""
        out = []
        for envelope, checked in zip(envelopes, self.check(envelopes), strict=True):
            if isinstance(checked, VerifiedRecord):
                out.append(checked)
            else:
                check_envelope(envelope, self.membership)  # raises the error with its class
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True)

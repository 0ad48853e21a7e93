"""Witnessing, both sides (C2SP tlog-witness add-checkpoint semantics, over gRPC).

The witness (`Witness.cosign`) cosigns a checkpoint of a log that the caller and it may both
see, signed by the origin's node key (its binding checked against membership), when it is
consistent with the last checkpoint of that log it cosigned: the caller names that size
(`old_size`; a wrong one is FAILED_PRECONDITION with the witness's size, as C2SP's 409) and
proves consistency from it. A checkpoint of the same size with another root is refused and
kept as split-view evidence; one whose root differs from this node's own tree of that log is
refused. The origin (`CosignRequester`) asks each partner in the log's audience after
signing, attaches the cosignatures to its stored checkpoint and gossips the result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import grpc

from evalfed.client.status import HEAD_SEQ
from evalfed.core import tlog
from evalfed.core.binding import node_key_of, verify_binding
from evalfed.core.checkpoints import witness_cosigner, witness_verifier
from evalfed.core.errors import (
    AuthenticationError,
    ConflictError,
    EvalfedError,
    LimitError,
    ProofError,
    SignatureError,
)
from evalfed.core.limits import (
    CHECKPOINT_REFRESH_S,
    COSIGN_RETRY_FIRST_S,
    COSIGN_TIMEOUT_S,
    MAX_PROOF_HASHES,
)
from evalfed.core.membership import Membership
from evalfed.core.note import NoteSignature, parse_note, parse_signature_line
from evalfed.core.records import LogKey
from evalfed.core.witness import SAME_SIZE, checkpoint_key, open_checkpoint_note, split_view
from evalfed.server.identity import NodeIdentity
from evalfed.server.storage.store import Viewer, log_name
from evalfed.server.storage.tlog_store import StoredCheckpoint, TlogStore
from evalfed.server.storage.witness_store import WitnessStore
from evalfed.server.sync.puller import OpenPartner
from evalfed.server.witness import CheckpointBook, require_visible, with_binding
from evalfed.v1.envelope_pb2 import CheckpointNote, Envelope
from evalfed.v1.node_pb2 import CosignRequest, CosignResponse
from evalfed.v1.node_pb2_grpc import NodeStub

log = logging.getLogger("evalfed.witness")


class Witness:
    """This node as a witness of the logs it may see."""

    def __init__(
        self,
        identity: NodeIdentity,
        membership: Membership,
        book: CheckpointBook,
        trees: TlogStore,
        witnesses: WitnessStore,
    ) -> None:
        self.identity = identity
        self.membership = membership
        self.book = book
        self.trees = trees
        self.witnesses = witnesses
        self._lock = threading.Lock()
        """One cosigning at a time: the witness state moves only forward."""

    def cosign(self, request: CosignRequest, viewer: Viewer) -> CosignResponse:
        if viewer.institute is None:
            raise AuthenticationError("cosigning needs a member's signed call (--key KEYFILE)")
        if len(request.consistency) > MAX_PROOF_HASHES:
            raise LimitError(
                f"a consistency proof has at most {MAX_PROOF_HASHES} hashes (MAX_PROOF_HASHES), "
                f"not {len(request.consistency)}"
            )
        key = checkpoint_key(request.checkpoint.note, self.membership.federation_id)
        require_visible(self.book, viewer, key)
        opened = open_checkpoint_note(request.checkpoint, self.membership)
        name = log_name(key)
        with self._lock:
            state = self.witnesses.cosigned(key)
            known = 0 if state is None else state.size
            if request.old_size != known:
                raise ConflictError(
                    f"this witness last cosigned {name} at size {known}, not {request.old_size}: "
                    "ask again from that size, with a consistency proof from it",
                    known,
                )
            if state is not None:
                if opened.size < state.size:
                    raise ConflictError(
                        f"the checkpoint of {name} has {opened.size} leaves, fewer than the "
                        f"{state.size} this witness cosigned: a log only grows",
                        known,
                    )
                if opened.size == state.size and opened.root != state.root:
                    cosigned = open_checkpoint_note(state.message, self.membership)
                    self.book.witnesses.add_split_view(split_view(cosigned, opened, SAME_SIZE))
                    raise ConflictError(
                        f"the checkpoint of {name} has the size this witness cosigned, "
                        f"{state.size}, with another root: the origin showed two histories, "
                        "and both are kept as evidence",
                        known,
                    )
                if opened.size > state.size:
                    try:
                        tlog.verify_consistency(
                            state.size,
                            opened.size,
                            list(request.consistency),
                            state.root,
                            opened.root,
                        )
                    except ProofError as exc:
                        raise ProofError(
                            f"the consistency proof of {name} from size {state.size} to "
                            f"{opened.size} does not verify: {exc}"
                        ) from None
            if self.trees.size(key) >= opened.size > 0:
                _, reader = self.trees.reader(key)
                if tlog.tree_hash(opened.size, reader) != opened.root:
                    raise ConflictError(
                        f"the checkpoint of {name} at size {opened.size} does not match the "
                        "records of that log held here",
                        known,
                    )
            cosigner = witness_cosigner(
                self.membership.federation_id, self.identity.institute, self.identity.key
            )
            signature = cosigner.cosign(opened.signed.note.text, int(time.time()))
            note = opened.signed.note.with_signature(signature).to_bytes()
            cosigned_message = CheckpointNote(
                note=note, bindings=[*opened.bindings, self.identity.binding]
            )
            self.witnesses.keep_cosigned(key, opened.size, opened.root, cosigned_message)
        proved = (known, opened.size, list(request.consistency))
        self.book.take(cosigned_message, lambda _key, old, new: _given(proved, old, new))
        return CosignResponse(cosignature=signature.line(), witness_binding=self.identity.binding)


class CosignRequester:
    """The origin's side: after a checkpoint is signed, asks each partner in the log's
    audience to cosign it (in its own thread), attaches the cosignatures it gets to the
    stored checkpoint, and hands the result to the book for gossip."""

    def __init__(
        self,
        identity: NodeIdentity,
        membership: Membership,
        book: CheckpointBook,
        trees: TlogStore,
        partners: Callable[[], list[str]],
        open_stub: OpenPartner,
    ) -> None:
        self.identity = identity
        self.membership = membership
        self.book = book
        self.trees = trees
        self.partners = partners
        self.open_stub = open_stub
        self.believed: dict[tuple[str, LogKey], int] = {}
        """What each partner was last seen to have cosigned of each log."""
        self._due: set[LogKey] = set()
        self._retry: dict[LogKey, tuple[float, float]] = {}
        """Logs some partner did not cosign: when to ask again, and the wait after that."""
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cosign requests", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=COSIGN_TIMEOUT_S * 2)

    def signed(self, key: LogKey, note: bytes) -> None:
        """The signer's hook: a checkpoint of `key` was just signed."""
        self.book.take(with_binding(note, self.identity.binding))
        with self._wake:
            self._due.add(key)
            self._wake.notify_all()

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Blocks until `done()` holds, checked after each round of requests (or the
        timeout)."""
        with self._wake:
            return self._wake.wait_for(done, timeout=timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                retry_at = min((at for at, _ in self._retry.values()), default=None)
                wait_s = None if retry_at is None else max(0.0, retry_at - time.monotonic())
                self._wake.wait_for(lambda: bool(self._due) or self._stop.is_set(), wait_s)
                due, self._due = self._due, set()
            now = time.monotonic()
            due |= {key for key, (at, _) in self._retry.items() if at <= now}
            try:
                missed = self.ask_round(sorted(due))
            except Exception:
                log.exception("asking for cosignatures failed")
                missed = dict.fromkeys(due, 1)
            for key in due:
                self._reschedule(key, missed.get(key, 0))
            with self._wake:
                self.rounds += 1
                self._wake.notify_all()

    def _reschedule(self, key: LogKey, missed: int) -> None:
        if not missed:
            self._retry.pop(key, None)
            return
        _, wait_s = self._retry.get(key, (0.0, COSIGN_RETRY_FIRST_S))
        self._retry[key] = (time.monotonic() + wait_s, min(2 * wait_s, CHECKPOINT_REFRESH_S))

    def ask_round(self, keys: list[LogKey]) -> dict[LogKey, int]:
        """Asks every partner in each log's audience, over one connection per partner, for a
        cosignature of the log's stored checkpoint; per log, how many did not cosign."""
        stored = {key: c for key in keys if (c := self.trees.checkpoint(key)) is not None}
        notes = {key: parse_note(c.note) for key, c in stored.items()}
        bindings = {key: [self.identity.binding] for key in stored}
        missed = dict.fromkeys(stored, 0)
        for address in self.partners():
            if self._stop.is_set():
                break
            try:
                channel, stub, institute = self.open_stub(address)
            except (grpc.RpcError, EvalfedError) as exc:
                log.info("cannot ask %s for cosignatures: %s", address, _reason(exc))
                missed = {key: count + 1 for key, count in missed.items()}
                continue
            try:
                for key, checkpoint in stored.items():
                    try:
                        answer = self._ask(stub, address, institute, key, checkpoint)
                    except (grpc.RpcError, EvalfedError) as exc:
                        log.info("%s did not cosign %s: %s", address, log_name(key), _reason(exc))
                        missed[key] += 1
                        continue
                    if answer is not None:
                        notes[key] = notes[key].with_signature(answer[0])
                        bindings[key].append(answer[1])
            finally:
                channel.close()
        for key, checkpoint in stored.items():
            if len(bindings[key]) > 1:
                cosigned = notes[key].to_bytes()
                latest = self.trees.checkpoint(key)
                if latest is not None and latest.size == checkpoint.size:
                    self.trees.keep_checkpoint(key, checkpoint.size, cosigned)
                self.book.take(CheckpointNote(note=cosigned, bindings=bindings[key]))
        return missed

    def _ask(
        self,
        stub: NodeStub,
        address: str,
        institute: str | None,
        key: LogKey,
        checkpoint: StoredCheckpoint,
    ) -> tuple[NoteSignature, Envelope] | None:
        """One partner's cosignature of one checkpoint; None when it is no witness of it."""
        if institute is None or institute == self.identity.institute:
            return None
        if not self.book.may_see(Viewer(institute), key):
            return None  # only the log's audience witnesses it
        size = checkpoint.size
        message = with_binding(checkpoint.note, self.identity.binding)
        for _ in range(2):
            old = self.believed.get((address, key), 0)
            proof: list[bytes] = []
            if 0 < old < size:
                _, reader = self.trees.reader(key)
                proof = tlog.consistency_proof(old, size, reader)
            try:
                response = stub.Cosign(
                    CosignRequest(checkpoint=message, old_size=old, consistency=proof),
                    timeout=COSIGN_TIMEOUT_S,
                )
            except grpc.RpcError as exc:
                known = _witness_size(exc)
                if known is None or known == old or known > size:
                    raise
                self.believed[(address, key)] = known
                continue
            self.believed[(address, key)] = size
            return self._checked(response, institute, checkpoint.note)
        return None

    def _checked(
        self, response: CosignResponse, institute: str, note: bytes
    ) -> tuple[NoteSignature, Envelope]:
        try:
            binding = verify_binding(response.witness_binding, self.membership)
        except AuthenticationError as exc:
            raise SignatureError(f"the witness's binding is refused: {exc}") from None
        if binding.institute != institute:
            raise SignatureError(
                f"the cosignature comes with {binding.institute}'s binding, not {institute}'s"
            )
        signature = parse_signature_line(response.cosignature)
        verifier = witness_verifier(self.membership.federation_id, institute, node_key_of(binding))
        if (signature.name, signature.key_hash) != (verifier.name, verifier.key_hash) or not (
            verifier.verifies(parse_note(note).text, signature)
        ):
            raise SignatureError(f"{institute}'s cosignature does not verify")
        return signature, response.witness_binding


def _given(proved: tuple[int, int, list[bytes]], old: int, new: int) -> list[bytes] | None:
    """The consistency proof the caller gave, when it is the one asked for."""
    return proved[2] if (old, new) == proved[:2] else None


def _witness_size(exc: grpc.RpcError) -> int | None:
    if not isinstance(exc, grpc.Call) or exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return None
    trailers = dict(exc.trailing_metadata() or ())
    try:
        return int(str(trailers.get(HEAD_SEQ, "")))
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    if isinstance(exc, grpc.Call):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc)

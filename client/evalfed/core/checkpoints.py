"""How the federation names its logs in C2SP checkpoints, and whose key signs them. No IO.

A log (origin, lane) is the checkpoint origin `evalfed.v1/<federation id>/<origin>/<lane>`,
with `members` for the members lane: no part holds a space or a plus, and `members` is no
lane, so the line names one log. The origin institute's node signs its logs' checkpoints
(Ed25519 note signatures, type 0x01) with its node key, the key its verified NodeBinding
names, under the origin line as key name.

A member's node witnesses (cosigns, type 0x04) the logs it may see with the same node key,
under the name `evalfed.v1/<federation id>/<institute>/witness`: no log key or witness key
beyond the node key its binding names is needed.
"""

from __future__ import annotations

from evalfed.core.errors import InvalidInputError
from evalfed.core.names import check_institute_id
from evalfed.core.note import SIG_COSIGNATURE_V1, Cosigner, NoteSigner, NoteVerifier
from evalfed.core.records import MEMBERS_LANE, LogKey, check_lane
from evalfed.keys import PrivateKey, PublicKey

ORIGIN_PREFIX = "evalfed.v1"
MEMBERS_LANE_NAME = "members"
WITNESS_NAME = "witness"


def log_origin(federation_id: str, key: LogKey) -> str:
    institute, lane = key
    return f"{ORIGIN_PREFIX}/{federation_id}/{institute}/{lane or MEMBERS_LANE_NAME}"


def checkpoint_signer(federation_id: str, key: LogKey, node_key: PrivateKey) -> NoteSigner:
    return NoteSigner(log_origin(federation_id, key), node_key)


def checkpoint_verifier(federation_id: str, key: LogKey, node_key: PublicKey) -> NoteVerifier:
    return NoteVerifier(log_origin(federation_id, key), node_key)


def parse_log_origin(federation_id: str, origin: str) -> LogKey:
    """The log a checkpoint origin line of this federation names."""
    prefix = f"{ORIGIN_PREFIX}/{federation_id}/"
    institute, _, lane = origin.removeprefix(prefix).partition("/")
    if not origin.startswith(prefix) or not lane:
        raise InvalidInputError(
            f"checkpoint origin {origin[:120]!r} is not a log of this federation "
            f"({prefix}<institute>/<lane>)"
        )
    lane = MEMBERS_LANE if lane == MEMBERS_LANE_NAME else check_lane(lane)
    key = (check_institute_id(institute), lane)
    if log_origin(federation_id, key) != origin:
        raise InvalidInputError(f"checkpoint origin {origin[:120]!r} is not in canonical form")
    return key


def witness_name(federation_id: str, institute: str) -> str:
    return f"{ORIGIN_PREFIX}/{federation_id}/{institute}/{WITNESS_NAME}"


def witness_cosigner(federation_id: str, institute: str, node_key: PrivateKey) -> Cosigner:
    return Cosigner(witness_name(federation_id, institute), node_key)


def witness_verifier(federation_id: str, institute: str, node_key: PublicKey) -> NoteVerifier:
    return NoteVerifier(witness_name(federation_id, institute), node_key, SIG_COSIGNATURE_V1)

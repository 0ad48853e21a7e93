"""How the federation names its logs in C2SP checkpoints, and whose key signs them. No IO.

A log (origin, lane) is the checkpoint origin `evalfed.v1/<federation id>/<origin>/<lane>`,
with `members` for the members lane: no part holds a space or a plus, and `members` is no
lane, so the line names one log. The origin institute's node signs its logs' checkpoints
(Ed25519 note signatures, type 0x01) with its node key, the key its verified NodeBinding
names, under the origin line as key name.
"""

from __future__ import annotations

from evalfed.core.note import NoteSigner, NoteVerifier
from evalfed.core.records import LogKey
from evalfed.keys import PrivateKey, PublicKey

ORIGIN_PREFIX = "evalfed.v1"
MEMBERS_LANE_NAME = "members"


def log_origin(federation_id: str, key: LogKey) -> str:
    institute, lane = key
    return f"{ORIGIN_PREFIX}/{federation_id}/{institute}/{lane or MEMBERS_LANE_NAME}"


def checkpoint_signer(federation_id: str, key: LogKey, node_key: PrivateKey) -> NoteSigner:
    return NoteSigner(log_origin(federation_id, key), node_key)


def checkpoint_verifier(federation_id: str, key: LogKey, node_key: PublicKey) -> NoteVerifier:
    return NoteVerifier(log_origin(federation_id, key), node_key)

"""Every named limit the federation enforces, in one place so messages can quote them."""

MAX_PAYLOAD_BYTES = 1 << 20
"""A record's signed payload."""

MAX_SIGNATURES = 8
"""Signatures on one envelope."""

MAX_PUBLISH_BATCH = 5000
"""Envelopes in one Publish call, stored in one transaction. Record ids and result digests
are hashes, so each record's index entries land on random pages, and a transaction writes
each page it touched once: at 500,000 records, a node's main process took 64 µs a record in
5,000-record transactions against 90 in 1,000-record ones."""

MAX_MESSAGE_BYTES = 16 << 20
"""One gRPC message, either way."""

MAX_FIND_DIGESTS = 10_000
"""Result digests in one FindExisting call."""

MAX_METRICS = 10_000
"""Metrics across all scores of one result."""

MAX_TEXT = 4096
"""Characters in one name, id or short text field."""

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
"""Records in one Query page."""

SYNC_BATCH_RECORDS = 500
SYNC_BATCH_BYTES = 1 << 20
"""A sync batch closes at whichever of these it reaches first."""

RATE_PER_CALLER = 200.0
RATE_BURST = 400
"""Calls a second each caller (institute, or anonymous address) may make, on average and at once."""

# --- sync gaps ---
MAX_GAP_RANGES = 64
"""Ranges of seqs held past a gap that one cursor names, and missing ranges status shows, per
log. A cursor naming more is refused; a node holding more names the first ones, and what the
partner then sends again is skipped as duplicates."""

MAX_FORK_RIVALS = 2
"""Records kept at one (origin, lane, seq) besides the first: two signed records at one seq
prove a fork, and more add nothing but storage; further ones are rejected ("forklimit")."""

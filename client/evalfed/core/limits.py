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

# --- records published per caller ---
RECORD_RATE_PER_CALLER = 30_000.0
RECORD_BURST = 60_000
"""Records a second each caller may publish, on average and at once, counted before any of
them is checked: about what two cores verify (31,000 signatures/s), twice a pipelined
publisher's 10,000+ records/s, and a burst of twelve full batches (MAX_PUBLISH_BATCH)."""

# --- lanes, pages, join requests, streams ---

MAX_LANES_PER_ORIGIN = 256
"""Lanes (audience and embargo logs) of one origin. Every lane is a cursor in each SyncRequest
and a head in GetStatus: a cursor is at most 182 bytes (63-character origin, 64-hex id,
35-character lane, a 10-byte seq, tags), so all lanes of 193 origins at the cap (every UN
member state) take 193 * 256 * 182 = 9.0 MB, under MAX_MESSAGE_BYTES (16.8 MB)."""

EMBARGO_GRANULARITY_S = 3600
"""An embargo ends on a whole hour (UTC): one lane per audience and hour, not per instant."""

MAX_STATUS_PAGE = 1000
"""Logs in one GetStatus page (0 asks for this many). A head is at most 184 bytes, so a page
is 184 KB for the node and as much again for each partner shown: 80 partners fit 16 MiB."""

MAX_MEMBERS_PAGE = 100
"""Members and pending requests in one ListMembers page (0 asks for this many). A pending
request carries its envelope (at most MAX_JOIN_REQUEST_BYTES = 64 KiB), so a page stays
under 100 * 65 KiB = 6.5 MB."""

MAX_JOIN_REQUEST_BYTES = 64 << 10
"""One join request envelope handed to a node."""

MAX_PEER_ADDRESS = 256
"""Characters in a partner's HOST:PORT."""

MAX_PENDING_JOIN_REQUESTS = 64
"""Join requests handed to one node and not yet admitted, from everyone together."""

MAX_PENDING_PER_INSTITUTE = 4
"""Join requests not yet admitted that claim one institute id (a newcomer retrying, or
replacing a lost key, needs a few; more is a flood)."""

PENDING_JOIN_TTL_S = 30 * 24 * 3600
"""A handed-in join request no member endorsed is dropped after this long, freeing its slot."""

JOIN_REQUESTS_PER_HOUR = 10.0
JOIN_REQUEST_BURST = 5
"""SubmitJoinRequest calls an hour from one caller (address), on average and at once."""

MAX_STREAMS_PER_INSTITUTE = 4
"""Sync streams one institute may hold open at a node: its node's link, the link's next
stream while the old one winds down, and a person or two following."""

MAX_STREAMS = 12
"""Sync streams open at a node at once; each holds an RPC worker, so this stays below the
node's max_workers (16 by default) and 4 workers answer unary calls whatever streams do."""

MAX_CONCURRENT_RPCS = 64
"""Calls a node runs or queues at once (gRPC maximum_concurrent_rpcs); past it a call gets
RESOURCE_EXHAUSTED at once instead of waiting behind the others."""

# --- sync gaps ---
MAX_GAP_RANGES = 64
"""Ranges of seqs held past a gap that one cursor names, and missing ranges status shows, per
log. A cursor naming more is refused; a node holding more names the first ones, and what the
partner then sends again is skipped as duplicates."""

MAX_FORK_RIVALS = 2
"""Records kept at one (origin, lane, seq) besides the first: two signed records at one seq
prove a fork, and more add nothing but storage; further ones are rejected ("forklimit")."""

# --- transparency logs: proofs and signed notes ---

MAX_PROOF_HASHES = 128
"""Hashes in one inclusion or consistency proof: no tree of fewer than 2^63 leaves needs more
(a longer proof cannot verify, and is refused before any hashing)."""

MAX_NOTE_BYTES = 64 * 1024
"""Size of one signed note (a checkpoint with its signatures and cosignatures)."""

MAX_NOTE_SIGNATURES = 100
"""Signature lines in one signed note (C2SP signed-note asks verifiers to accept at least 16;
Go's sumdb/note stops at 100)."""

MAX_TLOG_PROOF_BYTES = MAX_NOTE_BYTES + 16 * 1024
"""Size of one tlog-proof text: its signed checkpoint, plus room for the proof lines
(MAX_PROOF_HASHES lines of 45 bytes) and some extra data."""

# --- partners' status pages ---

MAX_STATUS_PAGES_READ = 50
"""GetStatus pages a node reads of a partner at each connect, for the heads it claims (lag):
50 * MAX_STATUS_PAGE = 50,000 logs, all lanes of 193 origins at MAX_LANES_PER_ORIGIN (49,408).
Claims past them are not counted."""

# --- transparency logs: trees and checkpoints ---

TLOG_INDEX_PAGE = 1000
"""Records the tree indexer reads, and leaves it appends to one tree, per transaction: its
transactions stay short next to the appends it follows."""

CHECKPOINT_MIN_INTERVAL_S = 1.0
"""Time between two checkpoints the node signs of one of its logs: a log that grows faster
gets one checkpoint per interval, of its size then."""

# --- log trees' cost ---

TLOG_BURST = 1000
"""Records waiting for the tree indexer that make a burst (a catch-up, a batch publish): it
waits for the burst to end (see TLOG_SETTLE_S), and the trees grow after it."""

TLOG_SETTLE_S = 1.0
"""How long the tree indexer waits after an append before it grows the trees, so that records
that trickle in are indexed together and none waits for tree work on its way. After a burst it
waits for a quiet time of at least this, and of twice the longest gap between the burst's
appends (a catch-up commits up to 20,000 records at once)."""

TLOG_MAX_DEFER_S = 60.0
"""The longest the tree indexer waits for a burst to end: under steady heavy load the trees
still grow at least once a minute, and checkpoints trail by at most about that."""

# --- witness policies (evalfed verify --witness-policy) ---

MAX_POLICY_BYTES = 64 * 1024
"""Size of a witness policy file."""

MAX_POLICY_NAMES = 256
"""Witnesses and groups one witness policy defines."""

# --- dash: the comparison pivot and the web dashboard ---

DASHBOARD_MAX_RECORDS = 20_000
"""Result and correction records one dashboard page reads and checks (about 1.5 s of signature
checks on one core); past it the page asks to pick a model or a task."""

# --- witness: checkpoint gossip, cosigning, split-view and lag evidence ---

CHECKPOINT_REFRESH_S = 300.0
"""How often the origin re-signs the checkpoint of a log that has not grown and asks its
witnesses to cosign it again: the cosignatures' times then show the checkpoint is fresh (a
checkpoint's text holds no time, so a re-signed idle checkpoint is the same note)."""

MAX_GOSSIP_CHECKPOINTS = 200
"""Checkpoints one SyncBatch carries (one per log the caller may see; more go in further
batches); a batch with more is refused."""

MAX_GOSSIP_SPLIT_VIEWS = 100
"""Split-view evidence pairs one SyncBatch carries; a batch with more is refused."""

MAX_SPLIT_VIEWS_PER_LOG = 8
"""Split-view evidence pairs a node keeps of one log: one pair proves the origin
equivocated; past this, more of them are counted, not kept."""

MAX_CHECKPOINT_BINDINGS = MAX_NOTE_SIGNATURES
"""Node bindings travelling with one checkpoint: one for each signature a note may hold (the
origin's and its cosigners')."""

COSIGN_TIMEOUT_S = 10.0
"""How long the origin waits for one partner's cosignature."""

COSIGN_RETRY_FIRST_S = 1.0
"""After a partner in a log's audience did not cosign (down, or it does not hold the log's
records yet, so cannot tell it is in the audience), the origin asks again after this long,
doubling up to CHECKPOINT_REFRESH_S."""

# --- treecost: the tree indexer's wait for a burst to end ---

TLOG_BURST_GAP_MAX_S = 10.0
"""The longest time between the append before a burst's first and that first append that the
tree indexer still counts as a gap within the burst (the burst then ends after a quiet time of
twice the longest gap): a catch-up at 2,000 records/s commits its 20,000-record transactions
10 s apart, and a burst on an idle node waits at most 2 * 10 s for its end."""

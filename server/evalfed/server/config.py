"""A node's configuration: `node.toml` in its data folder, then `EVALFED_*` overrides."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

from evalfed.core.errors import InvalidInputError
from evalfed.core.limits import (
    CHECKPOINT_REFRESH_S,
    JOIN_REQUEST_BURST,
    JOIN_REQUESTS_PER_HOUR,
    MAX_CONCURRENT_RPCS,
    MAX_LANES_PER_ORIGIN,
    MAX_STREAMS,
    RATE_BURST,
    RATE_PER_CALLER,
    RECORD_BURST,
    RECORD_RATE_PER_CALLER,
)

CONFIG_FILE = "node.toml"
CHARTER_FILE = "federation.json"
DEFAULT_LISTEN = "127.0.0.1:7700"
LOG_FORMATS = ("text", "json")


@dataclass
class NodeConfig:
    """Everything a node needs to start; paths are relative to `data_dir` unless absolute."""

    data_dir: Path
    institute: str
    listen: str = DEFAULT_LISTEN
    database_url: str = ""
    insecure: bool = False
    max_workers: int = 16
    log_level: str = "INFO"
    rate_per_caller: float = RATE_PER_CALLER
    rate_burst: int = RATE_BURST
    record_rate_per_caller: float = RECORD_RATE_PER_CALLER
    record_burst: int = RECORD_BURST
    max_streams: int = MAX_STREAMS
    max_concurrent_rpcs: int = MAX_CONCURRENT_RPCS
    max_lanes_per_origin: int = MAX_LANES_PER_ORIGIN
    join_requests_per_hour: float = JOIN_REQUESTS_PER_HOUR
    join_request_burst: int = JOIN_REQUEST_BURST
    log_trees: bool = True
    """Keep each log's Merkle tree, sign checkpoints of this institute's logs and witness the
    partners' (GetCheckpoint, GetProof, Cosign, tlog-proofs in bundles). On by default: with
    the trees in tiles and the indexer waiting for bursts to end, alternating `make bench`
    runs (2026-12-04) kept catchup_ratio and publish_ratio within 10% of trees off (means
    on/off 0.99 and 0.92, 1.16 and 1.00); propagation p50 was 11-12% higher, about 1.5 ms
    (docs/transparency.md, item 0). `log_trees = false` turns them off."""
    checkpoint_refresh_s: float = CHECKPOINT_REFRESH_S
    """How often an idle log's checkpoint is signed again and its witnesses asked to cosign it
    again (their cosignature times show it is fresh)."""
    metrics_listen: str = ""
    """HOST:PORT to serve Prometheus metrics on (http://HOST:PORT/metrics); empty: none.
    Off by default: the endpoint has no authentication and names partners and institutes,
    and a fixed default port would collide between nodes on one host."""
    log_format: str = "text"
    """'text' (one line per event) or 'json' (one JSON object per line, for log shippers)."""

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise InvalidInputError(
                f"log_format {self.log_format!r}: use one of {', '.join(LOG_FORMATS)}"
            )

    @property
    def charter_path(self) -> Path:
        return self.data_dir / CHARTER_FILE

    def database(self) -> str:
        """The SQLAlchemy URL: the configured one, or SQLite (WAL) in the data folder."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'node.db').resolve()}"

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "data_dir"}
        path = self.data_dir / CONFIG_FILE
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(tomli_w.dumps(data))

    @classmethod
    def load(cls, data_dir: Path | str, env: dict[str, str] | None = None) -> NodeConfig:
        """Reads `node.toml`; EVALFED_LISTEN, EVALFED_DATABASE_URL, EVALFED_LOG_LEVEL,
        EVALFED_LOG_FORMAT and EVALFED_METRICS_LISTEN override."""
        data_dir = Path(data_dir)
        path = data_dir / CONFIG_FILE
        try:
            data: dict[str, Any] = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise InvalidInputError(
                f"{data_dir} is not a node data folder (no {CONFIG_FILE}); "
                "create one with `evalfed node init`"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None
        env = dict(os.environ) if env is None else env
        overrides = {
            "listen": env.get("EVALFED_LISTEN"),
            "database_url": env.get("EVALFED_DATABASE_URL"),
            "log_level": env.get("EVALFED_LOG_LEVEL"),
            "log_format": env.get("EVALFED_LOG_FORMAT"),
            "metrics_listen": env.get("EVALFED_METRICS_LISTEN"),
        }
        data.update({k: v for k, v in overrides.items() if v})
        known = {f for f in cls.__dataclass_fields__ if f != "data_dir"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"{path}: unknown setting(s) {', '.join(unknown)}")
        return cls(data_dir=data_dir, **data)

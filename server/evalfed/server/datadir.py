"""Preparing a node's data folder: config, the checked charter, the migrated database, partners."""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterable
from pathlib import Path

from evalfed.core.charter import VerifiedCharter
from evalfed.core.codec import to_json
from evalfed.core.errors import InvalidInputError
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.config import CONFIG_FILE, NodeConfig
from evalfed.server.identity import create_identity
from evalfed.server.storage.engine import make_engine, migrate
from evalfed.server.storage.schema import peers

log = logging.getLogger(__name__)

OWNER_ONLY = 0o077
"""Permission bits a data folder and its files must not have: none for group or others (the
database, its WAL, the node's TLS key, and node.toml, which may hold a database password)."""


def tighten_data_dir(data_dir: Path) -> list[Path]:
    """Takes group and other permissions off the data folder and everything in it (0700
    folders, 0600 files); returns the paths that had them."""
    loose: list[Path] = []
    if not data_dir.is_dir():
        return loose
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & OWNER_ONLY:
            path.chmod(mode & ~OWNER_ONLY)
            loose.append(path)
    return loose


def tighten_at_start(data_dir: Path) -> None:
    """At node start: a data folder made before its files were owner-only is tightened."""
    loose = tighten_data_dir(data_dir)
    if loose:
        log.warning(
            "took group and other permissions off %d path(s) of the data folder %s "
            "(now 0700 folders, 0600 files): %s",
            len(loose),
            data_dir,
            ", ".join(p.name for p in loose[:10]),
        )


def prepare_data_dir(
    config: NodeConfig, charter: VerifiedCharter, key: PrivateKey, partners: Iterable[str] = ()
) -> None:
    """Writes a new data folder for `config`; `key` (a founder's key in the charter, or a
    newcomer's key it has asked to register) signs the node's binding and is not stored."""
    if (config.data_dir / CONFIG_FILE).exists():
        raise InvalidInputError(
            f"{config.data_dir} is already a node data folder; refusing to overwrite"
        )
    founders = charter.founder_keys()
    if config.institute in founders and founders[config.institute].key_id != key.public.key_id:
        raise InvalidInputError(
            f"the key given is not {config.institute}'s key in the charter; "
            "use the institute's own key file"
        )
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    config.data_dir.chmod(0o700)
    config.charter_path.write_text(to_json(charter.envelope))
    config.save()
    create_identity(config.data_dir, config.institute, key, charter.federation_id, config.listen)
    engine = make_engine(config.database())
    try:
        migrate(engine)
        with engine.begin() as conn:
            for address in dict.fromkeys(partners):
                conn.execute(peers.insert().values(address=address, added_at_us=now_us()))
    finally:
        engine.dispose()
    tighten_data_dir(config.data_dir)

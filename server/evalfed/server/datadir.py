"""Preparing a node's data folder: config, the checked charter, the migrated database, partners."""

from __future__ import annotations

from collections.abc import Iterable

from evalfed.core.charter import VerifiedCharter
from evalfed.core.codec import to_json
from evalfed.core.errors import InvalidInputError
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey
from evalfed.server.config import CONFIG_FILE, NodeConfig
from evalfed.server.identity import create_identity
from evalfed.server.storage.engine import make_engine, migrate
from evalfed.server.storage.schema import peers


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
    config.data_dir.mkdir(parents=True, exist_ok=True)
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

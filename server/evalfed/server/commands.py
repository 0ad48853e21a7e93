"""The `evalfed node` commands: preparing a data folder and running the node."""

from __future__ import annotations

import argparse
from pathlib import Path

from evalfed.client.cli_common import read_charter
from evalfed.core.charter import verify_charter
from evalfed.core.codec import envelope_from_json
from evalfed.core.errors import KeyFileError
from evalfed.core.names import check_institute_id
from evalfed.keys import load_private_key
from evalfed.server.app import serve
from evalfed.server.config import NodeConfig
from evalfed.server.datadir import prepare_data_dir
from evalfed.server.logs import configure_logging


def node_init(args: argparse.Namespace) -> int:
    data_dir = Path(args.dir)
    charter_text = read_charter(args.federation)
    charter = verify_charter(envelope_from_json(charter_text, "the federation charter"))
    config = NodeConfig(
        data_dir=data_dir,
        institute=check_institute_id(args.institute),
        listen=args.listen,
        database_url=args.database,
        insecure=args.insecure,
    )
    try:
        key = load_private_key(args.key)
    except KeyFileError as exc:
        raise KeyFileError(
            f"{exc}. node init needs the institute's private key once, to sign the node's "
            "binding (the key is not copied)"
        ) from None
    prepare_data_dir(config, charter, key, args.peer)
    print(f"node data folder {data_dir} ready for {config.institute}")
    print(f"start it with: evalfed node run {data_dir}")
    return 0


def node_run(args: argparse.Namespace) -> int:
    config = NodeConfig.load(args.dir)
    configure_logging(config.log_level, config.log_format)
    serve(config, args.end_with)
    return 0

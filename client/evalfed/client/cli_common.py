"""What every `evalfed` command shares: consoles, reaching the node, reading the charter."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from rich.console import Console

from evalfed.client.node_client import NodeClient
from evalfed.core.charter import verify_charter
from evalfed.core.codec import envelope_from_json, to_dict
from evalfed.core.errors import InvalidInputError
from evalfed.core.membership import Membership
from evalfed.keys import load_private_key

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal:
    out.width = 200
err = Console(stderr=True, highlight=False, soft_wrap=True)

Handler = Callable[[argparse.Namespace], int]


def node_address(args: argparse.Namespace) -> str:
    node = args.node or os.environ.get("EVALFED_NODE", "")
    if not node:
        raise InvalidInputError("which node? pass --node HOST:PORT or set EVALFED_NODE")
    return str(node)


def connect(args: argparse.Namespace, need_key: bool = True) -> NodeClient:
    """A client for --node, signing as --key (or EVALFED_NODE / EVALFED_KEY)."""
    key_path = str(args.key or os.environ.get("EVALFED_KEY", ""))
    if need_key and not key_path:
        raise InvalidInputError(
            "this needs your institute's key: pass --key KEYFILE or set EVALFED_KEY"
        )
    key = load_private_key(key_path) if key_path else None
    return NodeClient(node_address(args), key, federation=pinned_federation(args))


def pinned_federation(args: argparse.Namespace) -> Membership | None:
    """The federation --federation FILE (or EVALFED_FEDERATION) names, which the node must
    serve; None when neither is given (the node's own charter is then taken)."""
    path = getattr(args, "federation", None) or os.environ.get("EVALFED_FEDERATION", "")
    if not path:
        return None
    charter = envelope_from_json(read_charter(str(path)), "the federation charter")
    return Membership(verify_charter(charter))


def read_charter(path: str) -> str:
    return read_text_file(path, "the federation file")


def read_text_file(path: str, what: str) -> str:
    """A file's text; a file that cannot be read is an InvalidInputError naming `what`."""
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror}") from None


def node_args(parser: argparse.ArgumentParser, key_required: bool = True) -> None:
    parser.add_argument("--node", help="HOST:PORT of the node (or EVALFED_NODE)")
    parser.add_argument(
        "--key",
        help="your institute's private key file (or EVALFED_KEY)"
        + ("" if key_required else "; without it you see what anyone may (public records)"),
    )


def federation_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--federation",
        metavar="FILE",
        help="the charter the node must serve (or EVALFED_FEDERATION); without it the node's "
        "own charter is taken on trust",
    )


def show(message: Message, as_json: bool, render: Callable[[Console, Any], None]) -> None:
    """One protobuf answer: as a JSON line (protobuf's mapping), or rendered for people."""
    if as_json:
        out.print(json.dumps(to_dict(message)), markup=False)
    else:
        render(out, message)

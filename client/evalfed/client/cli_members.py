"""`evalfed members ...` and `evalfed keys rotate|revoke`: joining, endorsing, listing,
expelling, and rotating or revoking an institute's keys."""

from __future__ import annotations

import argparse
from pathlib import Path

from evalfed.client import membership_events, render
from evalfed.client.cli_common import (
    connect,
    err,
    federation_arg,
    node_args,
    out,
    read_charter,
    read_text_file,
    show,
)
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import publish_records
from evalfed.client.transport import connect_node
from evalfed.core.binding import sign_binding
from evalfed.core.charter import verify_charter
from evalfed.core.codec import envelope_from_json, to_json
from evalfed.core.errors import InvalidInputError
from evalfed.core.joins import join_request_id, sign_join_request, verify_join_request
from evalfed.core.names import check_institute_id
from evalfed.core.records import head_key, is_restricted, parse_record
from evalfed.core.timeutil import now_us, parse_iso_us, timestamp_of_us
from evalfed.keys import PrivateKey, PublicKey, generate_key_files, load_private_key
from evalfed.v1.envelope_pb2 import Envelope
from evalfed.v1.federation_pb2 import JoinRequest, NodeBinding
from evalfed.v1.record_pb2 import Record


def cmd_request(args: argparse.Namespace) -> int:
    """Writes a newcomer's join request, signed by its own key; with --node, hands it in too."""
    if args.federation:
        federation_id = verify_charter(
            envelope_from_json(read_charter(args.federation), "the charter")
        ).federation_id
    elif args.node:
        federation_id = connect_node(args.node).membership.federation_id
    else:
        raise InvalidInputError("which federation? pass --federation FILE (or --node ADDR)")
    key = load_private_key(args.key)
    request = JoinRequest(
        federation_id=federation_id,
        institute=check_institute_id(args.institute),
        country=args.country,
        name=args.name,
        address=args.address,
        public_key=key.public.raw,
    )
    request.issued_at.CopyFrom(timestamp_of_us(now_us()))
    envelope = sign_join_request(request, key)
    path = Path(args.out)
    if path.exists():
        raise InvalidInputError(f"{path} already exists; refusing to overwrite it")
    path.write_text(to_json(envelope))
    out.print(f"wrote join request {path} (id {join_request_id(envelope)})")
    if args.node:
        _submit(args.node, envelope)
    return 0


def _submit(address: str, envelope: Envelope) -> None:
    with NodeClient(address) as client:
        response = client.submit_join_request(envelope)
    out.print(
        f"handed to {address}: pending with {response.endorsements} of "
        f"{client.membership.threshold} endorsements"
    )


def cmd_submit(args: argparse.Namespace) -> int:
    _submit(args.node, _read_request(args.request))
    return 0


def _read_request(path: str) -> Envelope:
    return envelope_from_json(read_text_file(path, "the join request"), "the join request")


def cmd_endorse(args: argparse.Namespace) -> int:
    with connect(args) as client:
        if Path(args.request).exists():
            envelope = _read_request(args.request)
        else:
            pending = {p.id: p.request for p in client.members().pending}
            if args.request not in pending:
                raise InvalidInputError(
                    f"{args.request} is neither a join request file nor the id of a request "
                    f"pending at {client.address} (`evalfed members list` shows them)"
                )
            envelope = pending[args.request]
            if join_request_id(envelope) != args.request:
                raise InvalidInputError(
                    f"{client.address} lists under {args.request[:16]} a join request whose id "
                    f"is {join_request_id(envelope)[:16]}; not endorsing it (the node may be "
                    "hostile: get the request file from the newcomer)"
                )
        request = verify_join_request(envelope, client.federation_id)
        out.print(
            f"endorsing join request {join_request_id(envelope)}: {request.institute} "
            f"({request.name}, {request.country}) at {request.address}, "
            f"key {PublicKey(request.public_key).key_id}"
        )
        outcome = publish_records(client, [membership_events.endorsement(envelope)])[0]
        members = client.members()
    out.print(f"endorsed {request.institute}: record {outcome.id}")
    admitted = {m.institute for m in members.members}
    if request.institute in admitted:
        out.print(f"{request.institute} is admitted")
    else:
        count = max(
            (len(p.endorsed_by) for p in members.pending if p.institute == request.institute),
            default=0,
        )
        out.print(
            f"{request.institute} is pending: {count} of {client.membership.threshold} endorsements"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with connect(args, need_key=False) as client:
        show(client.members(), args.json, render.members)
    return 0


def lane_heads(client: NodeClient, origin: str) -> tuple[dict[str, int], bool]:
    """`origin`'s lane heads as the node holds them: what a rotation, revocation or expulsion
    vote names as the last records the ending key (or expelled member) signed. A restricted
    lane is named by its tag, made with the salt of its head record (read once per lane), as
    every member reads these; and True when one has no salt (begun before lane salts)."""
    heads: dict[str, int] = {}
    legacy = False
    for head in client.status().heads:
        if head.origin != origin:
            continue
        salt = b""
        if is_restricted(head.lane):
            salt = parse_record(client.get(head.id).record.envelope).lane_salt
        key = head_key(head.lane, salt)
        if key is None:
            legacy = True
        else:
            heads[key] = head.seq
    return heads, legacy


def cmd_expel(args: argparse.Namespace) -> int:
    with connect(args) as client:
        heads, legacy = lane_heads(client, check_institute_id(args.institute))
        body = membership_events.expulsion(args.institute, args.reason, heads, legacy)
        outcome = publish_records(client, [body])[0]
    out.print(f"voted to expel {args.institute}: record {outcome.id}")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Publishes, signed by the current key, a record naming the new one."""
    with connect(args) as client:
        old = client.key
        assert old is not None
        new = _new_key(args, client.institute, old)
        heads, legacy = lane_heads(client, client.institute)
        body = membership_events.rotation(
            client.federation_id, client.institute, old.key_id, new, heads, legacy
        )
        outcome = publish_records(client, [body])[0]
        out.print(
            f"rotated {client.institute}'s key {old.key_id[:16]} -> {new.key_id[:16]}: "
            f"record {outcome.id}"
        )
        _rebind(client, new)
    out.print(
        f"sign from now on with {new.path}; records signed by the old key after this are rejected"
    )
    return 0


def _rebind(client: NodeClient, key: PrivateKey) -> None:
    """Re-signs the node's binding with `key`, when the node is the institute's own."""
    if client.info.institute != client.institute:
        err.print(
            f"{client.address} is {client.info.institute}'s node; re-bind your own node with "
            "the new key (`evalfed keys rotate` or `revoke` against it)"
        )
        return
    binding = NodeBinding()
    binding.ParseFromString(client.info.node_binding.payload)
    client.update_binding(sign_binding(binding, key), signed_by=key)
    out.print(f"re-bound the node at {client.address} to key {key.key_id[:16]}")


def _new_key(args: argparse.Namespace, institute: str, old: PrivateKey) -> PrivateKey:
    if args.new_key:
        return load_private_key(args.new_key)
    folder = Path(args.out) if args.out else (old.path.parent if old.path else Path("."))
    name = f"{institute}-{now_us() // 1_000_000}"
    key = generate_key_files(name, folder)
    err.print(f"wrote the new key {folder / (name + '.key')} (mode 0600) and .pub")
    return key


def cmd_revoke(args: argparse.Namespace) -> int:
    since = parse_iso_us(args.compromised_since) if args.compromised_since else None
    with connect(args) as client:
        assert client.key is not None
        key_id = args.key_id or client.key.key_id
        heads, legacy = lane_heads(client, client.institute)
        body: Record = membership_events.revocation(key_id, args.reason, since, heads, legacy)
        outcome = publish_records(client, [body])[0]
        out.print(f"revoked key {key_id[:16]} of {client.institute}: record {outcome.id}")
        if key_id != client.key.key_id:
            _rebind(client, client.key)
    return 0


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    keys: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `members ...` to the top-level commands and `rotate`/`revoke` to `keys`."""
    members = commands.add_parser("members", help="membership: join, endorse, list, expel")
    sub = members.add_subparsers(dest="members_command", required=True, metavar="COMMAND")
    p = sub.add_parser("request", help="write a newcomer's signed join request")
    p.add_argument("--institute", required=True)
    p.add_argument("--key", required=True, help="the newcomer's private key file")
    p.add_argument("--country", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--address", required=True, help="HOST:PORT where its node will listen")
    p.add_argument("--out", required=True, help="the request file to write")
    p.add_argument("--federation", help="the charter file (or take it from --node)")
    p.add_argument("--node", help="also hand the request to this member node")
    p.set_defaults(handler=cmd_request)
    p = sub.add_parser("submit", help="hand a join request to a member node (kept as pending)")
    p.add_argument("request", metavar="REQUEST")
    p.add_argument("--node", required=True)
    p.set_defaults(handler=cmd_submit)
    p = sub.add_parser("endorse", help="publish your institute's endorsement of a request")
    p.add_argument("request", metavar="REQUEST|ID")
    node_args(p)
    p.set_defaults(handler=cmd_endorse)
    p = sub.add_parser("list", help="members, keys, and pending requests")
    node_args(p, key_required=False)
    federation_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)
    p = sub.add_parser("expel", help="vote to expel a member (a threshold of members expels)")
    p.add_argument("institute")
    node_args(p)
    p.add_argument("--reason", default="")
    p.set_defaults(handler=cmd_expel)

    p = keys.add_parser("rotate", help="replace your institute's key (signed by the old one)")
    node_args(p)
    p.add_argument("--new-key", help="the new private key file (default: generate one)")
    p.add_argument("--out", help="folder for a generated new key (default: beside --key)")
    p.set_defaults(handler=cmd_rotate)
    p = keys.add_parser("revoke", help="withdraw one of your institute's keys")
    node_args(p)
    p.add_argument("--key-id", help="the key to revoke (default: the --key key itself)")
    p.add_argument("--compromised-since", help="ISO time: records it signed since are void too")
    p.add_argument("--reason", default="")
    p.set_defaults(handler=cmd_revoke)

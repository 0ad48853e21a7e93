"""Real nodes against membership records that bend time: an endorsement signed in a key's
compromise window, a backdated expulsion vote, and records that a rotated-out key or an
expelled member backdates into fresh lanes. Honest old history still syncs to a new node."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalfed.client import membership_events as events
from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.errors import ConflictError, PermissionDeniedError
from evalfed.core.records import audience_from_text, record_id
from evalfed.core.timeutil import now_us
from evalfed.keys import PrivateKey, generate_key_files, load_private_key
from evalfed.server.storage.store import Viewer
from evalfed.v1.node_pb2 import QueryRequest
from tests.conftest import Federation, run_cli, wait_for
from tests.membership import join_request, rebind, signed_event
from tests.partners import CraftedPartner
from tests.results import result

MEMBERS = audience_from_text("")
PUBLIC = audience_from_text("public")
DAY_US = 24 * 3600 * 1_000_000
YEAR_US = 365 * DAY_US


def holds(node, id_: str) -> bool:
    return node.store.get(id_, Viewer(node.config.institute)) is not None


def void_reason(node, id_: str) -> str:
    row = node.store.get(id_, Viewer(node.config.institute))
    assert row is not None, f"{node.config.institute} does not hold {id_[:16]}"
    return str(row.void_reason)


def relay(serve_partner, node, federation: Federation, *envelopes) -> str:
    """A crafted partner serving `envelopes` to `node`, as a relay would."""
    address = serve_partner(
        CraftedPartner(federation, "jp-aisi", [[e.SerializeToString() for e in envelopes]])
    )
    with NodeClient(node.address, federation.keys[node.config.institute]) as client:
        client.update_peers([address], [])
    return address


def rotate_by_cli(capsys, us, federation: Federation, tmp_path: Path) -> PrivateKey:
    """US's key rotated by `evalfed keys rotate` to a new key written under `tmp_path`/keys."""
    new_path = tmp_path / "keys"
    generate_key_files("us-new", new_path)
    code, _, err = run_cli(
        capsys, "keys", "rotate", "--node", us.address,
        "--key", str(federation.key_path("us-aisi")), "--new-key", str(new_path / "us-new.key"),
    )  # fmt: skip
    assert code == 0, err
    return load_private_key(new_path / "us-new.key")


def test_an_endorsement_signed_in_a_compromise_window_admits_no_one(
    founders, federation: Federation
) -> None:
    us, uk = founders
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    leak = now_us() - 3_600_000_000
    request = join_request(federation, "jp-aisi", federation.keys["jp-aisi"])
    stolen = signed_event(federation, events.endorsement(request), "us-aisi", 1, "", old, leak + 1)
    with NodeClient(us.address, old) as client:
        client.publish([stolen])
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        publish_records(client, [events.endorsement(request)])
    for node in (us, uk):
        wait_for(node, lambda n=node: n.service.membership.is_member("jp-aisi"))

    fed_id = federation.charter.federation_id
    with NodeClient(us.address, old) as client:
        publish_records(client, [events.rotation(fed_id, "us-aisi", old.key_id, new, {})])
        rebind(client, new)
    # (A revocation pushed in the same breath can be checked before the rotation is applied,
    # and is then not asked for again: a sync gap, not a membership rule.)
    wait_for(uk, lambda: len(uk.service.membership.state.members["us-aisi"].keys) == 2)
    with NodeClient(us.address, new) as client:
        publish_records(client, [events.revocation(old.key_id, "stolen", leak, {})])
    for node in (us, uk):
        wait_for(node, lambda n=node: not n.service.membership.is_member("jp-aisi"))
        assert "pending admission: 1 of 2" in node.service.membership.not_member_reason("jp-aisi")
        wait_for(node, lambda n=node: void_reason(n, record_id(stolen.payload)) != "")
        assert void_reason(node, record_id(stolen.payload)).startswith("signed by key")


def test_a_backdated_expulsion_vote_does_not_void_years_of_records(
    make_node, serve_partner, federation: Federation
) -> None:
    """CA's record of two years ago stands: UK voted now, and US's vote (the last one in
    the canonical order) claims ten years ago; CA is expelled from now."""
    uk = make_node("uk-aisi")
    now = now_us()
    ca_key, us_key = federation.keys["ca-aisi"], federation.keys["us-aisi"]
    ca_record = signed_event(federation, new_result_record(result(task="old"), MEMBERS),
                             "ca-aisi", 1, "", ca_key, now - 2 * YEAR_US)  # fmt: skip
    us_vote = signed_event(federation, events.expulsion("ca-aisi", "", {"": 1}), "us-aisi",
                           1, "", us_key, now - 10 * YEAR_US)  # fmt: skip
    relay(serve_partner, uk, federation, ca_record, us_vote)
    wait_for(uk, lambda: holds(uk, record_id(us_vote.payload)))
    with NodeClient(uk.address, federation.keys["uk-aisi"]) as client:
        publish_records(client, [events.expulsion("ca-aisi", "misconduct", {"": 1})])
    assert not uk.service.membership.is_member("ca-aisi")
    assert uk.service.membership.state.members["ca-aisi"].expelled_at_us >= now
    assert void_reason(uk, record_id(ca_record.payload)) == ""


def test_ended_keys_and_expelled_members_cannot_backdate_into_fresh_lanes(
    founders, make_node, serve_partner, federation: Federation, tmp_path: Path, capsys
) -> None:
    """US rotates its key and US and UK expel CA, by the CLI. The old US key and CA's key
    then sign records dated before the rotation and the expulsion, in a lane they never used
    and past a lane's head: UK refuses them all. A new UK node syncing the honest history
    (the old key's records, the new key's, CA's from before) gets all of it."""
    us, uk = founders
    old = federation.keys["us-aisi"]
    to_uk = audience_from_text("uk-aisi")
    with NodeClient(us.address, old) as client:
        honest = [o.id for o in publish_records(client, [
            new_result_record(result(task="old-public"), PUBLIC),
            new_result_record(result(task="old-to-uk"), to_uk),
        ])]  # fmt: skip
    ca_key = federation.keys["ca-aisi"]
    ca_record = signed_event(federation, new_result_record(result(task="ca"), PUBLIC),
                             "ca-aisi", 1, "", ca_key, now_us() - DAY_US)  # fmt: skip
    relay(serve_partner, us, federation, ca_record)
    relay(serve_partner, uk, federation, ca_record)
    for node in (us, uk):
        wait_for(node, lambda n=node: holds(n, record_id(ca_record.payload)))

    new = rotate_by_cli(capsys, us, federation, tmp_path)
    new_path = tmp_path / "keys"
    for institute, node in (("us-aisi", us), ("uk-aisi", uk)):
        code, _, err = run_cli(
            capsys, "members", "expel", "ca-aisi", "--node", node.address,
            "--key", str(new_path / "us-new.key" if institute == "us-aisi"
                         else federation.key_path(institute)),
        )  # fmt: skip
        assert code == 0, err
    wait_for(uk, lambda: not uk.service.membership.is_member("ca-aisi"))
    wait_for(uk, lambda: len(uk.service.membership.state.members["us-aisi"].keys) == 2)
    with NodeClient(us.address, new) as client:
        honest += [o.id for o in publish_records(client, [
            new_result_record(result(task="new-public"), PUBLIC),
            new_result_record(result(task="new-to-uk"), to_uk),
        ])]  # fmt: skip

    before = now_us() - 30 * DAY_US
    to_jp = audience_from_text("jp-aisi")
    forged = [
        signed_event(federation, new_result_record(result(task="fresh"), to_jp),
                     "us-aisi", 1, "", old, before),
        signed_event(federation, new_result_record(result(task="past-head"), PUBLIC),
                     "us-aisi", 3, honest[2], old, before),
        signed_event(federation, new_result_record(result(task="ca-fresh"), to_jp),
                     "ca-aisi", 1, "", ca_key, before),
        signed_event(federation, new_result_record(result(task="ca-past-head"), PUBLIC),
                     "ca-aisi", 2, record_id(ca_record.payload), ca_key, before),
    ]  # fmt: skip
    with NodeClient(us.address, new) as client, pytest.raises(PermissionDeniedError):
        client.publish([forged[0]])
    attack = relay(serve_partner, uk, federation, *forged)
    wait_for(uk, lambda: uk.links.stats()[attack].rejected["unknownsigner"] == len(forged))
    assert not any(holds(uk, record_id(e.payload)) for e in forged)

    fresh = make_node("uk-aisi", peers=(us.address,))
    wait_for(fresh, lambda: all(holds(fresh, i) for i in honest))
    assert holds(fresh, record_id(ca_record.payload))
    with NodeClient(fresh.address, federation.keys["uk-aisi"]) as client:
        rows = {r.id: r for r in client.query(QueryRequest())}
    assert all(rows[i].void_reason == "" for i in [*honest, record_id(ca_record.payload)])


def test_a_rotation_naming_stale_heads_is_refused(make_node, federation: Federation) -> None:
    """Publishing between reading the heads and rotating would leave a record past the heads
    the rotation names: void here, and a break in its lane on every other node."""
    us = make_node("us-aisi")
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    fed_id = federation.charter.federation_id
    with NodeClient(us.address, old) as client:
        publish_records(client, [new_result_record(result(), PUBLIC)])
        stale = events.rotation(fed_id, "us-aisi", old.key_id, new, {"public": 0})
        with pytest.raises(ConflictError, match="names seq 0 as the last of lane public"):
            publish_records(client, [stale])
        current = events.rotation(fed_id, "us-aisi", old.key_id, new, {"public": 1})
        publish_records(client, [current])
    assert len(us.service.membership.state.members["us-aisi"].keys) == 2

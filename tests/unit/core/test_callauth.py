"""Signed calls: a member's current key proves the institute; time, key, callee, request and
signature are all checked."""

from __future__ import annotations

import pytest

from evalfed.client import membership_events as events
from evalfed.core.callauth import (
    CALL_PAYLOAD_TYPE,
    SIGNATURE,
    TIME,
    call_message,
    check_call,
    request_digest,
    sign_call,
)
from evalfed.core.errors import AuthenticationError
from evalfed.core.membership import Membership
from evalfed.keys import PrivateKey
from evalfed.keys.dsse import pae
from tests.conftest import Federation
from tests.membership import signed_event

METHOD = "/evalfed.v1.Node/Query"
CALLEE = "c" * 64
REQUEST = b"\x08\x01"


def metadata(
    federation: Federation, institute: str = "us-aisi", t: int = 1000, key: PrivateKey | None = None
) -> dict:
    fed_id = federation.charter.federation_id
    key = key or federation.keys[institute]
    return dict(sign_call(key, institute, fed_id, METHOD, t, CALLEE, REQUEST))


def check(md: dict, membership: Membership, method: str = METHOD, now: int = 1000, **kw):
    return check_call(md, method, membership, now, CALLEE, request_digest(REQUEST), **kw)


def test_member_call_is_accepted(federation: Federation) -> None:
    identity = check(metadata(federation), Membership(federation.charter))
    assert identity.institute == "us-aisi"


def test_the_signed_message_is_pae_of_the_fields_joined_by_newlines() -> None:
    message = call_message("f", "/m", "us-aisi", "k", 7, "n", "c", "d")
    assert message == pae(CALL_PAYLOAD_TYPE, b"f\n/m\nus-aisi\nk\n7\nn\nc\nd")
    assert message == b"DSSEv1 31 application/vnd.evalfed.call.v2 22 f\n/m\nus-aisi\nk\n7\nn\nc\nd"


def test_call_for_other_method_is_refused(federation: Federation) -> None:
    with pytest.raises(AuthenticationError, match="does not verify"):
        check(metadata(federation), Membership(federation.charter), "/evalfed.v1.Node/Publish")


def test_call_for_another_node_or_request_is_refused(federation: Federation) -> None:
    md, membership = metadata(federation), Membership(federation.charter)
    with pytest.raises(AuthenticationError, match="another node"):
        check_call(md, METHOD, membership, 1000, "d" * 64, request_digest(REQUEST))
    with pytest.raises(AuthenticationError, match="another request"):
        check_call(md, METHOD, membership, 1000, CALLEE, request_digest(b"\x08\x02"))
    md["evalfed-callee"] = "d" * 64  # claiming the other node does not help
    with pytest.raises(AuthenticationError, match="does not verify"):
        check_call(md, METHOD, membership, 1000, "d" * 64, request_digest(REQUEST))


def test_stale_call_is_refused(federation: Federation) -> None:
    with pytest.raises(AuthenticationError, match="clock"):
        check(metadata(federation), Membership(federation.charter), now=1000 + 3600)


def test_non_member_is_refused(federation: Federation) -> None:
    with pytest.raises(AuthenticationError, match="not a member"):
        check(metadata(federation, "jp-aisi"), Membership(federation.charter))


def test_claiming_another_institute_is_refused(federation: Federation) -> None:
    md = metadata(federation, "us-aisi")
    md["evalfed-institute"] = "uk-aisi"
    with pytest.raises(AuthenticationError):
        check(md, Membership(federation.charter))


def test_tampered_or_malformed_credentials_are_refused(federation: Federation) -> None:
    md = metadata(federation)
    md[TIME] = "1001"
    with pytest.raises(AuthenticationError):
        check(md, Membership(federation.charter))
    md = metadata(federation)
    md["evalfed-nonce"] += "\nx"
    with pytest.raises(AuthenticationError, match="malformed"):
        check(md, Membership(federation.charter))
    md = metadata(federation)
    del md[SIGNATURE]
    with pytest.raises(AuthenticationError, match="incomplete"):
        check(md, Membership(federation.charter))


def test_a_rotated_out_key_speaks_for_no_one(federation: Federation) -> None:
    old, new = federation.keys["us-aisi"], PrivateKey.generate()
    fed_id = federation.charter.federation_id
    rotation = signed_event(
        federation, events.rotation(fed_id, "us-aisi", old.key_id, new), "us-aisi", 1, "", old
    )
    membership = Membership(federation.charter, [rotation])
    assert [k.key_id for k in membership.keys_for("us-aisi")] == [new.key_id]
    assert membership.institute_of_key(old.key_id) is None
    with pytest.raises(AuthenticationError, match="not the current key"):
        check(metadata(federation), membership)
    assert check(metadata(federation, key=new), membership).institute == "us-aisi"


def test_a_nodes_own_key_speaks_for_it_only_while_it_is_pending(
    federation: Federation,
) -> None:
    jp = federation.keys["jp-aisi"]
    own = ("jp-aisi", jp.public)
    assert check(metadata(federation, "jp-aisi"), Membership(federation.charter), own=own)
    uk = federation.keys["uk-aisi"]
    revocation = signed_event(federation, events.revocation(uk.key_id), "uk-aisi", 1, "", uk)
    revoked = Membership(federation.charter, [revocation])
    with pytest.raises(AuthenticationError, match="every key of uk-aisi is revoked"):
        check(metadata(federation, "uk-aisi"), revoked, own=("uk-aisi", uk.public))

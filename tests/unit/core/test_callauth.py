"""Signed calls: a member's key proves the institute; time, key and signature are all checked."""

from __future__ import annotations

import pytest

from evalfed.core.callauth import SIGNATURE, TIME, check_call, sign_call
from evalfed.core.errors import AuthenticationError
from evalfed.core.membership import Membership
from tests.conftest import Federation

METHOD = "/evalfed.v1.Node/Query"


def metadata(federation: Federation, institute: str = "us-aisi", t: int = 1000) -> dict:
    fed_id = federation.charter.federation_id
    return dict(sign_call(federation.keys[institute], institute, fed_id, METHOD, t))


def test_member_call_is_accepted(federation: Federation) -> None:
    identity = check_call(metadata(federation), METHOD, Membership(federation.charter), 1000)
    assert identity.institute == "us-aisi"


def test_call_for_other_method_is_refused(federation: Federation) -> None:
    with pytest.raises(AuthenticationError, match="does not verify"):
        check_call(
            metadata(federation), "/evalfed.v1.Node/Publish", Membership(federation.charter), 1000
        )


def test_stale_call_is_refused(federation: Federation) -> None:
    with pytest.raises(AuthenticationError, match="clock"):
        check_call(metadata(federation), METHOD, Membership(federation.charter), 1000 + 3600)


def test_non_member_is_refused(federation: Federation) -> None:
    md = metadata(federation, "jp-aisi")
    with pytest.raises(AuthenticationError, match="not a member"):
        check_call(md, METHOD, Membership(federation.charter), 1000)


def test_claiming_another_institute_is_refused(federation: Federation) -> None:
    md = metadata(federation, "us-aisi")
    md["evalfed-institute"] = "uk-aisi"
    with pytest.raises(AuthenticationError):
        check_call(md, METHOD, Membership(federation.charter), 1000)


def test_tampered_time_is_refused(federation: Federation) -> None:
    md = metadata(federation)
    md[TIME] = "1001"
    with pytest.raises(AuthenticationError):
        check_call(md, METHOD, Membership(federation.charter), 1000)
    md = metadata(federation)
    del md[SIGNATURE]
    with pytest.raises(AuthenticationError, match="incomplete"):
        check_call(md, METHOD, Membership(federation.charter), 1000)

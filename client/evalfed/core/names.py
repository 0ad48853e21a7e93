"""Rules for the short names the federation uses: institute ids, record ids, digests."""

from __future__ import annotations

import re

from evalfed.core.errors import InvalidInputError

_INSTITUTE = re.compile(r"[a-z][a-z0-9-]{1,62}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Matched with fullmatch: `$` would also let a trailing newline through.


def is_hex64(text: str) -> bool:
    """True for 64 lowercase hex characters: a record id, key id or SHA-256 digest."""
    return _HEX64.fullmatch(text) is not None


def check_institute_id(institute: str) -> str:
    """Institute ids are short lowercase slugs such as `us-aisi`."""
    if not _INSTITUTE.fullmatch(institute):
        raise InvalidInputError(
            f"institute id {institute!r} is not valid: use 2-63 lowercase letters, digits or '-', "
            "starting with a letter (e.g. us-aisi)"
        )
    return institute


def check_record_id(record_id: str) -> str:
    if not is_hex64(record_id):
        raise InvalidInputError(
            f"record id {record_id!r} is not valid: a record id is 64 lowercase hex characters"
        )
    return record_id


def check_digest(digest: str) -> str:
    if not is_hex64(digest):
        raise InvalidInputError(
            f"body digest {digest[:80]!r} is not valid: a digest is 64 lowercase hex characters"
        )
    return digest

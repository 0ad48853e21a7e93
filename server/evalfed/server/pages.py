"""Keyset pages over a sorted list: the page after a token, and the token after a page, so no
answer (status heads, members) grows with what a node holds."""

from __future__ import annotations

import base64
import bisect
from collections.abc import Sequence

from evalfed.core.errors import InvalidInputError, LimitError

PageKey = tuple[str, ...]
_SEPARATOR = "\x1f"


def page_after(
    keys: Sequence[PageKey], page_size: int, page_token: str, max_size: int, limit_name: str
) -> tuple[slice, str]:
    """Where the page after `page_token` lies in the sorted `keys`, and the next page's token
    (empty on the last page). A `page_size` of 0 means `max_size`; over it is a LimitError
    naming `limit_name`."""
    if page_size > max_size:
        raise LimitError(f"page_size {page_size} is over {limit_name}={max_size}")
    size = page_size or max_size
    start = bisect.bisect_right(keys, _decode(page_token)) if page_token else 0
    end = min(start + size, len(keys))
    token = _encode(keys[end - 1]) if end < len(keys) else ""
    return slice(start, end), token


def _encode(key: PageKey) -> str:
    return base64.urlsafe_b64encode(_SEPARATOR.join(key).encode()).decode()


def _decode(token: str) -> PageKey:
    try:
        return tuple(base64.urlsafe_b64decode(token.encode()).decode().split(_SEPARATOR))
    except ValueError:
        raise InvalidInputError(
            "page_token is not one this node issued; pass next_page_token unchanged"
        ) from None

"""Hypothesis strategies shared by the property tests: JSON values of any shape."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Any JSON value (objects, arrays, scalars), kept small."""
    return st.recursive(
        JSON_SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def objects_with(keys: list[str], max_leaves: int = 30) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with some of `keys` (any values) and possibly other keys."""
    values = json_values(max_leaves)
    return st.builds(
        lambda known, other: {**other, **known},
        st.dictionaries(st.sampled_from(keys), values, max_size=len(keys)),
        st.dictionaries(st.text(max_size=10), values, max_size=3),
    )

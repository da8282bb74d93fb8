"""The fast JCS path gives exactly the bytes of the reference RFC 8785 implementation."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from credstack.crypto.canonical import jcs
from credstack.domain.errors import Invalid

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([6.0, 2.5, 0.1, 1e-7, 1e21, 1e16, 123456789.125, -0.0])
    | st.text()
)
documents = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_fast_path_matches_rfc8785_byte_for_byte(document: Any) -> None:
    assert jcs(document) == bytes(rfc8785.dumps(document))


def test_integers_beyond_the_safe_range_are_refused_on_both_paths() -> None:
    with pytest.raises(Invalid, match="canonicalize"):
        jcs({"n": 2**53})


def test_integral_floats_are_written_as_integers_as_ecmascript_does() -> None:
    assert jcs({"b": 6.0, "a": 2.5}) == b'{"a":2.5,"b":6}'


def test_keys_outside_the_basic_plane_sort_by_utf16_code_units() -> None:
    document = {"\U0001f600": 1, "\ufb01": 2}
    assert jcs(document) == bytes(rfc8785.dumps(document))
    assert json.loads(jcs(document)) == document

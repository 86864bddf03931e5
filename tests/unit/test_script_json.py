"""Data for a page's script rides in a ``<script type="application/json">`` block: nothing in
it may end the block, open an HTML comment or read as markup, and it must parse back."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from server.edge.rendering import script_json

HOSTILE = [
    "<!--<script>",
    "</script><script>alert(1)</script>",
    "a & b > c",
    "line\u2028separator\u2029paragraph",
    "Ünïcödé ✓",
]


def test_hostile_names_are_escaped_and_parse_back() -> None:
    text = script_json({"patients": [{"name": name} for name in HOSTILE]})
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert [p["name"] for p in json.loads(text)["patients"]] == HOSTILE


@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    )
)
def test_any_value_round_trips_with_no_markup_characters(value: object) -> None:
    text = script_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == value

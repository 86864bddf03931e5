"""Choosing a language: the patient's, then the browser's, then English."""

from __future__ import annotations

from server.core.i18n import pick_language


def test_english_when_nothing_better_is_available() -> None:
    assert pick_language(None) == "en"
    assert pick_language("xx-YY, zz;q=0.5") == "en"
    assert pick_language("*") == "en"


def test_the_browsers_english_variant_maps_to_english() -> None:
    assert pick_language("en-GB,en;q=0.9") == "en"


def test_malformed_headers_do_not_fail() -> None:
    assert pick_language(";;;,,,q=1") == "en"
    assert pick_language("en", "not a tag!") == "en"

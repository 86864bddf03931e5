"""Choosing a language: the patient's, then the browser's, then English."""

from __future__ import annotations

import datetime as dt

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


def test_every_page_writes_a_moment_one_way_as_the_browser_does() -> None:
    # The same strings as tests/js/time.test.js expects of formatStamp.
    from server.core.i18n import format_stamp

    now = dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    at = dt.datetime(2026, 12, 3, 13, 25, tzinfo=dt.UTC)
    assert format_stamp(at, "UTC", "en", now=now) == "Thu 3 Dec, 13:25"
    assert format_stamp(at, "Europe/Paris", "fr", now=now) == "jeu. 3 déc., 14:25"
    assert format_stamp(at.replace(year=2025), "UTC", "en", now=now) == "Wed, 3 Dec 2025, 13:25"
    assert format_stamp(at, "Europe/London", "en", now=now, show_zone=True).endswith("13:25 GMT")
    assert format_stamp(at, "Asia/Amman", "ar", now=now) == "الخميس، 3 ديسمبر، 16:25"

"""Issue 18, messages to the team: red-flag words per language and the team's hours."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from encounters.detection import Rule, Severity
from encounters.family_messages import (
    AFTER_HOURS_KEY,
    RED_FLAG_KEY,
    TeamHours,
    message_alert,
    normalise,
    red_flags,
    within_hours,
)
from server.core.settings import SettingsError, load_settings, parse_team_hours


@pytest.mark.parametrize(
    ("language", "text", "found"),
    [
        ("en", "Mum CAN'T breathe and has fallen", ("can't breathe", "has fallen")),
        ("en", "Dad can’t breathe", ("can't breathe",)),
        ("es", "Mi madre no puede respirar, se cayó", ("no puede respirar", "se cayó")),
        # Written without accents, as on many phones.
        ("es", "tuvo una CONVULSION y no despierta", ("convulsión", "no despierta")),
        ("fr", "Ma mère n’arrive pas à respirer", ("n'arrive pas à respirer",)),
        (
            "fr",
            "il ne se reveille pas, douleur thoracique",
            ("douleur thoracique", "ne se réveille pas"),
        ),
        # Harakat, tatweel and a hamza-less alef; a conjunction joined to the word.
        ("ar", "أمي لا تَستطيعُ التنفّس وسقطت", ("لا تستطيع التنفس", "سقطت")),
        ("ar", "والنزيـــف مستمر", ("نزيف",)),
        ("ar", "ابي لا يتنفس", ("لا يتنفس",)),
    ],
)
def test_red_flags_are_found_in_the_familys_language(
    language: str, text: str, found: tuple[str, ...]
) -> None:
    assert set(red_flags(text, language)) == set(found)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "She fell asleep early. This is not an emergency, just a question."),
        ("es", "Tiene una caída del pelo por la quimio."),
        ("fr", "Je suis confus, quelle dose ce soir ?"),
        ("ar", "نام جيدا الليلة"),
    ],
)
def test_everyday_words_are_not_red_flags(language: str, text: str) -> None:
    assert red_flags(text, language) == ()


def test_english_is_checked_whatever_the_language_and_normalising_is_stable() -> None:
    assert red_flags("Ambulance? no puede respirar", "es") == ("no puede respirar", "ambulance")
    assert normalise("Ÿ Éé  ça-va") == "y ee ca va"
    assert normalise("إِسْعَاف") == normalise("اسعاف")


NIGHT = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
DAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_hours_read_in_the_teams_zone_and_may_run_past_midnight() -> None:
    office = TeamHours(time(8), time(18))
    assert within_hours(DAY, office, "Europe/London")
    assert not within_hours(NIGHT, office, "Europe/London")
    # 10:00 UTC is 05:00 in New York: before the team's day begins.
    assert not within_hours(DAY, office, "America/New_York")
    assert within_hours(DAY.replace(hour=8), office, "UTC")
    assert not within_hours(DAY.replace(hour=18), office, "UTC")
    nights = TeamHours(time(20), time(8))
    assert within_hours(NIGHT, nights, "UTC") and not within_hours(DAY, nights, "UTC")
    # An unknown zone is read as UTC rather than refusing the family's message.
    assert within_hours(DAY, office, "Mars/Olympus")


def test_the_hours_setting_is_checked() -> None:
    assert parse_team_hours("08:00-18:00") == (time(8), time(18))
    assert parse_team_hours("00:00-24:00")[1] == time(23, 59, 59, 999999)
    for bad in ("8-18", "08:00-08:00", "25:00-26:00", "08:00-18:60"):
        with pytest.raises(SettingsError, match="HEARTH_TEAM_HOURS"):
            parse_team_hours(bad)
    with pytest.raises(SettingsError, match="HEARTH_TEAM_TIME_ZONE"):
        load_settings(environ={"HEARTH_TEAM_TIME_ZONE": "Nowhere/Else"})


def test_a_message_becomes_an_alert_only_with_red_flags_or_out_of_hours() -> None:
    assert message_alert("m1", (), after_hours=False) is None
    late = message_alert("m1", (), after_hours=True)
    assert late is not None and late.severity is Severity.MODERATE
    assert late.rule_id is Rule.FAMILY_MESSAGE and late.keys == (AFTER_HOURS_KEY,)
    urgent = message_alert("m2", ("can't breathe",), after_hours=True)
    assert urgent is not None and urgent.severity is Severity.HIGH
    assert urgent.evidence == ("m2",) and "“can't breathe”" in urgent.summary
    # A climbing red-flag alert also stands for the hours: one alert is enough.
    assert set(urgent.keys) == {RED_FLAG_KEY, AFTER_HOURS_KEY}

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.errors import ValidationError
from encounters.local_time import (
    InvalidTimeError,
    format_in_zone,
    load_zone,
    local_midnight,
    to_utc,
    utc_offset_changes,
    wall_time_to_utc,
    zone_abbreviation,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")


def test_format_in_zone_shows_weekday_date_time_and_abbreviation() -> None:
    at = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)

    assert format_in_zone(at, "Europe/London") == "Tue 3 Mar 2026, 14:30 GMT"
    assert format_in_zone(at, "America/New_York") == "Tue 3 Mar 2026, 09:30 EST"


def test_format_in_zone_uses_summer_time_abbreviation_in_summer() -> None:
    at = datetime(2026, 7, 14, 8, 5, tzinfo=UTC)

    assert format_in_zone(at, "Europe/London") == "Tue 14 Jul 2026, 09:05 BST"


def test_format_in_zone_shows_the_local_date_when_it_differs_from_utc() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    assert format_in_zone(at, "Australia/Sydney") == "Fri 1 Jan 2027, 10:30 AEDT"


def test_format_in_zone_tells_the_two_occurrences_of_a_repeated_hour_apart() -> None:
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    second = first + timedelta(hours=1)

    assert format_in_zone(first, "Europe/London") == "Sun 25 Oct 2026, 01:30 BST"
    assert format_in_zone(second, "Europe/London") == "Sun 25 Oct 2026, 01:30 GMT"


def test_format_in_zone_accepts_an_aware_time_in_any_zone() -> None:
    at = datetime(2026, 3, 3, 9, 30, tzinfo=NEW_YORK)

    assert format_in_zone(at, "Europe/London") == "Tue 3 Mar 2026, 14:30 GMT"


def test_format_in_zone_refuses_a_naive_datetime() -> None:
    with pytest.raises(InvalidTimeError) as raised:
        format_in_zone(datetime(2026, 3, 3, 14, 30), "Europe/London")

    assert raised.value.code == "naive_datetime"


def test_zone_abbreviation_follows_daylight_saving() -> None:
    assert zone_abbreviation(datetime(2026, 1, 5, 12, tzinfo=UTC), "America/New_York") == "EST"
    assert zone_abbreviation(datetime(2026, 7, 5, 12, tzinfo=UTC), "America/New_York") == "EDT"


@pytest.mark.parametrize(
    "zone_name", ["", "Mars/Olympus_Mons", "europe/london", "../etc/passwd", "/etc/localtime"]
)
def test_load_zone_refuses_unknown_names_as_a_validation_error(zone_name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load_zone(zone_name, field="zone")

    assert raised.value.code == "unknown_zone"
    assert raised.value.field == "zone"
    assert "IANA" in raised.value.message


def test_load_zone_shortens_a_long_name_in_its_message() -> None:
    with pytest.raises(InvalidTimeError) as raised:
        load_zone("x" * 5000)

    assert len(raised.value.message) < 300


def test_to_utc_converts_an_aware_datetime_to_utc() -> None:
    result = to_utc(datetime(2026, 3, 3, 9, 30, tzinfo=NEW_YORK), "starts_at")

    assert result == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_to_utc_refuses_a_naive_datetime_naming_the_field() -> None:
    with pytest.raises(InvalidTimeError) as raised:
        to_utc(datetime(2026, 3, 3, 9, 30), "ends_at")

    assert raised.value.code == "naive_datetime"
    assert raised.value.field == "ends_at"
    assert "ends_at" in raised.value.message


def test_to_utc_refuses_a_wall_clock_time_the_zone_skips() -> None:
    skipped = datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK)

    with pytest.raises(InvalidTimeError) as raised:
        to_utc(skipped, "starts_at")

    assert raised.value.code == "nonexistent_local_time"
    assert "America/New_York" in raised.value.message


@pytest.mark.parametrize("fold, expected_hour_utc", [(0, 5), (1, 6)])
def test_to_utc_keeps_both_occurrences_of_a_repeated_time(
    fold: int, expected_hour_utc: int
) -> None:
    repeated = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=fold)

    assert to_utc(repeated, "starts_at") == datetime(2026, 11, 1, expected_hour_utc, 30, tzinfo=UTC)


def test_to_utc_accepts_fixed_offsets() -> None:
    at = datetime(2026, 3, 3, 20, 15, tzinfo=timezone(timedelta(hours=5, minutes=45)))

    assert to_utc(at, "starts_at") == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)


def test_wall_time_to_utc_reads_an_ordinary_time() -> None:
    assert wall_time_to_utc(date(2026, 3, 3), time(9), LONDON) == datetime(
        2026, 3, 3, 9, tzinfo=UTC
    )
    assert wall_time_to_utc(date(2026, 3, 30), time(9), LONDON) == datetime(
        2026, 3, 30, 8, tzinfo=UTC
    )


def test_wall_time_to_utc_moves_a_skipped_time_to_the_moment_the_clocks_jump() -> None:
    # New York jumps from 02:00 EST to 03:00 EDT, which is 07:00 UTC.
    jump = datetime(2026, 3, 8, 7, tzinfo=UTC)

    assert wall_time_to_utc(date(2026, 3, 8), time(2, 30), NEW_YORK) == jump
    assert wall_time_to_utc(date(2026, 3, 8), time(2), NEW_YORK) == jump
    assert wall_time_to_utc(date(2026, 3, 8), time(3), NEW_YORK) == jump
    assert wall_time_to_utc(date(2026, 3, 8), time(1, 59), NEW_YORK) == datetime(
        2026, 3, 8, 6, 59, tzinfo=UTC
    )


def test_wall_time_to_utc_reads_a_repeated_time_as_its_first_occurrence() -> None:
    # 01:30 on 1 Nov 2026 in New York is first 01:30 EDT (05:30 UTC), then 01:30 EST.
    assert wall_time_to_utc(date(2026, 11, 1), time(1, 30), NEW_YORK) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_local_midnight_of_a_day_without_midnight_is_when_the_day_begins() -> None:
    # Santiago springs forward at midnight: 6 Sep 2026 begins at 01:00 -03 (04:00 UTC).
    assert local_midnight(date(2026, 9, 6), SANTIAGO) == datetime(2026, 9, 6, 4, tzinfo=UTC)


def test_utc_offset_changes_finds_the_change_inside_a_span() -> None:
    start = datetime(2026, 3, 29, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 12, tzinfo=UTC)

    assert utc_offset_changes(start, end, LONDON) == [datetime(2026, 3, 29, 1, tzinfo=UTC)]


def test_utc_offset_changes_is_empty_for_a_span_without_a_change() -> None:
    start = datetime(2026, 3, 3, 0, tzinfo=UTC)

    assert utc_offset_changes(start, start + timedelta(hours=20), LONDON) == []


@settings(deadline=None)
@given(
    zone=st.sampled_from(
        [LONDON, NEW_YORK, SANTIAGO, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kathmandu")]
    ),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    minute_of_day=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_wall_time_to_utc_is_the_first_instant_showing_that_time_or_later(
    zone: ZoneInfo, day: date, minute_of_day: int
) -> None:
    wall = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60))

    result = wall_time_to_utc(day, wall.time(), zone)

    def shown(at: datetime) -> datetime:
        return at.astimezone(zone).replace(tzinfo=None)

    assert shown(result) >= wall
    # No earlier minute within the largest possible clock change shows that time or later.
    step = timedelta(minutes=1)
    assert all(shown(result - step * back) < wall for back in range(1, 3 * 60))

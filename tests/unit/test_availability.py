from collections.abc import Iterable
from datetime import UTC, date, datetime, time

import pytest

from encounters.availability import (
    DEFAULT_VISIT_LENGTH_MIN,
    Availability,
    SchedulingError,
    TimeOff,
    VisitKind,
    WeeklyHours,
    available_intervals,
    days_off,
    default_lengths,
    parse_kind,
    weekly_intervals,
)
from encounters.errors import ValidationError
from encounters.local_time import InvalidTimeError


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def clinician(
    zone: str = "Europe/London",
    weekly: Iterable[WeeklyHours] = (),
    exceptions: Iterable[TimeOff] = (),
    kinds: dict[str, int] | None = None,
) -> Availability:
    return Availability(
        "clinician-1",
        zone,
        tuple(weekly),
        tuple(exceptions),
        default_lengths("video_visit") if kinds is None else kinds,
    )


def test_every_visit_kind_has_a_default_length() -> None:
    assert set(DEFAULT_VISIT_LENGTH_MIN) == set(VisitKind)
    assert default_lengths("video_visit", "in_person", "pharmacy_review", "social_work") == {
        "video_visit": 30,
        "in_person": 60,
        "pharmacy_review": 30,
        "social_work": 45,
    }


def test_parse_kind_refuses_an_unknown_kind_and_lists_the_known_ones() -> None:
    with pytest.raises(SchedulingError) as raised:
        parse_kind("x_ray")

    assert raised.value.code == "unknown_kind"
    assert raised.value.field == "kind"
    assert "video_visit" in raised.value.message


def test_weekly_hours_may_end_at_midnight() -> None:
    assert WeeklyHours(0, time(22), time(0)).ends_at_midnight


@pytest.mark.parametrize(
    "weekday, start, end, code",
    [
        (7, time(9), time(17), "invalid_weekday"),
        (-1, time(9), time(17), "invalid_weekday"),
        (0, time(17), time(9), "end_before_start"),
        (0, time(9), time(9), "end_before_start"),
        (0, time(9, tzinfo=UTC), time(17), "invalid_hours"),
    ],
)
def test_weekly_hours_refuse_malformed_values(
    weekday: int, start: time, end: time, code: str
) -> None:
    with pytest.raises(SchedulingError) as raised:
        WeeklyHours(weekday, start, end)

    assert raised.value.code == code


def test_availability_refuses_an_unknown_zone() -> None:
    with pytest.raises(InvalidTimeError) as raised:
        clinician(zone="Europe/Atlantis")

    assert raised.value.code == "unknown_zone"


@pytest.mark.parametrize(
    "kinds, code",
    [
        ({"video_visit": 0}, "invalid_length"),
        ({"video_visit": 24 * 60}, "invalid_length"),
        ({"chaplaincy": 30}, "unknown_kind"),
    ],
)
def test_availability_refuses_bad_kinds(kinds: dict[str, int], code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        clinician(kinds=kinds)

    assert raised.value.code == code
    assert raised.value.field == "kinds"


def test_availability_keeps_its_own_copy_of_the_kinds() -> None:
    kinds = {"video_visit": 30}
    availability = clinician(kinds=kinds)

    kinds["in_person"] = 60

    assert dict(availability.kinds) == {"video_visit": 30}


def test_time_off_is_stored_in_utc_and_refuses_naive_or_reversed_times() -> None:
    off = TimeOff(
        datetime(2026, 3, 3, 13, tzinfo=UTC).astimezone(), datetime(2026, 3, 3, 17, tzinfo=UTC)
    )
    assert off.starts_at == utc(2026, 3, 3, 13)
    assert off.starts_at.tzinfo is UTC

    with pytest.raises(InvalidTimeError) as naive:
        TimeOff(datetime(2026, 3, 3, 13), utc(2026, 3, 3, 17))
    assert naive.value.code == "naive_datetime"

    with pytest.raises(SchedulingError) as reversed_:
        TimeOff(utc(2026, 3, 3, 17), utc(2026, 3, 3, 13))
    assert reversed_.value.code == "end_before_start"


def test_days_off_runs_from_local_midnight_to_local_midnight() -> None:
    off = days_off(date(2026, 7, 6), date(2026, 7, 7), "Europe/London")

    assert (off.starts_at, off.ends_at) == (utc(2026, 7, 5, 23), utc(2026, 7, 7, 23))


def test_days_off_refuses_a_reversed_range() -> None:
    with pytest.raises(SchedulingError) as raised:
        days_off(date(2026, 7, 7), date(2026, 7, 6), "Europe/London")

    assert raised.value.code == "end_before_start"


def test_weekly_hours_stay_on_the_wall_clock_across_the_march_change_in_london() -> None:
    availability = clinician(weekly=[WeeklyHours(day, time(9), time(17)) for day in range(7)])

    windows = weekly_intervals(availability, date(2026, 3, 28), date(2026, 3, 30))

    # British Summer Time starts on Sunday 29 March 2026.
    assert windows == [
        (utc(2026, 3, 28, 9), utc(2026, 3, 28, 17)),
        (utc(2026, 3, 29, 8), utc(2026, 3, 29, 16)),
        (utc(2026, 3, 30, 8), utc(2026, 3, 30, 16)),
    ]


def test_weekly_hours_stay_on_the_wall_clock_across_the_november_change_in_new_york() -> None:
    availability = clinician(
        zone="America/New_York", weekly=[WeeklyHours(day, time(9), time(17)) for day in range(7)]
    )

    windows = weekly_intervals(availability, date(2026, 10, 31), date(2026, 11, 1))

    assert windows == [
        (utc(2026, 10, 31, 13), utc(2026, 10, 31, 21)),
        (utc(2026, 11, 1, 14), utc(2026, 11, 1, 22)),
    ]


def test_a_night_shift_is_joined_across_midnight_and_shrinks_when_clocks_spring_forward() -> None:
    availability = clinician(
        zone="America/New_York",
        weekly=[WeeklyHours(5, time(22), time(0)), WeeklyHours(6, time(0), time(6))],
    )

    windows = weekly_intervals(availability, date(2026, 3, 7), date(2026, 3, 8))

    # 22:00 EST Saturday to 06:00 EDT Sunday is seven hours of real time.
    assert windows == [(utc(2026, 3, 8, 3), utc(2026, 3, 8, 10))]


def test_hours_wholly_inside_the_skipped_hour_do_not_exist_that_day() -> None:
    availability = clinician(zone="America/New_York", weekly=[WeeklyHours(6, time(2), time(2, 45))])

    assert weekly_intervals(availability, date(2026, 3, 8), date(2026, 3, 8)) == []
    assert weekly_intervals(availability, date(2026, 3, 15), date(2026, 3, 15)) == [
        (utc(2026, 3, 15, 6), utc(2026, 3, 15, 6, 45))
    ]


def test_available_intervals_take_out_time_off() -> None:
    availability = clinician(
        weekly=[WeeklyHours(1, time(9), time(17))],
        exceptions=[TimeOff(utc(2026, 3, 3, 13), utc(2026, 3, 3, 14))],
    )

    assert available_intervals(availability, date(2026, 3, 3), date(2026, 3, 3)) == [
        (utc(2026, 3, 3, 9), utc(2026, 3, 3, 13)),
        (utc(2026, 3, 3, 14), utc(2026, 3, 3, 17)),
    ]


def test_split_shifts_and_overlapping_entries_on_one_day_are_joined() -> None:
    availability = clinician(
        weekly=[
            WeeklyHours(1, time(9), time(12)),
            WeeklyHours(1, time(11), time(12, 30)),
            WeeklyHours(1, time(13, 30), time(17)),
        ]
    )

    assert weekly_intervals(availability, date(2026, 3, 3), date(2026, 3, 3)) == [
        (utc(2026, 3, 3, 9), utc(2026, 3, 3, 12, 30)),
        (utc(2026, 3, 3, 13, 30), utc(2026, 3, 3, 17)),
    ]

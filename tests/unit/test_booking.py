from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from encounters.availability import SchedulingError
from encounters.booking import (
    Booking,
    BookingConflictError,
    blocked_intervals,
    check_no_clash,
    travel_buffer,
    travel_padding,
)
from encounters.local_time import InvalidTimeError

TEN = datetime(2026, 3, 3, 10, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def booking(
    booking_id: str,
    starts_at: datetime,
    kind: str = "video_visit",
    clinician_id: str = "clinician-1",
    patient_id: str = "patient-2",
) -> Booking:
    return Booking(booking_id, clinician_id, patient_id, kind, starts_at, starts_at + HALF_HOUR)


def test_a_booking_is_stored_in_utc() -> None:
    in_new_york = datetime(2026, 3, 3, 5, tzinfo=ZoneInfo("America/New_York"))

    stored = booking("b", in_new_york)

    assert stored.starts_at == TEN
    assert stored.starts_at.tzinfo is UTC


def test_a_booking_must_end_after_it_starts() -> None:
    with pytest.raises(SchedulingError) as raised:
        Booking("b", "clinician-1", "patient-1", "video_visit", TEN, TEN)

    assert (raised.value.code, raised.value.field) == ("end_before_start", "ends_at")


def test_a_booking_refuses_naive_times() -> None:
    with pytest.raises(InvalidTimeError) as raised:
        Booking("b", "clinician-1", "patient-1", "video_visit", datetime(2026, 3, 3, 10), TEN)

    assert (raised.value.code, raised.value.field) == ("naive_datetime", "starts_at")


@pytest.mark.parametrize(
    "kind, other_kind, expected",
    [
        ("video_visit", "video_visit", timedelta(0)),
        ("social_work", "pharmacy_review", timedelta(0)),
        ("in_person", "video_visit", HALF_HOUR),
        ("video_visit", "in_person", HALF_HOUR),
        ("in_person", "in_person", HALF_HOUR),
    ],
)
def test_travel_padding_applies_when_either_visit_is_in_person(
    kind: str, other_kind: str, expected: timedelta
) -> None:
    assert travel_padding(kind, other_kind, HALF_HOUR) == expected


@pytest.mark.parametrize("minutes", [-1, 24 * 60])
def test_travel_buffer_refuses_negative_or_absurd_values(minutes: int) -> None:
    with pytest.raises(SchedulingError) as raised:
        travel_buffer(minutes)

    assert raised.value.code == "invalid_buffer"


def test_blocked_intervals_pad_only_the_clinicians_in_person_neighbours() -> None:
    bookings = [
        booking("video", TEN),
        booking("home", TEN + 4 * HALF_HOUR, kind="in_person"),
        booking("patients", TEN + 8 * HALF_HOUR, clinician_id="clinician-2", patient_id="p1"),
        booking("elsewhere", TEN + 12 * HALF_HOUR, clinician_id="clinician-2"),
        booking("moving", TEN + 16 * HALF_HOUR),
    ]

    blocked = blocked_intervals(
        bookings,
        clinician_id="clinician-1",
        patient_id="p1",
        kind="video_visit",
        buffer=HALF_HOUR,
        ignore_booking_id="moving",
    )

    assert blocked == [
        (TEN, TEN + HALF_HOUR),
        (TEN + 3 * HALF_HOUR, TEN + 6 * HALF_HOUR),
        (TEN + 8 * HALF_HOUR, TEN + 9 * HALF_HOUR),
    ]


def test_check_no_clash_names_the_conflicting_time_in_the_zone_given() -> None:
    with pytest.raises(BookingConflictError) as raised:
        check_no_clash(
            [booking("b-1", TEN)],
            clinician_id="clinician-1",
            patient_id="patient-1",
            kind="video_visit",
            starts_at=TEN,
            ends_at=TEN + HALF_HOUR,
            buffer=HALF_HOUR,
            ignore_booking_id=None,
            zone_name="America/New_York",
        )

    assert raised.value.code == "clinician_busy"
    assert "from Tue 3 Mar 2026, 05:00 EST to Tue 3 Mar 2026, 05:30 EST" in raised.value.message

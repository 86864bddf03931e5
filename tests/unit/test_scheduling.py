from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from encounters.availability import (
    Availability,
    SchedulingError,
    TimeOff,
    WeeklyHours,
    days_off,
    default_lengths,
)
from encounters.booking import Booking, BookingConflictError
from encounters.errors import ConflictError, ValidationError
from encounters.local_time import format_in_zone
from encounters.scheduling import (
    Slot,
    check_booking,
    first_free_time,
    free_slots,
    free_slots_by_clinician,
)

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
TUESDAY = date(2026, 3, 3)  # London is on GMT, so local times equal UTC
NOW = datetime(2026, 3, 1, tzinfo=UTC)
ALL_KINDS = ("video_visit", "in_person", "pharmacy_review", "social_work")
RaisedError = TypeVar("RaisedError", bound=Exception)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(
    zone_name: str, year: int, month: int, day: int, hour: int, minute: int, fold: int = 0
) -> datetime:
    at = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone_name), fold=fold)
    return at.astimezone(UTC)


def clinician(
    clinician_id: str = "clinician-1",
    zone: str = LONDON,
    hours: tuple[time, time] = (time(9), time(17)),
    weekdays: Iterable[int] = range(5),
    exceptions: Iterable[TimeOff] = (),
    kinds: Iterable[str] = ALL_KINDS,
) -> Availability:
    weekly = tuple(WeeklyHours(day, *hours) for day in weekdays)
    return Availability(clinician_id, zone, weekly, tuple(exceptions), default_lengths(*kinds))


def booking(
    starts_at: datetime,
    minutes: int = 30,
    kind: str = "video_visit",
    clinician_id: str = "clinician-1",
    patient_id: str = "patient-2",
    booking_id: str = "booking-1",
) -> Booking:
    return Booking(
        booking_id,
        clinician_id,
        patient_id,
        kind,
        starts_at,
        starts_at + timedelta(minutes=minutes),
    )


def check(
    availability: Availability,
    existing: Iterable[Booking] = (),
    *,
    starts_at: datetime,
    minutes: int = 30,
    kind: str = "video_visit",
    **options: Any,
) -> None:
    options.setdefault("now", NOW)
    options.setdefault("patient_id", "patient-1")
    check_booking(
        availability,
        existing,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        **options,
    )


def slots_on(
    availability: Availability,
    day: date,
    existing: Iterable[Booking] = (),
    kind: str = "video_visit",
    **options: Any,
) -> list[Slot]:
    options.setdefault("now", NOW)
    return free_slots(availability, kind, existing, first_day=day, last_day=day, **options)


def starts(slots: list[Slot]) -> list[datetime]:
    return [slot.starts_at for slot in slots]


def refusal(
    error_class: type[RaisedError], call: Callable[..., object], *args: Any, **kwargs: Any
) -> RaisedError:
    with pytest.raises(error_class) as raised:
        call(*args, **kwargs)
    return raised.value


# Free slots


def test_free_slots_fill_working_hours_on_a_fifteen_minute_grid() -> None:
    slots = slots_on(clinician(), TUESDAY)

    assert starts(slots) == [utc(2026, 3, 3, 9) + timedelta(minutes=15 * n) for n in range(31)]
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)


def test_free_slots_last_as_long_as_the_kind() -> None:
    slots = slots_on(clinician(), TUESDAY, kind="in_person")

    assert slots[0] == Slot(utc(2026, 3, 3, 9), utc(2026, 3, 3, 10))
    assert slots[-1] == Slot(utc(2026, 3, 3, 16), utc(2026, 3, 3, 17))


def test_free_slots_follow_the_grid_asked_for() -> None:
    slots = slots_on(clinician(), TUESDAY, grid_min=60)

    assert starts(slots) == [utc(2026, 3, 3, hour) for hour in range(9, 17)]


def test_free_slots_are_empty_on_days_without_working_hours() -> None:
    assert (
        free_slots(
            clinician(),
            "video_visit",
            [],
            first_day=date(2026, 3, 7),
            last_day=date(2026, 3, 8),
            now=NOW,
        )
        == []
    )


def test_free_slots_leave_out_whole_days_off() -> None:
    availability = clinician(exceptions=[days_off(TUESDAY, TUESDAY, LONDON)])

    slots = free_slots(
        availability, "video_visit", [], first_day=TUESDAY, last_day=date(2026, 3, 4), now=NOW
    )

    assert {slot.starts_at.date() for slot in slots} == {date(2026, 3, 4)}


def test_free_slots_leave_out_a_blocked_afternoon() -> None:
    availability = clinician(exceptions=[TimeOff(utc(2026, 3, 3, 13), utc(2026, 3, 3, 17))])

    assert slots_on(availability, TUESDAY)[-1] == Slot(utc(2026, 3, 3, 12, 30), utc(2026, 3, 3, 13))


def test_free_slots_avoid_the_clinicians_existing_bookings() -> None:
    existing = [booking(utc(2026, 3, 3, 10))]

    found = starts(slots_on(clinician(), TUESDAY, existing))

    assert utc(2026, 3, 3, 9, 30) in found
    assert utc(2026, 3, 3, 10, 30) in found
    assert not {utc(2026, 3, 3, 9, 45), utc(2026, 3, 3, 10), utc(2026, 3, 3, 10, 15)} & set(found)


def test_free_slots_ignore_other_clinicians_bookings() -> None:
    existing = [booking(utc(2026, 3, 3, 10), clinician_id="clinician-2")]

    assert len(slots_on(clinician(), TUESDAY, existing)) == 31


def test_free_slots_avoid_the_patients_bookings_with_other_clinicians_when_asked() -> None:
    existing = [booking(utc(2026, 3, 3, 10), clinician_id="clinician-2", patient_id="patient-1")]

    for_anyone = starts(slots_on(clinician(), TUESDAY, existing))
    for_patient = starts(slots_on(clinician(), TUESDAY, existing, patient_id="patient-1"))

    assert utc(2026, 3, 3, 10) in for_anyone
    assert utc(2026, 3, 3, 10) not in for_patient
    assert utc(2026, 3, 3, 9, 30) in for_patient
    assert utc(2026, 3, 3, 10, 30) in for_patient


def test_free_slots_restart_on_the_grid_after_a_booking_ending_off_the_grid() -> None:
    existing = [booking(utc(2026, 3, 3, 9), minutes=40)]

    assert slots_on(clinician(), TUESDAY, existing)[0].starts_at == utc(2026, 3, 3, 9, 45)


def test_free_slots_follow_the_clinicians_clock_not_utc() -> None:
    # Kathmandu is UTC+05:45, so 09:00 there is 03:15 UTC.
    availability = clinician(zone="Asia/Kathmandu", hours=(time(9), time(10)))

    slots = slots_on(availability, TUESDAY, grid_min=30)

    assert starts(slots) == [utc(2026, 3, 3, 3, 15), utc(2026, 3, 3, 3, 45)]


def test_free_slots_never_start_before_now() -> None:
    slots = slots_on(clinician(), TUESDAY, now=utc(2026, 3, 3, 10, 7))

    assert slots[0].starts_at == utc(2026, 3, 3, 10, 15)


def test_free_slots_join_touching_hours() -> None:
    availability = Availability(
        "clinician-1",
        LONDON,
        (WeeklyHours(1, time(9), time(12)), WeeklyHours(1, time(12), time(17))),
        (),
        default_lengths("video_visit"),
    )

    assert utc(2026, 3, 3, 11, 45) in starts(slots_on(availability, TUESDAY))


def test_free_slots_run_across_midnight_in_a_night_shift_and_stop_at_the_range_end() -> None:
    availability = Availability(
        "clinician-1",
        LONDON,
        (WeeklyHours(1, time(22), time(0)), WeeklyHours(2, time(0), time(6))),
        (),
        default_lengths("video_visit"),
    )

    found = starts(slots_on(availability, TUESDAY))

    # The range is Tuesday only: a slot may run into Wednesday but not start there.
    assert found[0] == utc(2026, 3, 3, 22)
    assert found[-1] == utc(2026, 3, 3, 23, 45)


def test_free_slots_offer_a_booking_its_own_slot_when_rescheduling() -> None:
    existing = [booking(utc(2026, 3, 3, 10), booking_id="booking-7")]

    found = starts(slots_on(clinician(), TUESDAY, existing, ignore_booking_id="booking-7"))

    assert utc(2026, 3, 3, 10) in found


def test_free_slots_keep_travel_time_around_an_in_person_visit() -> None:
    existing = [booking(utc(2026, 3, 3, 11), minutes=60, kind="in_person")]

    found = starts(slots_on(clinician(), TUESDAY, existing))

    assert utc(2026, 3, 3, 10) in found  # ends 10:30, when travel starts
    assert utc(2026, 3, 3, 10, 15) not in found
    assert utc(2026, 3, 3, 12, 15) not in found
    assert utc(2026, 3, 3, 12, 30) in found


def test_free_in_person_slots_keep_travel_time_from_video_visits() -> None:
    existing = [booking(utc(2026, 3, 3, 12))]

    found = starts(slots_on(clinician(), TUESDAY, existing, kind="in_person"))

    assert utc(2026, 3, 3, 10, 30) in found
    assert utc(2026, 3, 3, 10, 45) not in found
    assert utc(2026, 3, 3, 12, 45) not in found
    assert utc(2026, 3, 3, 13) in found


def test_free_slots_by_clinician_matches_free_slots_of_each_clinician() -> None:
    team = [clinician(f"clinician-{n}", zone=zone) for n, zone in enumerate((LONDON, NEW_YORK))]
    existing = [
        booking(utc(2026, 3, 3, 10), clinician_id="clinician-0", booking_id="a"),
        booking(utc(2026, 3, 3, 15), clinician_id="clinician-1", booking_id="b"),
        booking(utc(2026, 3, 3, 16), clinician_id="clinician-9", patient_id="patient-1"),
    ]
    options: dict[str, Any] = {"first_day": TUESDAY, "last_day": date(2026, 3, 4), "now": NOW}

    by_clinician = free_slots_by_clinician(
        team, "social_work", existing, patient_id="patient-1", **options
    )

    assert by_clinician == {
        member.clinician_id: free_slots(
            member, "social_work", existing, patient_id="patient-1", **options
        )
        for member in team
    }
    assert utc(2026, 3, 3, 16) not in starts(by_clinician["clinician-1"])


def test_free_slots_by_clinician_leaves_out_clinicians_without_the_kind() -> None:
    team = [
        clinician("nurse", kinds=("video_visit", "in_person")),
        clinician("pharmacist", kinds=("pharmacy_review",)),
        clinician(
            "busy-nurse", kinds=("in_person",), exceptions=[days_off(TUESDAY, TUESDAY, LONDON)]
        ),
    ]

    found = free_slots_by_clinician(
        team, "in_person", [], first_day=TUESDAY, last_day=TUESDAY, now=NOW
    )

    assert set(found) == {"nurse", "busy-nurse"}
    assert found["busy-nurse"] == []
    assert len(found["nurse"]) == 29


# Checking one booking


def test_check_booking_accepts_a_free_time_in_working_hours() -> None:
    check(clinician(), [booking(utc(2026, 3, 3, 10))], starts_at=utc(2026, 3, 3, 10, 30))


def test_clinician_cannot_be_double_booked_across_kinds() -> None:
    existing = [booking(utc(2026, 3, 3, 10), booking_id="booking-9")]

    error = refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 10, 15),
        kind="pharmacy_review",
    )

    assert error.code == "clinician_busy"
    assert (error.booking_id, error.starts_at, error.ends_at) == (
        "booking-9",
        utc(2026, 3, 3, 10),
        utc(2026, 3, 3, 10, 30),
    )
    assert "Tue 3 Mar 2026, 10:00 GMT" in error.message
    assert "Tue 3 Mar 2026, 10:30 GMT" in error.message
    assert "patient-2" not in error.message


def test_patient_cannot_be_double_booked_with_another_clinician() -> None:
    existing = [
        booking(
            utc(2026, 3, 3, 10),
            minutes=45,
            kind="social_work",
            clinician_id="clinician-2",
            patient_id="patient-1",
        )
    ]

    error = refusal(
        BookingConflictError, check, clinician(), existing, starts_at=utc(2026, 3, 3, 10, 30)
    )

    assert error.code == "patient_busy"
    assert isinstance(error, ConflictError)
    assert "10:00 GMT" in error.message and "10:45 GMT" in error.message
    assert "patient-1" not in error.message


def test_bookings_may_follow_each_other_without_a_gap_when_no_one_travels() -> None:
    existing = [
        booking(utc(2026, 3, 3, 10), booking_id="a"),
        booking(
            utc(2026, 3, 3, 11), clinician_id="clinician-2", patient_id="patient-1", booking_id="b"
        ),
    ]

    check(clinician(), existing, starts_at=utc(2026, 3, 3, 10, 30))


def test_the_earliest_clash_is_reported() -> None:
    existing = [
        booking(utc(2026, 3, 3, 11), booking_id="later"),
        booking(utc(2026, 3, 3, 10), minutes=60, booking_id="earlier"),
    ]

    error = refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 10, 45),
        minutes=30,
    )

    assert error.booking_id == "earlier"


def test_rescheduling_ignores_the_bookings_own_old_slot() -> None:
    existing = [booking(utc(2026, 3, 3, 10), patient_id="patient-1", booking_id="booking-7")]

    check(clinician(), existing, starts_at=utc(2026, 3, 3, 10, 15), ignore_booking_id="booking-7")
    error = refusal(
        BookingConflictError, check, clinician(), existing, starts_at=utc(2026, 3, 3, 10, 15)
    )
    assert error.code == "clinician_busy"


# Travel buffer around in-person visits


def test_an_in_person_visit_needs_travel_time_after_the_previous_booking() -> None:
    existing = [booking(utc(2026, 3, 3, 10))]

    error = refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 10, 45),
        minutes=60,
        kind="in_person",
    )
    assert error.code == "clinician_busy"
    assert "30 minutes" in error.message
    check(clinician(), existing, starts_at=utc(2026, 3, 3, 11), minutes=60, kind="in_person")


def test_an_in_person_visit_needs_travel_time_before_the_next_booking() -> None:
    existing = [booking(utc(2026, 3, 3, 12))]

    error = refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 10, 45),
        minutes=60,
        kind="in_person",
    )
    assert error.code == "clinician_busy"
    check(clinician(), existing, starts_at=utc(2026, 3, 3, 10, 30), minutes=60, kind="in_person")


@pytest.mark.parametrize(
    "starts_at, allowed",
    [
        (utc(2026, 3, 3, 9), True),
        (utc(2026, 3, 3, 9, 15), False),
        (utc(2026, 3, 3, 11), False),
        (utc(2026, 3, 3, 11, 15), False),
        (utc(2026, 3, 3, 11, 30), True),
    ],
)
def test_any_booking_keeps_travel_time_on_both_sides_of_an_in_person_visit(
    starts_at: datetime, allowed: bool
) -> None:
    existing = [booking(utc(2026, 3, 3, 10), minutes=60, kind="in_person")]

    if allowed:
        check(clinician(), existing, starts_at=starts_at)
    else:
        error = refusal(BookingConflictError, check, clinician(), existing, starts_at=starts_at)
        assert error.code == "clinician_busy"


def test_the_travel_buffer_can_be_changed() -> None:
    existing = [booking(utc(2026, 3, 3, 10), minutes=60, kind="in_person")]

    check(clinician(), existing, starts_at=utc(2026, 3, 3, 11), travel_buffer_min=0)
    refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 11, 30),
        travel_buffer_min=45,
    )
    check(clinician(), existing, starts_at=utc(2026, 3, 3, 11, 45), travel_buffer_min=45)


def test_the_travel_buffer_does_not_apply_to_the_patient() -> None:
    existing = [
        booking(
            utc(2026, 3, 3, 10),
            minutes=60,
            kind="in_person",
            clinician_id="clinician-2",
            patient_id="patient-1",
        )
    ]

    check(clinician(), existing, starts_at=utc(2026, 3, 3, 11))


# Working hours and the override


@pytest.mark.parametrize(
    "starts_at", [utc(2026, 3, 3, 8, 45), utc(2026, 3, 3, 16, 45), utc(2026, 3, 7, 10)]
)
def test_a_booking_outside_working_hours_is_refused(starts_at: datetime) -> None:
    error = refusal(SchedulingError, check, clinician(), starts_at=starts_at)

    assert error.code == "outside_working_hours"
    assert "override_reason" in error.message


def test_a_booking_in_time_off_is_refused_and_says_so() -> None:
    availability = clinician(exceptions=[TimeOff(utc(2026, 3, 3, 13), utc(2026, 3, 3, 17))])

    error = refusal(SchedulingError, check, availability, starts_at=utc(2026, 3, 3, 14))

    assert error.code == "outside_working_hours"
    assert "time off" in error.message


def test_an_override_with_a_reason_allows_a_booking_outside_working_hours() -> None:
    availability = clinician(exceptions=[days_off(TUESDAY, TUESDAY, LONDON)])
    reason = "Family asked for an urgent visit; the nurse agreed."

    check(availability, starts_at=utc(2026, 3, 3, 19), override_reason=reason)
    check(availability, starts_at=utc(2026, 3, 3, 10), override_reason=reason)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_an_override_without_a_reason_is_refused(reason: str) -> None:
    error = refusal(
        SchedulingError, check, clinician(), starts_at=utc(2026, 3, 3, 19), override_reason=reason
    )

    assert error.code == "override_reason_empty"
    assert error.field == "override_reason"


def test_an_override_does_not_allow_a_clash() -> None:
    existing = [booking(utc(2026, 3, 3, 19))]

    error = refusal(
        BookingConflictError,
        check,
        clinician(),
        existing,
        starts_at=utc(2026, 3, 3, 19),
        override_reason="Urgent.",
    )

    assert error.code == "clinician_busy"


# Every error code


@pytest.mark.parametrize(
    "changes, code, field",
    [
        ({"starts_at": datetime(2026, 3, 3, 10)}, "naive_datetime", "starts_at"),
        ({"ends_at": datetime(2026, 3, 3, 10, 30)}, "naive_datetime", "ends_at"),
        ({"now": datetime(2026, 3, 1)}, "naive_datetime", "now"),
        ({"ends_at": utc(2026, 3, 3, 10)}, "end_before_start", "ends_at"),
        ({"ends_at": utc(2026, 3, 3, 9)}, "end_before_start", "ends_at"),
        ({"ends_at": utc(2026, 3, 3, 18)}, "too_long", "ends_at"),
        ({"now": utc(2026, 3, 3, 10, 1)}, "in_the_past", "starts_at"),
        ({"kind": "chaplaincy"}, "unknown_kind", "kind"),
        ({"kind": "in_person"}, "kind_not_offered", "kind"),
        ({"starts_at": utc(2026, 3, 3, 8)}, "outside_working_hours", "starts_at"),
        ({"override_reason": " "}, "override_reason_empty", "override_reason"),
        ({"travel_buffer_min": -5}, "invalid_buffer", "travel_buffer_min"),
        (
            {"starts_at": datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo(NEW_YORK))},
            "nonexistent_local_time",
            "starts_at",
        ),
    ],
)
def test_check_booking_refuses_malformed_bookings_with_a_code(
    changes: dict[str, Any], code: str, field: str
) -> None:
    proposal: dict[str, Any] = {
        "patient_id": "patient-1",
        "kind": "video_visit",
        "starts_at": utc(2026, 3, 3, 10),
        "ends_at": utc(2026, 3, 3, 10, 30),
        "now": NOW,
    } | changes
    availability = clinician(kinds=("video_visit",))

    error = refusal(ValidationError, check_booking, availability, [], **proposal)

    assert (error.code, error.field) == (code, field)
    assert error.message.endswith(".")


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"kind": "chaplaincy"}, "unknown_kind"),
        ({"kind": "in_person"}, "kind_not_offered"),
        ({"now": datetime(2026, 3, 1)}, "naive_datetime"),
        ({"last_day": date(2026, 3, 2)}, "end_before_start"),
        ({"last_day": date(2026, 6, 3)}, "range_too_long"),
        ({"grid_min": 7}, "invalid_grid"),
        ({"grid_min": 0}, "invalid_grid"),
        ({"travel_buffer_min": 10_000}, "invalid_buffer"),
    ],
)
def test_free_slots_refuse_malformed_requests_with_a_code(
    changes: dict[str, Any], code: str
) -> None:
    request: dict[str, Any] = {
        "kind": "video_visit",
        "first_day": TUESDAY,
        "last_day": TUESDAY,
        "now": NOW,
    }
    request |= changes
    availability = clinician(kinds=("video_visit",))

    error = refusal(ValidationError, free_slots, availability, bookings=[], **request)

    assert error.code == code


def test_a_range_of_a_whole_quarter_is_allowed() -> None:
    slots = free_slots(
        clinician(),
        "video_visit",
        [],
        first_day=date(2026, 3, 2),
        last_day=date(2026, 6, 1),
        now=NOW,
    )

    assert slots[-1].starts_at == utc(2026, 6, 1, 15, 30)


# Daylight-saving changes


@pytest.mark.parametrize(
    "zone, before, after, first_before, first_after",
    [
        (LONDON, date(2026, 3, 27), date(2026, 3, 30), utc(2026, 3, 27, 9), utc(2026, 3, 30, 8)),
        (
            LONDON,
            date(2026, 10, 23),
            date(2026, 10, 26),
            utc(2026, 10, 23, 8),
            utc(2026, 10, 26, 9),
        ),
        (NEW_YORK, date(2026, 3, 6), date(2026, 3, 9), utc(2026, 3, 6, 14), utc(2026, 3, 9, 13)),
        (
            NEW_YORK,
            date(2026, 10, 30),
            date(2026, 11, 2),
            utc(2026, 10, 30, 13),
            utc(2026, 11, 2, 14),
        ),
    ],
)
def test_working_hours_stay_nine_to_five_on_the_wall_clock_across_a_change(
    zone: str, before: date, after: date, first_before: datetime, first_after: datetime
) -> None:
    availability = clinician(zone=zone)

    for day, first in ((before, first_before), (after, first_after)):
        slots = slots_on(availability, day)
        assert slots[0].starts_at == first
        assert slots[-1].ends_at == first + timedelta(hours=8)
        assert ", 09:00 " in format_in_zone(slots[0].starts_at, zone)
        assert ", 17:00 " in format_in_zone(slots[-1].ends_at, zone)


def night_shift(zone: str) -> Availability:
    return Availability(
        "clinician-1",
        zone,
        (WeeklyHours(5, time(22), time(0)), WeeklyHours(6, time(0), time(6))),
        (),
        default_lengths("video_visit"),
    )


def test_no_slot_falls_in_the_hour_skipped_in_spring() -> None:
    slots = free_slots(
        night_shift(NEW_YORK),
        "video_visit",
        [],
        first_day=date(2026, 3, 7),
        last_day=date(2026, 3, 8),
        now=NOW,
    )

    local_hours = [slot.starts_at.astimezone(ZoneInfo(NEW_YORK)).hour for slot in slots]
    # Seven hours of real time: 28 quarter hours, less the last 15 minutes for a 30 min visit.
    assert len(slots) == 27
    assert 2 not in local_hours
    assert local_hours.count(1) == 4 and local_hours.count(3) == 4


def test_the_hour_repeated_in_autumn_offers_slots_in_both_occurrences() -> None:
    slots = free_slots(
        night_shift(NEW_YORK),
        "video_visit",
        [],
        first_day=date(2026, 10, 31),
        last_day=date(2026, 11, 1),
        now=NOW,
    )

    shown = [format_in_zone(slot.starts_at, NEW_YORK) for slot in slots]
    assert len(slots) == 35  # nine hours of real time
    assert "Sun 1 Nov 2026, 01:30 EDT" in shown
    assert "Sun 1 Nov 2026, 01:30 EST" in shown


def test_a_booking_at_a_time_the_clocks_skip_is_refused() -> None:
    error = refusal(
        ValidationError,
        check,
        night_shift(NEW_YORK),
        starts_at=datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo(NEW_YORK)),
    )

    assert error.code == "nonexistent_local_time"


def test_both_occurrences_of_a_repeated_time_can_be_booked_separately() -> None:
    first = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)
    second = local(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    availability = night_shift(NEW_YORK)

    check(availability, starts_at=first)
    check(availability, [booking(first)], starts_at=second)
    assert second - first == timedelta(hours=1)


def test_hours_starting_in_the_skipped_hour_start_when_the_clocks_jump() -> None:
    availability = Availability(
        "clinician-1",
        NEW_YORK,
        (WeeklyHours(6, time(2, 30), time(6)),),
        (),
        default_lengths("video_visit"),
    )

    slots = slots_on(availability, date(2026, 3, 8))

    assert format_in_zone(slots[0].starts_at, NEW_YORK) == "Sun 8 Mar 2026, 03:00 EDT"
    assert slots[0].starts_at == utc(2026, 3, 8, 7)


def test_the_grid_follows_the_clock_across_a_half_hour_change() -> None:
    # Lord Howe Island turns its clocks back half an hour, 02:00 to 01:30, on 5 April 2026.
    slots = free_slots(
        night_shift("Australia/Lord_Howe"),
        "video_visit",
        [],
        first_day=date(2026, 4, 4),
        last_day=date(2026, 4, 5),
        now=NOW,
        grid_min=60,
    )

    shown = [slot.starts_at.astimezone(ZoneInfo("Australia/Lord_Howe")) for slot in slots]
    assert [at.strftime("%H:%M") for at in shown] == [
        "22:00", "23:00", "00:00", "01:00", "02:00", "03:00", "04:00", "05:00",
    ]  # fmt: skip


def first_free(
    availability: Availability | None, bookings: Iterable[Booking], earliest: datetime
) -> Slot | None:
    return first_free_time(
        availability,
        bookings,
        clinician_id="clinician-1",
        patient_id="patient-1",
        kind="video_visit",
        length=timedelta(minutes=30),
        earliest=earliest,
        zone_name=LONDON,
    )


def test_first_free_time_starts_now_or_after_the_visits_in_the_way() -> None:
    nurse = clinician()
    now = utc(2026, 3, 3, 10, 7)
    assert first_free(nurse, [], now) == Slot(now, now + timedelta(minutes=30))
    # The nurse's visit, then the patient's with someone else, then an in-person visit whose
    # travel buffer keeps the 30 minutes before it free: the first gap that fits follows.
    in_the_way = [
        booking(utc(2026, 3, 3, 10), 45),
        booking(utc(2026, 3, 3, 10, 45), 20, clinician_id="other", patient_id="patient-1"),
        booking(utc(2026, 3, 3, 11, 50), kind="in_person", booking_id="booking-3"),
    ]
    assert first_free(nurse, in_the_way, now) == Slot(
        utc(2026, 3, 3, 12, 50), utc(2026, 3, 3, 13, 20)
    )
    slot = first_free(nurse, [], utc(2026, 3, 3, 16, 40))
    assert slot is None  # 20 minutes of working hours left
    assert first_free(None, [], utc(2026, 3, 3, 16, 40)) is not None  # no hours kept
    off = clinician(exceptions=[TimeOff(utc(2026, 3, 3, 10), utc(2026, 3, 3, 16, 45))])
    assert first_free(off, [], now) is None
    assert first_free(nurse, [], utc(2026, 3, 7, 10)) is None  # Saturday: no hours
    # A slot is one check_booking accepts.
    check_booking(
        nurse,
        in_the_way,
        patient_id="patient-1",
        kind="video_visit",
        starts_at=utc(2026, 3, 3, 12, 50),
        ends_at=utc(2026, 3, 3, 13, 20),
        now=now,
    )

"""Properties of free_slots and check_booking over generated diaries.

Ranges are drawn next to daylight-saving changes in several zones (London, New York,
Lord Howe's half-hour change, Santiago's change at midnight) and in zones with odd offsets.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.availability import Availability, TimeOff, VisitKind, WeeklyHours
from encounters.booking import Booking
from encounters.errors import DomainError
from encounters.local_time import local_midnight
from encounters.scheduling import Slot, check_booking, free_slots, free_slots_by_clinician

CLINICIAN = "clinician-1"
UNBOOKED_PATIENT = "patient-0"
MINUTE = timedelta(minutes=1)
# All of these change their clocks between 00:00 and 03:00 local time, if at all.
ZONES_CHANGING_AT_NIGHT = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "UTC",
)
# Santiago changes at midnight, so hours ending at 00:00 meet a change there.
ALL_ZONES = (*ZONES_CHANGING_AT_NIGHT, "America/Santiago")
BOOKED_PAIRS = [(CLINICIAN, "patient-1"), (CLINICIAN, "patient-2"), ("clinician-2", "patient-1")]
NEAR_CHANGES = (
    date(2026, 3, 6),  # New York, 8 March
    date(2026, 3, 27),  # London, 29 March
    date(2026, 4, 3),  # Lord Howe and Santiago, 5 April
    date(2026, 9, 4),  # Santiago, 6 September
    date(2026, 10, 2),  # Lord Howe, 4 October
    date(2026, 10, 23),  # London, 25 October
    date(2026, 10, 30),  # New York, 1 November
    date(2026, 6, 15),  # no change anywhere
)


@dataclass(frozen=True)
class Scenario:
    availability: Availability
    kind: VisitKind
    bookings: list[Booking]
    first_day: date
    last_day: date
    now: datetime
    patient_id: str | None
    ignore_booking_id: str | None
    grid_min: int
    travel_buffer_min: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.availability.zone)

    def free_slots(self) -> list[Slot]:
        return free_slots(
            self.availability,
            self.kind,
            self.bookings,
            first_day=self.first_day,
            last_day=self.last_day,
            now=self.now,
            patient_id=self.patient_id,
            ignore_booking_id=self.ignore_booking_id,
            grid_min=self.grid_min,
            travel_buffer_min=self.travel_buffer_min,
        )

    def is_accepted(self, starts_at: datetime) -> bool:
        try:
            check_booking(
                self.availability,
                self.bookings,
                patient_id=self.patient_id or UNBOOKED_PATIENT,
                kind=self.kind,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=self.availability.kinds[self.kind]),
                now=self.now,
                ignore_booking_id=self.ignore_booking_id,
                travel_buffer_min=self.travel_buffer_min,
            )
        except DomainError:
            return False
        return True


def minutes_to_time(minute_of_day: int) -> time:
    return time(0) if minute_of_day == 24 * 60 else time(minute_of_day // 60, minute_of_day % 60)


@st.composite
def weekly_hours(draw: st.DrawFn, earliest_min: int) -> tuple[WeeklyHours, ...]:
    """Up to two stretches of hours on each weekday, so most ranges meet some hours."""
    weekly: list[WeeklyHours] = []
    for weekday in range(7):
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            start = draw(st.integers(earliest_min // 5, 24 * 12 - 1)) * 5
            end = draw(st.integers(start // 5 + 1, 24 * 12)) * 5
            weekly.append(WeeklyHours(weekday, minutes_to_time(start), minutes_to_time(end)))
    return tuple(weekly)


@st.composite
def scenarios(
    draw: st.DrawFn, zones: Sequence[str], earliest_edge_min: int, grids: Sequence[int]
) -> Scenario:
    zone_name = draw(st.sampled_from(zones))
    first_day = draw(st.sampled_from(NEAR_CHANGES)) + timedelta(days=draw(st.integers(0, 3)))
    last_day = first_day + timedelta(days=draw(st.integers(0, 2)))
    origin = local_midnight(first_day - timedelta(days=1), ZoneInfo(zone_name))

    def instant(max_minutes: int) -> st.SearchStrategy[datetime]:
        return st.integers(0, max_minutes).map(lambda minutes: origin + minutes * MINUTE)

    kind = draw(st.sampled_from(list(VisitKind)))
    lengths: dict[str, int] = draw(
        st.dictionaries(st.sampled_from(list(VisitKind)), st.integers(1, 24).map(lambda n: 5 * n))
    )
    lengths[kind] = draw(st.integers(1, 24).map(lambda n: 5 * n))
    exceptions = [
        TimeOff(start, start + draw(st.integers(1, 24 * 60)) * MINUTE)
        for start in draw(st.lists(instant(5 * 24 * 60), max_size=2))
    ]
    availability = Availability(
        CLINICIAN,
        zone_name,
        draw(weekly_hours(earliest_edge_min)),
        tuple(exceptions),
        lengths,
    )
    bookings: list[Booking] = []
    for start in draw(st.lists(instant(5 * 24 * 60), max_size=12)):
        clinician_id, patient_id = draw(st.sampled_from(BOOKED_PAIRS))
        bookings.append(
            Booking(
                f"booking-{len(bookings)}",
                clinician_id,
                patient_id,
                draw(st.sampled_from(list(VisitKind))),
                start,
                start + draw(st.integers(1, 180)) * MINUTE,
            )
        )
    ids = [f"booking-{number}" for number in range(len(bookings))]
    return Scenario(
        availability=availability,
        kind=kind,
        bookings=bookings,
        first_day=first_day,
        last_day=last_day,
        # Mostly before the range, so that most of it can still be booked.
        now=draw(st.one_of(instant(24 * 60), instant(4 * 24 * 60))),
        patient_id=draw(st.sampled_from([None, "patient-1", "patient-1"])),
        ignore_booking_id=draw(st.sampled_from([None, *ids])),
        grid_min=draw(st.sampled_from(grids)),
        travel_buffer_min=draw(st.sampled_from([0, 15, 30, 45])),
    )


def is_in_weekly_hours(scenario: Scenario, starts_at: datetime, ends_at: datetime) -> bool:
    """Judge by the clinician's clock alone: every minute shown lies in hours for its day.

    Valid when no clock change falls inside the slot, which holds when hours start at
    03:00 or later in zones that change between 00:00 and 03:00.
    """
    first, last = starts_at.astimezone(scenario.zone), ends_at.astimezone(scenario.zone)
    assert last.replace(tzinfo=None) - first.replace(tzinfo=None) == ends_at - starts_at
    assert first.date() == (last - MINUTE).date()
    covered: set[int] = set()
    for hours in scenario.availability.weekly:
        if hours.weekday == first.weekday():
            end_min = 24 * 60 if hours.ends_at_midnight else hours.end.hour * 60 + hours.end.minute
            covered.update(range(hours.start.hour * 60 + hours.start.minute, end_min))
    first_min = first.hour * 60 + first.minute
    return all(
        minute in covered for minute in range(first_min, first_min + (last - first) // MINUTE)
    )


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return start < other_end and other_start < end


@settings(deadline=None)
@given(scenarios(ZONES_CHANGING_AT_NIGHT, earliest_edge_min=3 * 60, grids=[5, 10, 15, 20, 30, 60]))
def test_free_slots_keep_every_rule_and_pass_check_booking(scenario: Scenario) -> None:
    slots = scenario.free_slots()

    length = timedelta(minutes=scenario.availability.kinds[scenario.kind])
    buffer = timedelta(minutes=scenario.travel_buffer_min)
    bookings = [b for b in scenario.bookings if b.booking_id != scenario.ignore_booking_id]
    assert [slot.starts_at for slot in slots] == sorted({slot.starts_at for slot in slots})
    for slot in slots:
        shown = slot.starts_at.astimezone(scenario.zone)
        assert slot.ends_at - slot.starts_at == length
        assert slot.starts_at >= scenario.now
        assert scenario.first_day <= shown.date() <= scenario.last_day
        assert (shown.hour * 60 + shown.minute) % scenario.grid_min == 0
        assert (shown.second, shown.microsecond) == (0, 0)
        assert is_in_weekly_hours(scenario, slot.starts_at, slot.ends_at)
        for off in scenario.availability.exceptions:
            assert not overlaps(slot.starts_at, slot.ends_at, off.starts_at, off.ends_at)
        for booking in bookings:
            if booking.clinician_id == CLINICIAN:
                in_person = VisitKind.IN_PERSON in (booking.kind, scenario.kind)
                pad = buffer if in_person else timedelta(0)
                booked = (booking.starts_at - pad, booking.ends_at + pad)
                assert not overlaps(slot.starts_at, slot.ends_at, *booked)
            if booking.patient_id == scenario.patient_id:
                booked = (booking.starts_at, booking.ends_at)
                assert not overlaps(slot.starts_at, slot.ends_at, *booked)
    for slot in slots[:: max(1, len(slots) // 40)]:
        assert scenario.is_accepted(slot.starts_at)


@settings(deadline=None)
@given(scenarios(ALL_ZONES, earliest_edge_min=0, grids=[15, 20, 30, 60]))
def test_free_slots_are_exactly_the_grid_times_check_booking_accepts(scenario: Scenario) -> None:
    offered = {slot.starts_at for slot in scenario.free_slots()}

    grid = timedelta(minutes=scenario.grid_min)
    candidate = local_midnight(scenario.first_day, scenario.zone)
    until = local_midnight(scenario.last_day + timedelta(days=1), scenario.zone)
    while candidate < until:
        shown = candidate.astimezone(scenario.zone)
        since_midnight = timedelta(hours=shown.hour, minutes=shown.minute)
        if since_midnight % grid == timedelta(0):
            assert scenario.is_accepted(candidate) is (candidate in offered), candidate
        candidate += 5 * MINUTE
    assert all(start < until for start in offered)


@settings(deadline=None)
@given(scenarios(ALL_ZONES, earliest_edge_min=0, grids=[15, 30]), st.sampled_from(ALL_ZONES))
def test_free_slots_by_clinician_agrees_with_free_slots_for_each(
    scenario: Scenario, other_zone: str
) -> None:
    other = Availability(
        "clinician-2",
        other_zone,
        scenario.availability.weekly,
        (),
        {scenario.kind: 30},
    )
    team = [scenario.availability, other]

    by_clinician = free_slots_by_clinician(
        team,
        scenario.kind,
        scenario.bookings,
        first_day=scenario.first_day,
        last_day=scenario.last_day,
        now=scenario.now,
        patient_id=scenario.patient_id,
        ignore_booking_id=scenario.ignore_booking_id,
        grid_min=scenario.grid_min,
        travel_buffer_min=scenario.travel_buffer_min,
    )

    for member in team:
        assert by_clinician[member.clinician_id] == free_slots(
            member,
            scenario.kind,
            scenario.bookings,
            first_day=scenario.first_day,
            last_day=scenario.last_day,
            now=scenario.now,
            patient_id=scenario.patient_id,
            ignore_booking_id=scenario.ignore_booking_id,
            grid_min=scenario.grid_min,
            travel_buffer_min=scenario.travel_buffer_min,
        )

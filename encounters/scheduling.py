"""Booking rules: the check one booking must pass, and the free slots that pass it.

A booking is accepted when

- its start and end are aware datetimes, the end after the start, the start not before
  ``now``, and its kind is one the clinician does;
- it lies inside the clinician's weekly hours and outside their time off, unless a
  scheduler overrides that with a reason (a dying patient may not be able to wait);
- neither the clinician nor the patient has another booking at that time, of any kind;
- an in-person visit keeps a travel buffer from the clinician's neighbouring bookings,
  before and after, whichever of the two is the in-person one.

:func:`free_slots` applies the same rules to a grid of start times on the clinician's
clock, so :func:`check_booking` accepts every slot it returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from encounters.availability import (
    MAX_VISIT_LENGTH_MIN,
    Availability,
    Id,
    SchedulingError,
    VisitKind,
    available_intervals,
    parse_kind,
    weekly_intervals,
)
from encounters.booking import (
    TRAVEL_BUFFER_MIN,
    Booking,
    blocked_intervals,
    check_no_clash,
    travel_buffer,
)
from encounters.intervals import is_within_one, subtract_intervals
from encounters.local_time import (
    format_in_zone,
    format_span_in_zone,
    load_zone,
    local_date,
    local_midnight,
    to_utc,
    utc_offset_at,
    utc_offset_changes,
)

# Quarter hours are how a diary is read; a finer grid floods the scheduler's week view.
SLOT_GRID_MIN = 15
# A quarter of a year is the longest view a scheduler asks for; it bounds one request's work.
MAX_RANGE_DAYS = 92
_MINUTES_PER_DAY = 24 * 60
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """A free stretch of a clinician's time, as long as the visit kind asked for, in UTC."""

    starts_at: datetime
    ends_at: datetime


def check_booking(
    availability: Availability,
    existing: Iterable[Booking],
    *,
    patient_id: Id,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    ignore_booking_id: Id | None = None,
    override_reason: str | None = None,
    travel_buffer_min: int = TRAVEL_BUFFER_MIN,
) -> None:
    """Accept a proposed booking with ``availability``'s clinician, or raise why not.

    ``existing`` holds at least the clinician's and the patient's bookings around that time.
    To reschedule, pass the booking's own id as ``ignore_booking_id`` so its old slot does
    not clash. ``override_reason`` (non-empty) allows a time outside working hours or in
    time off, never a clash. Raises a ValidationError (:class:`SchedulingError`, or
    ``InvalidTimeError`` for a naive or skipped time) for a malformed or disallowed booking,
    and :class:`BookingConflictError` when the clinician or the patient is busy.
    """
    buffer = travel_buffer(travel_buffer_min)
    starts_at = to_utc(starts_at, "starts_at")
    ends_at = to_utc(ends_at, "ends_at")
    now = to_utc(now, "now")
    zone_name = availability.zone
    if ends_at <= starts_at:
        raise SchedulingError(
            f"ends_at ({format_in_zone(ends_at, zone_name)}) must be after starts_at "
            f"({format_in_zone(starts_at, zone_name)}).",
            code="end_before_start",
            field="ends_at",
        )
    if ends_at - starts_at > timedelta(minutes=MAX_VISIT_LENGTH_MIN):
        raise SchedulingError(
            f"The booking lasts {(ends_at - starts_at) // timedelta(minutes=1)} minutes; "
            f"expected at most {MAX_VISIT_LENGTH_MIN} minutes.",
            code="too_long",
            field="ends_at",
        )
    visit_kind = _offered_kind(availability, kind)
    if override_reason is not None and not override_reason.strip():
        raise SchedulingError(
            "override_reason is empty; expected a sentence saying why the booking may fall "
            "outside working hours, or no override at all.",
            code="override_reason_empty",
            field="override_reason",
        )
    if starts_at < now:
        raise SchedulingError(
            f"starts_at ({format_in_zone(starts_at, zone_name)}) is in the past; expected a "
            f"time from {format_in_zone(now, zone_name)} on.",
            code="in_the_past",
            field="starts_at",
        )
    if override_reason is None:
        _check_working_hours(availability, starts_at, ends_at)
    check_no_clash(
        existing,
        clinician_id=availability.clinician_id,
        patient_id=patient_id,
        kind=visit_kind,
        starts_at=starts_at,
        ends_at=ends_at,
        buffer=buffer,
        ignore_booking_id=ignore_booking_id,
        zone_name=availability.zone,
    )


def free_slots(
    availability: Availability,
    kind: str,
    bookings: Iterable[Booking],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    patient_id: Id | None = None,
    ignore_booking_id: Id | None = None,
    grid_min: int = SLOT_GRID_MIN,
    travel_buffer_min: int = TRAVEL_BUFFER_MIN,
) -> list[Slot]:
    """Return the clinician's free slots of ``kind`` starting on local dates in a range.

    ``first_day`` and ``last_day`` (inclusive) are dates on the clinician's calendar. Slots
    start on a ``grid_min`` grid of their wall clock (09:00, 09:15, ...), not before ``now``,
    and last the kind's length. ``bookings`` should hold the clinician's bookings and, when
    ``patient_id`` is given, that patient's, whose times are then excluded as well.
    """
    visit_kind = _offered_kind(availability, kind)
    grid, buffer = _grid(grid_min), travel_buffer(travel_buffer_min)
    _check_range(first_day, last_day)
    return _find_slots(
        availability,
        visit_kind,
        bookings,
        first_day,
        last_day,
        to_utc(now, "now"),
        patient_id,
        ignore_booking_id,
        grid,
        buffer,
    )


def free_slots_by_clinician(
    availabilities: Iterable[Availability],
    kind: str,
    bookings: Iterable[Booking],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    patient_id: Id | None = None,
    ignore_booking_id: Id | None = None,
    grid_min: int = SLOT_GRID_MIN,
    travel_buffer_min: int = TRAVEL_BUFFER_MIN,
) -> dict[Id, list[Slot]]:
    """Return :func:`free_slots` for many clinicians at once: the scheduler's week view.

    A clinician who does not do ``kind`` is left out of the result; one who does but is
    fully booked maps to an empty list. ``bookings`` may mix all the clinicians' bookings.
    """
    visit_kind = parse_kind(kind)
    grid, buffer = _grid(grid_min), travel_buffer(travel_buffer_min)
    _check_range(first_day, last_day)
    now = to_utc(now, "now")
    by_clinician: dict[Id, list[Booking]] = {}
    of_patient: list[Booking] = []
    for booking in bookings:
        by_clinician.setdefault(booking.clinician_id, []).append(booking)
        if patient_id is not None and booking.patient_id == patient_id:
            of_patient.append(booking)
    result: dict[Id, list[Slot]] = {}
    for availability in availabilities:
        if visit_kind not in availability.kinds:
            continue
        result[availability.clinician_id] = _find_slots(
            availability,
            visit_kind,
            by_clinician.get(availability.clinician_id, []) + of_patient,
            first_day,
            last_day,
            now,
            patient_id,
            ignore_booking_id,
            grid,
            buffer,
        )
    return result


def first_free_time(
    availability: Availability | None,
    bookings: Iterable[Booking],
    *,
    clinician_id: Id,
    patient_id: Id,
    kind: str,
    length: timedelta,
    earliest: datetime,
    zone_name: str,
    travel_buffer_min: int = TRAVEL_BUFFER_MIN,
) -> Slot | None:
    """The first stretch of ``length`` from ``earliest`` on that starts on the same local day
    in ``zone_name`` (the clinician's) and clashes with neither diary, or None.

    With ``availability`` the stretch lies inside the clinician's hours and outside their time
    off; without (a clinic that keeps no hours in Hearth) any time of the day will do. The
    start is not put on a grid: a visit started now, or straight after the last one, starts
    then. :func:`check_booking` accepts the slot it returns.
    """
    visit_kind = parse_kind(kind)
    earliest = to_utc(earliest, "earliest")
    zone = load_zone(zone_name) if availability is None else availability.tz
    today = local_date(earliest, zone)
    until = local_midnight(today + _ONE_DAY, zone)
    if availability is None:
        open_time = [(earliest, until + length)]
    else:
        open_time = available_intervals(availability, today - _ONE_DAY, today + _ONE_DAY)
    blocked = blocked_intervals(
        bookings,
        clinician_id=clinician_id,
        patient_id=patient_id,
        kind=visit_kind,
        buffer=travel_buffer(travel_buffer_min),
        ignore_booking_id=None,
    )
    for start, end in subtract_intervals(open_time, blocked):
        start = max(start, earliest)
        if start >= until:
            break
        if start + length <= end:
            return Slot(start, start + length)
    return None


def _find_slots(
    availability: Availability,
    kind: VisitKind,
    bookings: Iterable[Booking],
    first_day: date,
    last_day: date,
    now: datetime,
    patient_id: Id | None,
    ignore_booking_id: Id | None,
    grid: timedelta,
    buffer: timedelta,
) -> list[Slot]:
    zone = availability.tz
    length = timedelta(minutes=availability.kinds[kind])
    # A day either side, so a slot near the range's edge sees hours joined across midnight
    # exactly as check_booking does.
    open_time = available_intervals(availability, first_day - _ONE_DAY, last_day + _ONE_DAY)
    blocked = blocked_intervals(
        bookings,
        clinician_id=availability.clinician_id,
        patient_id=patient_id,
        kind=kind,
        buffer=buffer,
        ignore_booking_id=ignore_booking_id,
    )
    earliest = max(now, local_midnight(first_day, zone))
    until = local_midnight(last_day + _ONE_DAY, zone)
    slots: list[Slot] = []
    for start, end in subtract_intervals(open_time, blocked):
        if end > earliest and start < until:
            _add_grid_slots(slots, max(start, earliest), end, until, length, grid, zone)
    return slots


def _add_grid_slots(
    slots: list[Slot],
    start: datetime,
    end: datetime,
    until: datetime,
    length: timedelta,
    grid: timedelta,
    zone: ZoneInfo,
) -> None:
    """Append the slots of ``length`` that start on the local grid in [start, until) and fit."""
    last_start = min(end - length, until - timedelta.resolution)
    if last_start < start:
        return
    # The grid follows the wall clock, so it restarts where the zone's offset changes.
    bounds = [start, *utc_offset_changes(start, end, zone), end]
    for segment_start, segment_end in zip(bounds, bounds[1:], strict=False):
        local = segment_start + utc_offset_at(segment_start, zone)
        since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
        grid_steps = -(-since_midnight // grid)
        slot_start = segment_start + (grid * grid_steps - since_midnight)
        stop = min(segment_end - timedelta.resolution, last_start)
        while slot_start <= stop:
            slots.append(Slot(slot_start, slot_start + length))
            slot_start += grid


def _check_working_hours(
    availability: Availability, starts_at: datetime, ends_at: datetime
) -> None:
    zone = availability.tz
    first_day = local_date(starts_at, zone) - _ONE_DAY
    last_day = local_date(ends_at, zone) + _ONE_DAY
    if is_within_one(available_intervals(availability, first_day, last_day), starts_at, ends_at):
        return
    when = format_span_in_zone(starts_at, ends_at, availability.zone)
    if is_within_one(weekly_intervals(availability, first_day, last_day), starts_at, ends_at):
        reason = "falls in the clinician's time off"
    else:
        reason = f"is outside the clinician's working hours in {availability.zone}"
    raise SchedulingError(
        f"The booking {when} {reason}; give an override_reason to book it anyway.",
        code="outside_working_hours",
        field="starts_at",
    )


def _offered_kind(availability: Availability, kind: str) -> VisitKind:
    visit_kind = parse_kind(kind)
    if visit_kind not in availability.kinds:
        offered = ", ".join(availability.kinds) or "none"
        raise SchedulingError(
            f"This clinician does not do {visit_kind.value}; the kinds they do: {offered}.",
            code="kind_not_offered",
            field="kind",
        )
    return visit_kind


def _grid(grid_min: int) -> timedelta:
    # The grid must divide the day so that it lines up with every local midnight.
    if not 0 < grid_min <= _MINUTES_PER_DAY or _MINUTES_PER_DAY % grid_min:
        raise SchedulingError(
            f"grid_min is {grid_min}; expected a number of minutes that divides a day "
            "evenly, such as 5, 10, 15, 30 or 60.",
            code="invalid_grid",
            field="grid_min",
        )
    return timedelta(minutes=grid_min)


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise SchedulingError(
            f"last_day ({last_day}) is before first_day ({first_day}); expected a day on or "
            "after it.",
            code="end_before_start",
            field="last_day",
        )
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise SchedulingError(
            f"The range {first_day} to {last_day} is longer than {MAX_RANGE_DAYS} days; "
            "expected a shorter range.",
            code="range_too_long",
            field="last_day",
        )

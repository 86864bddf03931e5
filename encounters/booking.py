"""Bookings already in the diary, and the time each one keeps a new booking out of.

A clinician's booking blocks its own time for that clinician, plus a travel buffer on both
sides when either it or the new booking is an in-person visit. A patient's booking with any
clinician blocks its own time for that patient, with no buffer: the patient stays at home.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from encounters.availability import Id, SchedulingError, VisitKind
from encounters.errors import ConflictError
from encounters.intervals import Interval, merge_intervals
from encounters.local_time import format_span_in_zone, to_utc

# Community palliative teams drive between homes; half an hour covers a town or a suburb.
# Rural services pass a longer buffer.
TRAVEL_BUFFER_MIN = 30
MAX_TRAVEL_BUFFER_MIN = 4 * 60
_NO_TIME = timedelta(0)


@dataclass(frozen=True, slots=True)
class Booking:
    """A visit already in the diary. Times are stored in UTC."""

    booking_id: Id
    clinician_id: Id
    patient_id: Id
    kind: str
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", to_utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "ends_at", to_utc(self.ends_at, "ends_at"))
        if self.ends_at <= self.starts_at:
            raise SchedulingError(
                "A booking must end after it starts; ends_at is not after starts_at.",
                code="end_before_start",
                field="ends_at",
            )


class BookingConflictError(ConflictError):
    """The clinician or the patient is already booked; carries the conflicting booking."""

    code = "booking_conflict"

    def __init__(
        self, message: str, *, code: str, booking_id: Id, starts_at: datetime, ends_at: datetime
    ) -> None:
        super().__init__(message, code=code, field="starts_at")
        self.booking_id = booking_id
        self.starts_at = starts_at
        self.ends_at = ends_at


def travel_buffer(travel_buffer_min: int) -> timedelta:
    """Return the travel buffer as a duration, refusing a negative or absurd one."""
    if not 0 <= travel_buffer_min <= MAX_TRAVEL_BUFFER_MIN:
        raise SchedulingError(
            f"travel_buffer_min is {travel_buffer_min}; expected 0 to "
            f"{MAX_TRAVEL_BUFFER_MIN} minutes.",
            code="invalid_buffer",
            field="travel_buffer_min",
        )
    return timedelta(minutes=travel_buffer_min)


def travel_padding(kind: str, other_kind: str, buffer: timedelta) -> timedelta:
    """Time kept free between two of a clinician's bookings: travel, if either is at home."""
    return buffer if VisitKind.IN_PERSON in (kind, other_kind) else _NO_TIME


def blocked_intervals(
    bookings: Iterable[Booking],
    *,
    clinician_id: Id,
    patient_id: Id | None,
    kind: str,
    buffer: timedelta,
    ignore_booking_id: Id | None,
) -> list[Interval]:
    """Return, sorted and merged, the times a new booking of ``kind`` may not overlap."""
    blocked: list[Interval] = []
    for booking in bookings:
        if ignore_booking_id is not None and booking.booking_id == ignore_booking_id:
            continue
        if booking.clinician_id == clinician_id:
            padding = travel_padding(kind, booking.kind, buffer)
            blocked.append((booking.starts_at - padding, booking.ends_at + padding))
        elif booking.patient_id == patient_id:
            blocked.append((booking.starts_at, booking.ends_at))
    return merge_intervals(blocked)


def check_no_clash(
    existing: Iterable[Booking],
    *,
    clinician_id: Id,
    patient_id: Id,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    buffer: timedelta,
    ignore_booking_id: Id | None,
    zone_name: str,
) -> None:
    """Raise :class:`BookingConflictError` for the earliest clash, the clinician's first.

    Times in the message are shown in ``zone_name``; the patient is never named.
    """
    clinician_clashes: list[tuple[Booking, timedelta]] = []
    patient_clashes: list[Booking] = []
    for booking in existing:
        if ignore_booking_id is not None and booking.booking_id == ignore_booking_id:
            continue
        if booking.clinician_id == clinician_id:
            padding = travel_padding(kind, booking.kind, buffer)
            if booking.starts_at - padding < ends_at and starts_at < booking.ends_at + padding:
                clinician_clashes.append((booking, padding))
        overlaps = booking.starts_at < ends_at and starts_at < booking.ends_at
        if booking.patient_id == patient_id and overlaps:
            patient_clashes.append(booking)
    if clinician_clashes:
        booking, padding = min(clinician_clashes, key=lambda clash: clash[0].starts_at)
        travel = (
            f"; in-person visits keep {padding // timedelta(minutes=1)} minutes free for "
            "travel before and after"
            if padding
            else ""
        )
        raise _clash("clinician_busy", "The clinician", booking, zone_name, travel)
    if patient_clashes:
        booking = min(patient_clashes, key=lambda clash: clash.starts_at)
        raise _clash("patient_busy", "The patient", booking, zone_name, "")


def _clash(
    code: str, who: str, booking: Booking, zone_name: str, note: str
) -> BookingConflictError:
    when = format_span_in_zone(booking.starts_at, booking.ends_at, zone_name)
    return BookingConflictError(
        f"{who} already has a booking {when}{note}; expected a time that does not overlap it.",
        code=code,
        booking_id=booking.booking_id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
    )

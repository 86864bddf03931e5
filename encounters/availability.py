"""What a clinician offers: visit kinds and their lengths, weekly hours, and time off.

Weekly hours are wall-clock hours in the clinician's own zone, so 09:00-17:00 stays
09:00-17:00 on their clock on both sides of a daylight-saving change; the real length of a
shift that spans the change grows or shrinks by the hour the clocks move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias
from zoneinfo import ZoneInfo

from encounters.errors import ValidationError
from encounters.intervals import Interval, merge_intervals, subtract_intervals
from encounters.local_time import load_zone, local_midnight, to_utc, wall_time_to_utc

Id: TypeAlias = str | int
"""Ids come from the caller (the database); the domain only compares them."""


class SchedulingError(ValidationError):
    """A scheduling value is malformed: hours, a kind, a length, a range, a booking."""

    code = "invalid_schedule"


class VisitKind(StrEnum):
    VIDEO_VISIT = "video_visit"
    IN_PERSON = "in_person"
    PHARMACY_REVIEW = "pharmacy_review"
    SOCIAL_WORK = "social_work"


# A symptom review on video (ESAS-r, medicines, plan for the coming days) fits half an hour.
VIDEO_VISIT_LENGTH_MIN = 30
# At home the nurse or physician also examines, checks the syringe driver and the
# just-in-case medicines, and talks with the family: an hour.
IN_PERSON_LENGTH_MIN = 60
# A pharmacist reconciles regular and as-needed medicines; half an hour, as for video.
PHARMACY_REVIEW_LENGTH_MIN = 30
# Social work talks involve several family members and practical matters (benefits, care
# at home, advance planning), so they run longer than a clinical review.
SOCIAL_WORK_LENGTH_MIN = 45

DEFAULT_VISIT_LENGTH_MIN: Mapping[VisitKind, int] = MappingProxyType(
    {
        VisitKind.VIDEO_VISIT: VIDEO_VISIT_LENGTH_MIN,
        VisitKind.IN_PERSON: IN_PERSON_LENGTH_MIN,
        VisitKind.PHARMACY_REVIEW: PHARMACY_REVIEW_LENGTH_MIN,
        VisitKind.SOCIAL_WORK: SOCIAL_WORK_LENGTH_MIN,
    }
)
# A visit longer than a half day is a data-entry mistake, not a visit.
MAX_VISIT_LENGTH_MIN = 4 * 60
_KIND_NAMES = ", ".join(kind.value for kind in VisitKind)
_DAYS_IN_WEEK = 7


def parse_kind(kind: str, *, field: str = "kind") -> VisitKind:
    """Return the visit kind named ``kind``, or refuse an unknown name."""
    try:
        return VisitKind(kind)
    except ValueError:
        raise SchedulingError(
            f"{field} {kind[:40]!r} is not a visit kind; expected one of: {_KIND_NAMES}.",
            code="unknown_kind",
            field=field,
        ) from None


def default_lengths(*kinds: str) -> dict[str, int]:
    """Return the default length in minutes of each of ``kinds``, for :class:`Availability`."""
    visit_kinds = [parse_kind(kind) for kind in kinds]
    return {kind: DEFAULT_VISIT_LENGTH_MIN[kind] for kind in visit_kinds}


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """One stretch of working hours on one weekday, in the clinician's wall-clock time.

    ``weekday`` counts as :meth:`datetime.date.weekday` does: 0 is Monday, 6 is Sunday.
    ``end`` of 00:00 means midnight at the end of the day, so a night shift is two entries:
    Monday 22:00-00:00 and Tuesday 00:00-06:00. Several entries on one day make a split
    shift; entries that touch or overlap are joined.
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday < _DAYS_IN_WEEK:
            raise SchedulingError(
                f"weekday {self.weekday} is out of range; expected 0 (Monday) to 6 (Sunday).",
                code="invalid_weekday",
                field="weekday",
            )
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise SchedulingError(
                "Weekly hours are wall-clock times in the clinician's zone; "
                "expected start and end without a time zone.",
                code="invalid_hours",
                field="start",
            )
        if not self.ends_at_midnight and self.end <= self.start:
            raise SchedulingError(
                f"Weekly hours end ({self.end:%H:%M}) must be after their start "
                f"({self.start:%H:%M}); use 00:00 as the end for midnight.",
                code="end_before_start",
                field="end",
            )

    @property
    def ends_at_midnight(self) -> bool:
        return self.end == time(0)


@dataclass(frozen=True, slots=True)
class TimeOff:
    """A stretch of real time the clinician is away: leave, training, a blocked afternoon."""

    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts_at", to_utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "ends_at", to_utc(self.ends_at, "ends_at"))
        if self.ends_at <= self.starts_at:
            raise SchedulingError(
                "Time off must end after it starts; ends_at is not after starts_at.",
                code="end_before_start",
                field="ends_at",
            )


def days_off(first_day: date, last_day: date, zone_name: str) -> TimeOff:
    """Return whole days of leave, ``first_day`` to ``last_day`` inclusive, in a zone."""
    if last_day < first_day:
        raise SchedulingError(
            f"last_day ({last_day}) is before first_day ({first_day}); expected a day "
            "on or after it.",
            code="end_before_start",
            field="last_day",
        )
    zone = load_zone(zone_name)
    return TimeOff(
        local_midnight(first_day, zone), local_midnight(last_day + timedelta(days=1), zone)
    )


@dataclass(frozen=True, slots=True)
class Availability:
    """When a clinician works and what they do, each kind with its length in minutes.

    ``zone`` is an IANA name. ``exceptions`` are time off taken out of the weekly hours.
    """

    clinician_id: Id
    zone: str
    weekly: tuple[WeeklyHours, ...] = ()
    exceptions: tuple[TimeOff, ...] = ()
    kinds: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        load_zone(self.zone)
        kinds: dict[str, int] = {}
        for kind, length_min in self.kinds.items():
            if not 0 < length_min <= MAX_VISIT_LENGTH_MIN:
                raise SchedulingError(
                    f"The length of {kind[:40]!r} is {length_min} minutes; expected 1 to "
                    f"{MAX_VISIT_LENGTH_MIN} minutes.",
                    code="invalid_length",
                    field="kinds",
                )
            kinds[parse_kind(kind, field="kinds")] = length_min
        # A frozen dataclass should not change under the caller's feet through a shared dict.
        object.__setattr__(self, "kinds", MappingProxyType(kinds))
        object.__setattr__(self, "weekly", tuple(self.weekly))
        object.__setattr__(self, "exceptions", tuple(self.exceptions))

    @property
    def tz(self) -> ZoneInfo:
        return load_zone(self.zone)


def weekly_intervals(availability: Availability, first_day: date, last_day: date) -> list[Interval]:
    """Return the UTC intervals of weekly hours on local dates ``first_day`` to ``last_day``.

    Time off is not taken out; see :func:`available_intervals`.
    """
    zone = availability.tz
    by_weekday: list[list[WeeklyHours]] = [[] for _ in range(_DAYS_IN_WEEK)]
    for hours in availability.weekly:
        by_weekday[hours.weekday].append(hours)
    windows: list[Interval] = []
    day = first_day
    while day <= last_day:
        for hours in by_weekday[day.weekday()]:
            start = wall_time_to_utc(day, hours.start, zone)
            if hours.ends_at_midnight:
                end = local_midnight(day + timedelta(days=1), zone)
            else:
                end = wall_time_to_utc(day, hours.end, zone)
            # Hours that lie wholly in a skipped hour do not exist that day; merge drops them.
            windows.append((start, end))
        day += timedelta(days=1)
    return merge_intervals(windows)


def time_off_intervals(availability: Availability) -> list[Interval]:
    """Return the clinician's time off as sorted, merged UTC intervals."""
    return merge_intervals((off.starts_at, off.ends_at) for off in availability.exceptions)


def available_intervals(
    availability: Availability, first_day: date, last_day: date
) -> list[Interval]:
    """Return weekly hours on local dates ``first_day`` to ``last_day`` minus time off, UTC."""
    return subtract_intervals(
        weekly_intervals(availability, first_day, last_day), time_off_intervals(availability)
    )

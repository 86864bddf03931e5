"""Time the scheduler's week view: free slots of a whole care team over several weeks.

Builds a synthetic team with fixed seeds (weekly hours in several zones, split shifts,
Saturday mornings, leave and blocked afternoons, about six bookings a working day each),
then times ``free_slots_by_clinician`` for video visits and prints one JSON line:

    .venv/bin/python bench/slots.py [--clinicians 50] [--weeks 4] [--repeat 5]

The range starts on Monday 2 March 2026, so four weeks cross the US (8 March) and EU
(29 March) clock changes. Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from encounters.availability import (
    Availability,
    TimeOff,
    VisitKind,
    WeeklyHours,
    days_off,
    default_lengths,
)
from encounters.booking import Booking
from encounters.scheduling import free_slots_by_clinician

SEED = 20260302
FIRST_DAY = date(2026, 3, 2)  # a Monday
BOOKINGS_PER_DAY = 6
PATIENTS = 400
ZONES = (
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Chicago",
    "America/Toronto",
    "Australia/Sydney",
)
OPTIONAL_KINDS = (VisitKind.IN_PERSON, VisitKind.PHARMACY_REVIEW, VisitKind.SOCIAL_WORK)


def build_team(
    clinicians: int, weeks: int, rng: random.Random
) -> tuple[list[Availability], list[Booking]]:
    last_day = FIRST_DAY + timedelta(weeks=weeks, days=-1)
    availabilities: list[Availability] = []
    bookings: list[Booking] = []
    for number in range(clinicians):
        clinician_id = f"clinician-{number}"
        zone_name = rng.choice(ZONES)
        zone = ZoneInfo(zone_name)
        weekly = _weekly_hours(rng)
        kinds = default_lengths(
            VisitKind.VIDEO_VISIT, *rng.sample(OPTIONAL_KINDS, rng.randint(0, 3))
        )
        leave_start = FIRST_DAY + timedelta(days=rng.randrange(weeks * 7))
        exceptions = [
            days_off(leave_start, leave_start + timedelta(days=rng.randint(0, 2)), zone_name)
        ]
        for _ in range(2):
            day = FIRST_DAY + timedelta(days=rng.randrange(weeks * 7))
            exceptions.append(TimeOff(_at(day, time(13), zone), _at(day, time(17), zone)))
        availabilities.append(
            Availability(clinician_id, zone_name, tuple(weekly), tuple(exceptions), kinds)
        )
        day = FIRST_DAY
        while day <= last_day:
            stretches = [hours for hours in weekly if hours.weekday == day.weekday()]
            bookings.extend(
                _day_bookings(clinician_id, list(kinds.items()), day, stretches, zone, rng)
            )
            day += timedelta(days=1)
    return availabilities, bookings


def _weekly_hours(rng: random.Random) -> list[WeeklyHours]:
    start = time(8, rng.choice((0, 30))) if rng.random() < 0.5 else time(9, rng.choice((0, 30)))
    end = time(rng.choice((16, 17, 18)), rng.choice((0, 30)))
    weekly: list[WeeklyHours] = []
    for weekday in range(5):
        if rng.random() < 0.3:  # a split shift with a lunch break
            weekly.append(WeeklyHours(weekday, start, time(12, 30)))
            weekly.append(WeeklyHours(weekday, time(13, 15), end))
        else:
            weekly.append(WeeklyHours(weekday, start, end))
    if rng.random() < 0.2:
        weekly.append(WeeklyHours(5, time(9), time(13)))
    return weekly


def _day_bookings(
    clinician_id: str,
    kinds: list[tuple[str, int]],
    day: date,
    stretches: list[WeeklyHours],
    zone: ZoneInfo,
    rng: random.Random,
) -> list[Booking]:
    """About six bookings on a working day, packed from the start of each stretch of hours."""
    made: list[Booking] = []
    for hours in stretches:
        cursor = _at(day, hours.start, zone)
        end = _at(day, hours.end, zone)
        while len(made) < BOOKINGS_PER_DAY:
            kind, length_min = rng.choice(kinds)
            gap_min = rng.choice((0, 15, 30, 45))
            if kind == VisitKind.IN_PERSON or (made and made[-1].kind == VisitKind.IN_PERSON):
                gap_min = max(gap_min, 30)  # the default travel buffer
            starts_at = cursor + timedelta(minutes=gap_min)
            ends_at = starts_at + timedelta(minutes=length_min)
            if ends_at > end:
                break
            patient_id = f"patient-{rng.randrange(PATIENTS)}"
            booking_id = f"{clinician_id}-{day.isoformat()}-{len(made)}"
            made.append(Booking(booking_id, clinician_id, patient_id, kind, starts_at, ends_at))
            cursor = ends_at
    return made


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clinicians", type=int, default=50, help="clinicians in the team")
    parser.add_argument("--weeks", type=int, default=4, help="weeks in the range")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median is shown")
    args = parser.parse_args(argv)

    availabilities, bookings = build_team(args.clinicians, args.weeks, random.Random(SEED))
    last_day = FIRST_DAY + timedelta(weeks=args.weeks, days=-1)
    # A day early, so that no clinician's first morning is already in the past.
    now = _at(FIRST_DAY - timedelta(days=1), time(0), ZoneInfo("UTC"))
    timings_ms: list[float] = []
    slots = 0
    for _ in range(max(1, args.repeat)):
        started = clock.perf_counter()
        found = free_slots_by_clinician(
            availabilities,
            VisitKind.VIDEO_VISIT,
            bookings,
            first_day=FIRST_DAY,
            last_day=last_day,
            now=now,
        )
        timings_ms.append((clock.perf_counter() - started) * 1000)
        slots = sum(len(found_slots) for found_slots in found.values())
    print(
        json.dumps(
            {
                "clinicians": args.clinicians,
                "weeks": args.weeks,
                "ms": round(statistics.median(timings_ms), 1),
                "ms_min": round(min(timings_ms), 1),
                "slots": slots,
                "bookings": len(bookings),
                "kind": VisitKind.VIDEO_VISIT.value,
                "repeat": len(timings_ms),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Request and response shapes for availability, free slots, moves, cancellations, feeds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from server.api.schemas import Body, EncounterKind, TimeZone
from server.core.bounds import AwareTime, Id

# "HH:MM" on a 24-hour clock; "24:00" (or "00:00" as an end) is midnight at the day's end.
ClockTime = Annotated[str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
KindLength = Annotated[int, Field(ge=5, le=240)]


class WeeklyHoursIn(Body):
    weekday: Annotated[int, Field(ge=0, le=6, description="0 is Monday, 6 is Sunday")]
    start: ClockTime
    end: ClockTime


class TimeOffIn(Body):
    starts_at: AwareTime
    ends_at: AwareTime
    label: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class AvailabilityIn(Body):
    """The whole availability: what is not listed is removed."""

    time_zone: TimeZone | None = None
    weekly: Annotated[list[WeeklyHoursIn], Field(max_length=100)] = []
    time_off: Annotated[list[TimeOffIn], Field(max_length=500)] = []
    kinds: dict[EncounterKind, KindLength] = {}


class WeeklyHoursOut(BaseModel):
    weekday: int
    start: str
    end: str


class TimeOffOut(BaseModel):
    id: Id
    starts_at: dt.datetime
    ends_at: dt.datetime
    label: str | None


class AvailabilityOut(BaseModel):
    clinician_id: Id
    time_zone: str
    weekly: list[WeeklyHoursOut]
    time_off: list[TimeOffOut]
    kinds: dict[str, int]


class SlotOut(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime


class ClinicianSlots(BaseModel):
    clinician_id: Id
    name: str
    time_zone: str
    length_minutes: int
    slots: list[SlotOut]


class SlotsOut(BaseModel):
    kind: str
    patient_id: Id
    first_day: dt.date
    last_day: dt.date
    clinicians: list[ClinicianSlots]


class RescheduleIn(Body):
    starts_at: AwareTime
    duration_minutes: Annotated[int, Field(ge=5, le=480)] | None = None
    override_reason: Reason | None = None


class CancelIn(Body):
    reason: Reason


class FeedOut(BaseModel):
    url: str
    feed_id: Id
    created_at: dt.datetime

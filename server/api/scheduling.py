"""Scheduling: clinicians' availability, free slots, and moving or cancelling a visit.

Booking itself is ``POST /api/encounters``; the rules live in ``encounters.scheduling`` and
are applied by ``server.services.booking`` inside each request's one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.availability import Availability, parse_kind
from encounters.scheduling import free_slots_by_clinician
from server.api.registry import api, int_param, parse_body, query_date, query_int, respond
from server.api.scheduling_schemas import (
    AvailabilityIn,
    AvailabilityOut,
    ClinicianSlots,
    SlotOut,
    SlotsOut,
    TimeOffOut,
    WeeklyHoursOut,
)
from server.edge.auth import staff
from server.services import audit
from server.services.access import may_manage, patient_for
from server.services.booking import (
    availability_of,
    availability_rows,
    clinician_for,
    load_bookings,
)
from server.services.context import services
from server.services.errors import ApiError, forbidden
from server.store.models import CareTeam, CareTeamMember, User
from server.store.scheduling import ClinicianHours, ClinicianKind, ClinicianTimeOff

WEEK_DAYS = 7


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute(text: str, *, end: bool) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    minute = hours * 60 + minutes
    # An end of 00:00 is midnight at the end of the day, as in encounters.availability.
    return 24 * 60 if end and minute == 0 else minute


async def _availability_out(s: AsyncSession, clinician: User) -> AvailabilityOut:
    hours, time_off, kinds = await availability_rows(s, clinician.id)
    return AvailabilityOut(
        clinician_id=clinician.id,
        time_zone=clinician.time_zone,
        weekly=[
            WeeklyHoursOut(
                weekday=h.weekday, start=_clock(h.start_minute), end=_clock(h.end_minute)
            )
            for h in hours
        ],
        time_off=[
            TimeOffOut(id=t.id, starts_at=t.starts_at, ends_at=t.ends_at, label=t.label)
            for t in time_off
        ],
        kinds={k.kind: k.length_minutes for k in kinds},
    )


@api(
    "GET",
    "/api/clinicians/{user_id}/availability",
    summary="A clinician's weekly hours, time off and visit kinds",
    tag="scheduling",
    response=AvailabilityOut,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_availability(request: web.Request) -> web.StreamResponse:
    staff(request)
    user_id = int_param(request, "user_id")
    async with services(request).db.begin() as s:
        clinician = await clinician_for(s, user_id)
        out = await _availability_out(s, clinician)
    return respond(out)


@api(
    "PUT",
    "/api/clinicians/{user_id}/availability",
    summary="Replace a clinician's weekly hours, time off and visit kinds",
    tag="scheduling",
    body=AvailabilityIn,
    response=AvailabilityOut,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def put_availability(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    user_id = int_param(request, "user_id")
    if not may_manage(who, user_id):
        raise forbidden("Only the clinician, a scheduler or an admin may change these hours.")
    body = await parse_body(request, AvailabilityIn)
    hours = [
        ClinicianHours(
            clinician_id=user_id,
            weekday=h.weekday,
            start_minute=_minute(h.start, end=False),
            end_minute=_minute(h.end, end=True),
        )
        for h in body.weekly
    ]
    time_off = [
        ClinicianTimeOff(
            clinician_id=user_id,
            starts_at=t.starts_at.astimezone(dt.UTC),
            ends_at=t.ends_at.astimezone(dt.UTC),
            label=t.label,
        )
        for t in body.time_off
    ]
    kinds = [
        ClinicianKind(clinician_id=user_id, kind=kind, length_minutes=length)
        for kind, length in body.kinds.items()
    ]
    async with services(request).db.begin() as s:
        clinician = await clinician_for(s, user_id)
        if body.time_zone:
            clinician.time_zone = body.time_zone
        # The pure rules judge the whole set (hours that end before they start, time off
        # backwards, a 24:00 start) before anything is stored.
        availability_of(clinician, hours, time_off, kinds)
        for table in (ClinicianHours, ClinicianTimeOff, ClinicianKind):
            await s.execute(delete(table).where(table.clinician_id == user_id))
        s.add_all([*hours, *time_off, *kinds])
        await s.flush()
        await audit.record(s, request, who, "update", "availability", user_id)
        out = await _availability_out(s, clinician)
    return respond(out)


async def _availabilities(s: AsyncSession, clinicians: Sequence[User]) -> dict[int, Availability]:
    """Each clinician's availability, by id: hours, time off and kinds of them all in one
    query each (``availability_rows`` asks three per clinician)."""
    ids = [c.id for c in clinicians]
    hours: dict[int, list[ClinicianHours]] = defaultdict(list)
    time_off: dict[int, list[ClinicianTimeOff]] = defaultdict(list)
    kinds: dict[int, list[ClinicianKind]] = defaultdict(list)
    if ids:
        for h in await s.scalars(
            select(ClinicianHours)
            .where(ClinicianHours.clinician_id.in_(ids))
            .order_by(ClinicianHours.weekday, ClinicianHours.start_minute)
        ):
            hours[h.clinician_id].append(h)
        for t in await s.scalars(
            select(ClinicianTimeOff)
            .where(ClinicianTimeOff.clinician_id.in_(ids))
            .order_by(ClinicianTimeOff.starts_at)
        ):
            time_off[t.clinician_id].append(t)
        for k in await s.scalars(
            select(ClinicianKind)
            .where(ClinicianKind.clinician_id.in_(ids))
            .order_by(ClinicianKind.kind)
        ):
            kinds[k.clinician_id].append(k)
    return {c.id: availability_of(c, hours[c.id], time_off[c.id], kinds[c.id]) for c in clinicians}


@api(
    "GET",
    "/api/slots",
    summary="Free slots of a visit kind for a patient, per clinician on their care team",
    tag="scheduling",
    response=SlotsOut,
    auth="staff",
    query=(
        ("kind", "string", "visit kind: video_visit, in_person, pharmacy_review, social_work"),
        ("patient_id", "integer", "the patient to book for"),
        ("from", "date", "first day, YYYY-MM-DD on each clinician's calendar (default today)"),
        ("to", "date", "last day, inclusive (default from + 6 days)"),
        ("encounter_id", "integer", "a visit being moved: its own time counts as free"),
    ),
    errors=(401, 403, 404, 422),
)
async def list_slots(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    svc = services(request)
    now = svc.clock.now()
    kind = parse_kind(request.query.get("kind", ""))
    patient_id = query_int(request, "patient_id")
    if patient_id is None:
        raise ApiError(422, "invalid_field", "'patient_id' is required.", field="patient_id")
    ignore_id = query_int(request, "encounter_id")
    async with svc.db.begin() as s:
        patient = await patient_for(s, who, patient_id, "encounter.create")
        viewer = await s.get(User, who.user_id)
        today = now.astimezone(ZoneInfo(viewer.time_zone if viewer else "UTC")).date()
        first_day = query_date(request, "from") or today
        last_day = query_date(request, "to") or first_day + dt.timedelta(days=WEEK_DAYS - 1)
        if last_day < first_day:
            raise ApiError(422, "end_before_start", "'to' must not be before 'from'.", field="to")
        clinicians = (
            await s.scalars(
                select(User)
                .join(CareTeamMember, CareTeamMember.user_id == User.id)
                .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
                .where(
                    CareTeam.patient_id == patient.id,
                    User.role == "clinician",
                    User.active.is_(True),
                )
                .order_by(User.name)
            )
        ).all()
        availabilities = await _availabilities(s, clinicians)
        bookings = await load_bookings(
            s,
            clinician_ids=list(availabilities),
            patient_id=patient.id,
            start=dt.datetime.combine(first_day, dt.time(), dt.UTC) - dt.timedelta(days=2),
            end=dt.datetime.combine(last_day, dt.time(), dt.UTC) + dt.timedelta(days=3),
        )
        await audit.record(s, request, who, "list", "slots", None, patient_id=patient.id)
    found = free_slots_by_clinician(
        availabilities.values(),
        kind,
        bookings,
        first_day=first_day,
        last_day=last_day,
        now=now,
        patient_id=patient.id,
        ignore_booking_id=ignore_id,
    )
    return respond(
        SlotsOut(
            kind=kind.value,
            patient_id=patient.id,
            first_day=first_day,
            last_day=last_day,
            clinicians=[
                ClinicianSlots(
                    clinician_id=c.id,
                    name=c.name,
                    time_zone=c.time_zone,
                    length_minutes=availabilities[c.id].kinds[kind],
                    slots=[SlotOut(starts_at=x.starts_at, ends_at=x.ends_at) for x in found[c.id]],
                )
                for c in clinicians
                if c.id in found
            ],
        )
    )

"""Bookings in the database, checked by the pure rules in ``encounters.scheduling``.

This module loads a clinician's availability and the diary around a proposed time, asks the
domain whether the booking may stand, and keeps a visit's reminder jobs and booking history
in step with it. Callers pass their open session, so each booking, move or cancellation is
one transaction together with its family link and audit rows.

:func:`book_visit` is the one way a visit is booked: the scheduler's booking, the alert
queue's same-day visit and a drill's rehearsal visit all go through it, so the checks on the
clinician and the slot cannot drift apart between them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.availability import Availability, SchedulingError, TimeOff, WeeklyHours, parse_kind
from encounters.booking import TRAVEL_BUFFER_MIN, Booking, check_no_clash, travel_buffer
from encounters.local_time import format_in_zone
from encounters.scheduling import check_booking, first_free_time
from server.core.settings import Settings
from server.services.access import is_on_care_team
from server.services.audit import Actor, record_event
from server.services.errors import ApiError, not_found
from server.services.links import issue_link, link_url
from server.services.templates import known_templates
from server.store.models import CareTeam, CareTeamMember, Encounter, FamilyMember, Patient, User
from server.store.scheduling import (
    MINUTES_PER_DAY,
    ClinicianHours,
    ClinicianKind,
    ClinicianTimeOff,
    EncounterChange,
    ReminderJob,
)

# Visits that still hold their time in a diary.
ACTIVE_STATUSES = ("planned", "in_progress")
# Reminders go this long before a video visit: the evening before to plan the day, and
# an hour before so the family is at the phone or laptop in time.
REMINDER_LEADS: dict[str, dt.timedelta] = {
    "day_before": dt.timedelta(days=1),
    "hour_before": dt.timedelta(hours=1),
}
# The travel buffer is at most four hours, so a day either side holds every booking that
# can clash with a proposed one.
_DIARY_MARGIN = dt.timedelta(days=1)


def minute_to_time(minute: int) -> dt.time:
    """Minutes after midnight as a wall-clock time; 1440 is the domain's midnight, 00:00."""
    minute %= MINUTES_PER_DAY
    return dt.time(minute // 60, minute % 60)


def availability_of(
    clinician: User,
    hours: Iterable[ClinicianHours],
    time_off: Iterable[ClinicianTimeOff],
    kinds: Iterable[ClinicianKind],
) -> Availability:
    return Availability(
        clinician_id=clinician.id,
        zone=clinician.time_zone,
        weekly=tuple(
            WeeklyHours(h.weekday, minute_to_time(h.start_minute), minute_to_time(h.end_minute))
            for h in hours
        ),
        exceptions=tuple(TimeOff(t.starts_at, t.ends_at) for t in time_off),
        kinds={k.kind: k.length_minutes for k in kinds},
    )


async def availability_rows(
    s: AsyncSession, clinician_id: int
) -> tuple[list[ClinicianHours], list[ClinicianTimeOff], list[ClinicianKind]]:
    hours = await s.scalars(
        select(ClinicianHours)
        .where(ClinicianHours.clinician_id == clinician_id)
        .order_by(ClinicianHours.weekday, ClinicianHours.start_minute)
    )
    time_off = await s.scalars(
        select(ClinicianTimeOff)
        .where(ClinicianTimeOff.clinician_id == clinician_id)
        .order_by(ClinicianTimeOff.starts_at)
    )
    kinds = await s.scalars(
        select(ClinicianKind)
        .where(ClinicianKind.clinician_id == clinician_id)
        .order_by(ClinicianKind.kind)
    )
    return list(hours), list(time_off), list(kinds)


async def load_availability(s: AsyncSession, clinician: User) -> Availability | None:
    """The clinician's availability, or None when nobody has set it up yet."""
    hours, time_off, kinds = await availability_rows(s, clinician.id)
    if not hours and not kinds:
        return None
    return availability_of(clinician, hours, time_off, kinds)


async def load_bookings(
    s: AsyncSession,
    *,
    clinician_ids: Iterable[int],
    patient_id: int | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[Booking]:
    """The active visits of these clinicians, or of the patient, that overlap [start, end)."""
    who: ColumnElement[bool] = Encounter.clinician_id.in_(list(clinician_ids))
    if patient_id is not None:
        who = or_(who, Encounter.patient_id == patient_id)
    rows = await s.scalars(
        select(Encounter).where(
            who,
            Encounter.status.in_(ACTIVE_STATUSES),
            Encounter.starts_at < end,
            Encounter.ends_at > start,
        )
    )
    return [
        Booking(e.id, e.clinician_id, e.patient_id, e.kind, e.starts_at, e.ends_at) for e in rows
    ]


async def check_slot(
    s: AsyncSession,
    *,
    clinician: User,
    patient_id: int,
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    now: dt.datetime,
    override_reason: str | None = None,
    ignore_encounter_id: int | None = None,
) -> None:
    """Raise the domain's reason when the booking may not stand; else return.

    A clinician whose availability was never set up is checked for clashes only, so a clinic
    that does not keep hours in Hearth can still book.
    """
    await _lock_diaries(s, clinician.id, patient_id)
    if starts_at < now:
        raise SchedulingError(
            f"starts_at ({format_in_zone(starts_at, clinician.time_zone)}) is in the past; "
            f"expected a time from {format_in_zone(now, clinician.time_zone)} on.",
            code="in_the_past",
            field="starts_at",
        )
    availability = await load_availability(s, clinician)
    bookings = await load_bookings(
        s,
        clinician_ids=[clinician.id],
        patient_id=patient_id,
        start=starts_at - _DIARY_MARGIN,
        end=ends_at + _DIARY_MARGIN,
    )
    if availability is None:
        check_no_clash(
            bookings,
            clinician_id=clinician.id,
            patient_id=patient_id,
            kind=parse_kind(kind),
            starts_at=starts_at,
            ends_at=ends_at,
            buffer=travel_buffer(TRAVEL_BUFFER_MIN),
            ignore_booking_id=ignore_encounter_id,
            zone_name=clinician.time_zone,
        )
        return
    check_booking(
        availability,
        bookings,
        patient_id=patient_id,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
        ignore_booking_id=ignore_encounter_id,
        override_reason=override_reason,
    )


async def _lock_diaries(s: AsyncSession, clinician_id: int, patient_id: int) -> None:
    # Serialise bookings per clinician and per patient on PostgreSQL, in one fixed order so
    # two bookings cannot deadlock; SQLite serialises writers by itself.
    await s.execute(select(User.id).where(User.id == clinician_id).with_for_update())
    await s.execute(select(Patient.id).where(Patient.id == patient_id).with_for_update())


async def first_free_today(
    s: AsyncSession,
    *,
    clinician: User,
    patient_id: int,
    kind: str,
    length: dt.timedelta,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """The first time from ``now`` until the clinician's midnight that is free in both
    diaries (and in the clinician's hours, when they keep them) for a visit of ``length``;
    409 ``no_free_time_today`` when none is left."""
    await _lock_diaries(s, clinician.id, patient_id)
    availability = await load_availability(s, clinician)
    bookings = await load_bookings(
        s,
        clinician_ids=[clinician.id],
        patient_id=patient_id,
        start=now - _DIARY_MARGIN,
        end=now + 2 * _DIARY_MARGIN,
    )
    slot = first_free_time(
        availability,
        bookings,
        clinician_id=clinician.id,
        patient_id=patient_id,
        kind=kind,
        length=length,
        earliest=now,
        zone_name=clinician.time_zone,
    )
    if slot is None:
        # One sentence, so that it is translated (the page has its own words for the code).
        raise ApiError(
            409,
            "no_free_time_today",
            "No free time is left today in the clinician's diary. Book the visit for another "
            "day, or call the family.",
            field="starts_at",
        )
    return slot.starts_at, slot.ends_at


def record_change(
    s: AsyncSession,
    encounter: Encounter,
    action: str,
    *,
    at: dt.datetime,
    by: int | None,
    reason: str | None = None,
    old: tuple[dt.datetime, dt.datetime] | None = None,
) -> None:
    s.add(
        EncounterChange(
            encounter_id=encounter.id,
            action=action,
            at=at,
            by_user_id=by,
            reason=reason,
            old_starts_at=old[0] if old else None,
            old_ends_at=old[1] if old else None,
            new_starts_at=encounter.starts_at if action != "cancel" else None,
            new_ends_at=encounter.ends_at if action != "cancel" else None,
        )
    )


async def after_booking(
    s: AsyncSession,
    encounter: Encounter,
    *,
    now: dt.datetime,
    by: int | None,
    override_reason: str | None,
) -> None:
    """What a new booking brings with it: its history row and its reminder jobs."""
    record_change(s, encounter, "book", at=now, by=by, reason=override_reason)
    await plan_reminders(s, encounter, now=now)


def reminder_channel(member: FamilyMember) -> str | None:
    # Email carries the calendar file too; SMS is for families without an address.
    if member.email:
        return "email"
    if member.phone:
        return "sms"
    return None


async def plan_reminders(s: AsyncSession, encounter: Encounter, *, now: dt.datetime) -> None:
    """Create or move a video visit's reminder jobs: one per family contact and lead time.

    A reminder whose time has already passed is not sent (the family has just been given the
    link); a moved visit gets its reminders again, even those already sent for the old time.
    """
    if encounter.kind != "video_visit":
        return
    family = (
        await s.scalars(select(FamilyMember).where(FamilyMember.patient_id == encounter.patient_id))
    ).all()
    jobs = (
        await s.scalars(select(ReminderJob).where(ReminderJob.encounter_id == encounter.id))
    ).all()
    existing = {(job.which, job.family_member_id): job for job in jobs}
    for member in family:
        channel = reminder_channel(member)
        if channel is None:
            continue
        for which, lead in REMINDER_LEADS.items():
            due_at = encounter.starts_at - lead
            job = existing.get((which, member.id))
            if due_at <= now:
                if job is not None and job.status in ("pending", "sending"):
                    job.status = "cancelled"
                continue
            if job is None:
                s.add(
                    ReminderJob(
                        encounter_id=encounter.id,
                        family_member_id=member.id,
                        which=which,
                        channel=channel,
                        due_at=due_at,
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                )
                continue
            job.channel, job.due_at, job.status = channel, due_at, "pending"
            job.attempts, job.claimed_at, job.sent_at, job.last_error = 0, None, None, None


async def cancel_reminders(s: AsyncSession, encounter_id: int) -> None:
    await s.execute(
        update(ReminderJob)
        .where(
            ReminderJob.encounter_id == encounter_id,
            ReminderJob.status.in_(("pending", "sending")),
        )
        .values(status="cancelled")
    )


async def clinician_for(s: AsyncSession, user_id: int) -> User:
    """The active clinician with this id, or 404."""
    clinician = await s.get(User, user_id)
    if clinician is None or clinician.role != "clinician" or not clinician.active:
        raise not_found("That clinician")
    return clinician


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a caller words its refusal of a clinician who may not take the visit."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class VisitBooking:
    """A visit to book, as the caller asked for it. Times are aware; they are kept in UTC.

    ``clinician_id`` None means the patient's first active clinician on the care team (by id).
    ``unfit_clinician`` None refuses an unfit clinician with the precise reason,
    ``unknown_clinician`` or ``clinician_not_on_team``; a caller whose contract has one answer
    for both passes it instead. ``diary_rules`` False books without the slot rules and without
    the booking history and reminders of a diary booking: a drill's rehearsal starts now,
    whatever the diary says.
    """

    patient_id: int
    clinician_id: int | None
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    template: str = "home_palliative_visit"
    is_drill: bool = False
    # Allows a time outside working hours or in time off (never a clash); kept in the history.
    override_reason: str | None = None
    # True: starts_at is only the earliest start; the visit takes the clinician's first free
    # stretch of its length from then until their midnight (``first_free_today``).
    first_free_today: bool = False
    # Ids only, for the audit row of the new visit (e.g. "alert 12").
    audit_detail: str | None = None
    unfit_clinician: Refusal | None = None
    diary_rules: bool = True


@dataclass(frozen=True, slots=True)
class BookedVisit:
    """A booked visit and, for a video visit, the family link issued with it."""

    encounter_id: int
    clinician_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    family_link: str | None = None
    family_link_id: int | None = None
    family_link_expires_at: dt.datetime | None = None


async def book_visit(
    s: AsyncSession, now: dt.datetime, visit: VisitBooking, *, by: Actor, settings: Settings
) -> BookedVisit:
    """Book ``visit`` in the caller's transaction, or raise why it may not be booked.

    Checks the template, that the visit is not already over, that the clinician is an active
    clinician on the patient's care team and, with ``diary_rules``, the clinician's hours and
    the diary. Stores the visit with its booking history and reminders, issues a video visit's
    family link and audits both. The caller has already authorised ``by`` for the patient.
    """
    if visit.template not in known_templates():
        raise ApiError(
            422,
            "unknown_template",
            f"There is no visit template called {visit.template!r}; known: "
            f"{', '.join(sorted(known_templates()))}.",
            field="template",
        )
    starts_at, ends_at = visit.starts_at.astimezone(dt.UTC), visit.ends_at.astimezone(dt.UTC)
    if ends_at <= now:
        raise ApiError(422, "in_the_past", "That visit would already be over.", field="starts_at")
    clinician = await _clinician_to_book(s, visit)
    if visit.first_free_today:
        starts_at, ends_at = await first_free_today(
            s,
            clinician=clinician,
            patient_id=visit.patient_id,
            kind=visit.kind,
            length=ends_at - starts_at,
            now=max(now, starts_at),
        )
    if visit.diary_rules:
        await check_slot(
            s,
            clinician=clinician,
            patient_id=visit.patient_id,
            kind=visit.kind,
            starts_at=starts_at,
            ends_at=ends_at,
            now=now,
            override_reason=visit.override_reason,
        )
    encounter = Encounter(
        patient_id=visit.patient_id,
        clinician_id=clinician.id,
        kind=visit.kind,
        template=visit.template,
        status="planned",
        starts_at=starts_at,
        ends_at=ends_at,
        is_drill=visit.is_drill,
        created_at=now,
        created_by=by.user_id,
    )
    s.add(encounter)
    await s.flush()
    if visit.diary_rules:
        await after_booking(
            s, encounter, now=now, by=by.user_id, override_reason=visit.override_reason
        )
    await _audit_create(s, now, by, "encounter", encounter.id, encounter, visit.audit_detail)
    if encounter.kind != "video_visit":
        return BookedVisit(encounter.id, clinician.id, starts_at, ends_at)
    token, link = await issue_link(s, settings, encounter, created_by=by.user_id, now=now)
    await _audit_create(s, now, by, "join_link", link.id, encounter)
    return BookedVisit(
        encounter_id=encounter.id,
        clinician_id=clinician.id,
        starts_at=starts_at,
        ends_at=ends_at,
        family_link=link_url(settings, token),
        family_link_id=link.id,
        family_link_expires_at=link.expires_at,
    )


async def _clinician_to_book(s: AsyncSession, visit: VisitBooking) -> User:
    """The active clinician of the patient's care team who is to take the visit, or 422."""
    clinician_id = visit.clinician_id
    if clinician_id is None:
        clinician_id = await s.scalar(
            select(User.id)
            .join(CareTeamMember, CareTeamMember.user_id == User.id)
            .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
            .where(
                CareTeam.patient_id == visit.patient_id,
                User.role == "clinician",
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    clinician = await s.get(User, clinician_id) if clinician_id is not None else None
    refusal = visit.unfit_clinician
    if clinician is None or clinician.role != "clinician" or not clinician.active:
        raise _refuse(
            refusal
            or Refusal("unknown_clinician", f"User {clinician_id} is not an active clinician.")
        )
    if not await is_on_care_team(s, clinician.id, visit.patient_id):
        raise _refuse(
            refusal
            or Refusal(
                "clinician_not_on_team",
                f"Clinician {clinician.id} is not on this patient's care team.",
            )
        )
    return clinician


async def _audit_create(
    s: AsyncSession,
    now: dt.datetime,
    by: Actor,
    resource_type: str,
    resource_id: int,
    encounter: Encounter,
    detail: str | None = None,
) -> None:
    await record_event(
        s,
        now,
        by,
        "create",
        resource_type,
        resource_id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        detail=detail,
    )


def _refuse(refusal: Refusal) -> ApiError:
    return ApiError(422, refusal.code, refusal.message, field="clinician_id")

"""Visits and their family links: ``/api/encounters``."""

from __future__ import annotations

import datetime as dt
from typing import cast

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from encounters.call_roles import LinkRole
from encounters.encounter_state import stored_state
from server.api.registry import (
    api,
    int_param,
    parse_body,
    parse_optional_body,
    query_datetime,
    query_int,
    respond,
)
from server.api.schemas import (
    EncounterCreate,
    EncounterCreated,
    EncounterList,
    EncounterOut,
    LinkBody,
    LinkInfo,
    LinkList,
    LinkOut,
    LinkRoleName,
    ReminderOut,
)
from server.edge.auth import principal, staff
from server.services import audit
from server.services.access import (
    CLINICAL,
    PERMISSIONS,
    TEAM_SCOPED,
    encounter_for,
    patient_for,
)
from server.services.assessment import compare_assessment
from server.services.booking import VisitBooking, book_visit
from server.services.call_guests import issue_role_link
from server.services.context import services
from server.services.errors import ApiError, not_found
from server.services.links import link_status, link_url
from server.services.live import LIVE
from server.services.reminders import reminders_of
from server.services.sessions import Principal
from server.services.workflow_view import family_view
from server.store.models import CareTeam, CareTeamMember, Encounter, JoinLink, Patient, User

LIST_LIMIT = 200
MAX_LIST_RANGE = dt.timedelta(days=62)


async def encounter_out(s: AsyncSession, who: Principal, e: Encounter) -> EncounterOut:
    clinician = await s.get(User, e.clinician_id)
    patient = await s.get(Patient, e.patient_id)
    # Workflow answers are clinical content: clinicians and coordinators only.
    state: dict[str, object] | None = None
    if who.role in CLINICAL:
        state = e.state
    elif who.role == "family":
        state = family_view(stored_state(e.state))
    return EncounterOut(
        id=e.id,
        patient_id=e.patient_id,
        # A family participant knows whom they are visiting; staff see it for booking.
        patient_name=patient.name if patient else None,
        clinician_id=e.clinician_id,
        clinician_name=clinician.name if clinician else "",
        kind=e.kind,
        template=e.template,
        status=e.status,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        duration_minutes=int((e.ends_at - e.starts_at).total_seconds() // 60),
        is_drill=e.is_drill,
        state=state,
    )


@api(
    "POST",
    "/api/encounters",
    summary="Book a visit; a video visit gets a family link",
    tag="encounters",
    body=EncounterCreate,
    response=EncounterCreated,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def create_encounter(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    body = await parse_body(request, EncounterCreate)
    svc = services(request)
    now = svc.clock.now()
    visit = VisitBooking(
        patient_id=body.patient_id,
        clinician_id=body.clinician_id,
        kind=body.kind,
        template=body.template,
        starts_at=body.starts_at,
        ends_at=body.starts_at + dt.timedelta(minutes=body.duration_minutes),
        override_reason=body.override_reason,
    )
    async with svc.db.begin() as s:
        await patient_for(s, who, body.patient_id, "encounter.create")
        booked = await book_visit(
            s, now, visit, by=audit.actor_of(request, who), settings=svc.settings
        )
        encounter = await s.get(Encounter, booked.encounter_id)
        assert encounter is not None
        out = await encounter_out(s, who, encounter)
    created = EncounterCreated(
        **out.model_dump(),
        family_link=booked.family_link,
        family_link_id=booked.family_link_id,
        family_link_expires_at=booked.family_link_expires_at,
    )
    return respond(created, 201)


@api(
    "GET",
    "/api/encounters/{encounter_id}",
    summary="A visit: booking, state, steps, results",
    tag="encounters",
    response=EncounterOut,
    errors=(401, 403, 404),
)
async def get_encounter(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    async with services(request).db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "encounter.read")
        await audit.record(
            s, request, who, "read", "encounter", e.id, patient_id=e.patient_id, encounter_id=e.id
        )
        out = await encounter_out(s, who, e)
        if who.role in CLINICAL:
            state = stored_state(e.state)
            out.comparison = await compare_assessment(s, e, state)
    return respond(out)


@api(
    "GET",
    "/api/encounters",
    summary="Visits in a time range the caller may see",
    tag="encounters",
    response=EncounterList,
    auth="staff",
    query=(
        ("from", "date-time", "ISO-8601 start (default: start of today UTC)"),
        ("to", "date-time", "ISO-8601 end (default: from + 1 day)"),
        ("clinician_id", "integer", "only this clinician's visits"),
        ("patient_id", "integer", "only this patient's visits"),
    ),
    errors=(401, 403, 422),
)
async def list_encounters(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["encounter.list"])
    now = services(request).clock.now()
    start = query_datetime(request, "from") or now.replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    end = query_datetime(request, "to") or start + dt.timedelta(days=1)
    if end <= start or end - start > MAX_LIST_RANGE:
        raise ApiError(
            422, "bad_range", "'to' must be after 'from' and at most 62 days later.", field="to"
        )
    query = (
        select(Encounter)
        .where(Encounter.starts_at < end, Encounter.ends_at > start)
        .order_by(Encounter.starts_at)
        .limit(LIST_LIMIT)
    )
    clinician_id, patient_id = query_int(request, "clinician_id"), query_int(request, "patient_id")
    if clinician_id:
        query = query.where(Encounter.clinician_id == clinician_id)
    if patient_id:
        query = query.where(Encounter.patient_id == patient_id)
    if who.role in TEAM_SCOPED:
        query = (
            query.join(CareTeam, CareTeam.patient_id == Encounter.patient_id)
            .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
            .where(CareTeamMember.user_id == who.user_id)
        )
    # Each visit's patient and clinician in one query per table, not two lookups per visit:
    # they are then in the session, where encounter_out's s.get finds them without SQL.
    query = query.options(selectinload(Encounter.patient), selectinload(Encounter.clinician))
    async with services(request).db.begin() as s:
        items = (await s.scalars(query)).all()
        # Each visit listed is a read of a patient's record: one row each, in one INSERT.
        await audit.record_many(
            s,
            request,
            who,
            "list",
            "encounter",
            [audit.Target(e.id, e.patient_id, e.id) for e in items],
        )
        reminders = await reminders_of(s, [e.id for e in items])
        # Who waits and who is in each call, wherever its room runs (one round trip).
        live = (
            await request.app[LIVE].live_status([e.id for e in items])
            if who.role in CLINICAL
            else {}
        )
        out = []
        for e in items:
            item = await encounter_out(s, who, e)
            if who.role in CLINICAL:
                item.live = live[e.id]
            item.reminders = [
                ReminderOut(
                    which=r.which,
                    channel=r.channel,
                    due_at=r.due_at,
                    status=r.status,
                    sent_at=r.sent_at,
                )
                for r in reminders.get(e.id, [])
            ]
            out.append(item)
    return respond(EncounterList(items=out))


@api(
    "POST",
    "/api/encounters/{encounter_id}/links",
    summary="Issue another visit link: the family's, an interpreter's or a guest clinician's",
    tag="links",
    body=LinkBody,
    body_optional=True,
    response=LinkOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def create_link(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    body = await parse_optional_body(request, LinkBody)
    role = LinkRole(body.role)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "link.issue")
        if e.kind != "video_visit":
            raise ApiError(409, "not_a_video_visit", "Only video visits have family links.")
        if e.status in ("finished", "cancelled"):
            raise ApiError(409, "visit_closed", f"This visit is {e.status}; it takes no new links.")
        token, link = await issue_role_link(
            s, svc.settings, e, role, created_by=who.user_id, now=now
        )
        await audit.record(
            s,
            request,
            who,
            "create",
            "join_link",
            link.id,
            patient_id=e.patient_id,
            encounter_id=e.id,
            detail=role.value,
        )
    return respond(
        LinkOut(
            family_link=link_url(svc.settings, token),
            family_link_id=link.id,
            expires_at=link.expires_at,
            role=role.value,
        ),
        201,
    )


@api(
    "GET",
    "/api/encounters/{encounter_id}/links",
    summary="A visit's family links and status",
    tag="links",
    response=LinkList,
    auth="staff",
    errors=(401, 403, 404),
)
async def list_links(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "link.list")
        links = (
            await s.scalars(
                select(JoinLink).where(JoinLink.encounter_id == e.id).order_by(JoinLink.id)
            )
        ).all()
        await audit.record(
            s, request, who, "list", "join_link", None, patient_id=e.patient_id, encounter_id=e.id
        )
    return respond(
        LinkList(
            items=[
                LinkInfo(
                    id=link.id,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    revoked_at=link.revoked_at,
                    last_used_at=link.last_used_at,
                    status=link_status(link, now),
                    role=cast(LinkRoleName, link.role),
                )
                for link in links
            ]
        )
    )


@api(
    "DELETE",
    "/api/encounters/{encounter_id}/links/{link_id}",
    summary="Revoke a visit link; its sessions end at once",
    tag="links",
    status=204,
    auth="staff",
    errors=(401, 403, 404),
)
async def revoke_link(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    link_id = int_param(request, "link_id")
    svc = services(request)
    async with svc.db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "link.revoke")
        link = await s.get(JoinLink, link_id)
        if link is None or link.encounter_id != e.id:
            raise not_found("That link")
        if link.revoked_at is None:
            link.revoked_at, link.revoked_by = svc.clock.now(), who.user_id
        await svc.sessions.end_for_link(s, link.id)
        await audit.record(
            s,
            request,
            who,
            "revoke",
            "join_link",
            link.id,
            patient_id=e.patient_id,
            encounter_id=e.id,
            detail=link.role,
        )
    # Anyone in the visit on this link leaves it now, not at their next request.
    await request.app[LIVE].expel(
        lambda caller: caller.link_id == link_id, "This link was cancelled by the care team."
    )
    return web.Response(status=204)

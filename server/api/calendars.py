"""Calendars: a clinician's secret iCalendar feed and a family's one-visit ``.ics`` file."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from server.api.registry import api, int_param, respond
from server.api.scheduling_schemas import FeedOut
from server.edge.auth import principal, staff
from server.services import audit
from server.services.access import encounter_for, may_manage
from server.services.booking import clinician_for
from server.services.calendars import (
    KIND_NAMES,
    CalendarEvent,
    event_uid,
    feed_url,
    find_feed,
    initials,
    issue_feed,
    render_calendar,
    revoke_feeds,
)
from server.services.context import services
from server.services.errors import forbidden, not_found
from server.store.models import Encounter, Patient, User

# A feed shows a month back (for notes written later) and half a year ahead.
FEED_PAST = dt.timedelta(days=31)
FEED_AHEAD = dt.timedelta(days=183)
ICS_TYPE = "text/calendar"


def _calendar_response(text: str, filename: str | None = None) -> web.Response:
    response = web.Response(text=text, content_type=ICS_TYPE, charset="utf-8")
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@api(
    "POST",
    "/api/clinicians/{user_id}/calendar-feed",
    summary="Issue a clinician's secret calendar URL; the previous one stops working",
    tag="calendars",
    response=FeedOut,
    status=201,
    auth="staff",
    errors=(401, 403, 404),
)
async def create_feed(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    user_id = int_param(request, "user_id")
    if not may_manage(who, user_id):
        raise forbidden("Only the clinician, a scheduler or an admin may do this.")
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        clinician = await clinician_for(s, user_id)
        token, feed = await issue_feed(s, svc.settings, clinician.id, by=who.user_id, now=now)
        await audit.record(s, request, who, "create", "calendar_feed", feed.id)
    return respond(
        FeedOut(url=feed_url(svc.settings, token), feed_id=feed.id, created_at=feed.created_at),
        201,
    )


@api(
    "DELETE",
    "/api/clinicians/{user_id}/calendar-feed",
    summary="Revoke a clinician's calendar URL",
    tag="calendars",
    status=204,
    auth="staff",
    errors=(401, 403, 404),
)
async def delete_feed(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    user_id = int_param(request, "user_id")
    if not may_manage(who, user_id):
        raise forbidden("Only the clinician, a scheduler or an admin may do this.")
    svc = services(request)
    async with svc.db.begin() as s:
        clinician = await clinician_for(s, user_id)
        await revoke_feeds(s, clinician.id, by=who.user_id, now=svc.clock.now())
        await audit.record(s, request, who, "revoke", "calendar_feed", clinician.id)
    return web.Response(status=204)


async def calendar_feed(request: web.Request) -> web.StreamResponse:
    """``GET /calendar/{token}.ics``: no session, the token is the key. Initials only."""
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        feed = await find_feed(s, svc.settings, request.match_info["token"])
        if feed is None:
            raise not_found("That calendar")
        clinician = await s.get(User, feed.clinician_id)
        if clinician is None or not clinician.active:
            raise not_found("That calendar")
        rows = (
            await s.execute(
                select(Encounter, Patient.name)
                .join(Patient, Patient.id == Encounter.patient_id)
                .where(
                    Encounter.clinician_id == clinician.id,
                    Encounter.status != "cancelled",
                    Encounter.ends_at > now - FEED_PAST,
                    Encounter.starts_at < now + FEED_AHEAD,
                )
                .order_by(Encounter.starts_at)
            )
        ).all()
        feed.last_used_at = now
        await audit.record(
            s,
            request,
            audit.Actor(clinician.id, None, "calendar_feed", request.remote, None),
            "read",
            "calendar_feed",
            feed.id,
        )
    events = [
        CalendarEvent(
            uid=event_uid(svc.settings, e.id),
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            summary=f"{KIND_NAMES.get(e.kind, e.kind)} · {initials(name)}",
            url=f"{svc.settings.base_url}/visit/{e.id}",
        )
        for e, name in rows
    ]
    name = f"{svc.settings.clinic_name or 'Hearth'} visits"
    return _calendar_response(render_calendar(events, name=name, now=now))


@api(
    "GET",
    "/api/encounters/{encounter_id}/ics",
    summary="The visit as an iCalendar file for the family's calendar",
    tag="calendars",
    errors=(401, 403, 404),
)
async def encounter_ics(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    async with svc.db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "encounter.read")
        clinician = await s.get(User, e.clinician_id)
        await audit.record(
            s,
            request,
            who,
            "read",
            "encounter_ics",
            e.id,
            patient_id=e.patient_id,
            encounter_id=e.id,
        )
    clinic = svc.settings.clinic_name or "Hearth"
    with_whom = clinician.name if clinician else clinic
    event = CalendarEvent(
        uid=event_uid(svc.settings, e.id),
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        summary=f"{KIND_NAMES.get(e.kind, e.kind)} with {with_whom}",
        description=(
            "Open the link your care team sent you a few minutes before the visit."
            if e.kind == "video_visit"
            else None
        ),
        cancelled=e.status == "cancelled",
    )
    return _calendar_response(
        render_calendar([event], name=clinic, now=svc.clock.now(), method="PUBLISH"),
        filename="visit.ics",
    )

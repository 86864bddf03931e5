"""Moving and cancelling a booked visit, each in one transaction with its links and reminders."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.encounters import encounter_out
from server.api.registry import api, int_param, parse_body, respond
from server.api.scheduling_schemas import CancelIn, RescheduleIn
from server.api.schemas import EncounterCreated, EncounterOut
from server.edge.auth import staff
from server.services import audit, visit_context
from server.services.access import can_reach_patient
from server.services.audit import Denied
from server.services.booking import cancel_reminders, check_slot, plan_reminders, record_change
from server.services.context import services
from server.services.errors import ApiError, not_found
from server.services.links import issue_link, link_url, revoke_links_of
from server.services.live import LIVE
from server.services.sessions import Principal
from server.store.models import Encounter, User


async def _encounter_to_change(
    s: AsyncSession, who: Principal, encounter_id: int, action: str
) -> Encounter:
    encounter = await s.get(Encounter, encounter_id)
    if encounter is None or not await can_reach_patient(s, who, encounter.patient_id):
        raise Denied(
            not_found("That visit"),
            action=action,
            resource_type="encounter",
            resource_id=encounter_id,
            patient_id=encounter.patient_id if encounter else None,
            encounter_id=encounter_id,
        )
    if encounter.status != "planned":
        raise ApiError(
            409,
            "visit_not_planned",
            f"This visit is {encounter.status.replace('_', ' ')}; only a booked visit that "
            "has not started can be moved or cancelled.",
        )
    return encounter


async def _expel(request: web.Request, link_ids: list[int], reason: str) -> None:
    # Anyone in the visit on an old link leaves it now, not at their next request.
    if link_ids:
        gone = set(link_ids)
        await request.app[LIVE].expel(lambda c: c.link_id in gone, reason)


@api(
    "POST",
    "/api/encounters/{encounter_id}/reschedule",
    summary="Move a booked visit; old family links stop working and a new one is issued",
    tag="scheduling",
    body=RescheduleIn,
    response=EncounterCreated,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def reschedule(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    body = await parse_body(request, RescheduleIn)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        e = await _encounter_to_change(s, who, encounter_id, "encounter.reschedule")
        clinician = await s.get(User, e.clinician_id)
        assert clinician is not None
        old = (e.starts_at, e.ends_at)
        starts_at = body.starts_at.astimezone(dt.UTC)
        ends_at = starts_at + (
            dt.timedelta(minutes=body.duration_minutes)
            if body.duration_minutes
            else old[1] - old[0]
        )
        await check_slot(
            s,
            clinician=clinician,
            patient_id=e.patient_id,
            kind=e.kind,
            starts_at=starts_at,
            ends_at=ends_at,
            now=now,
            override_reason=body.override_reason,
            ignore_encounter_id=e.id,
        )
        e.starts_at, e.ends_at = starts_at, ends_at
        visit_context.changed(s, encounter_id=e.id)  # readings are dated against the start
        revoked = await revoke_links_of(s, e.id, by=who.user_id, now=now)
        token = link = None
        if e.kind == "video_visit":
            token, link = await issue_link(s, svc.settings, e, created_by=who.user_id, now=now)
        await plan_reminders(s, e, now=now)
        record_change(
            s, e, "reschedule", at=now, by=who.user_id, reason=body.override_reason, old=old
        )
        await audit.record(
            s,
            request,
            who,
            "reschedule",
            "encounter",
            e.id,
            patient_id=e.patient_id,
            encounter_id=e.id,
        )
        out = await encounter_out(s, who, e)
    await _expel(request, revoked, "This visit has been moved. Please use the new link.")
    return respond(
        EncounterCreated(
            **out.model_dump(),
            family_link=link_url(svc.settings, token) if token else None,
            family_link_id=link.id if link else None,
            family_link_expires_at=link.expires_at if link else None,
        )
    )


@api(
    "POST",
    "/api/encounters/{encounter_id}/cancel",
    summary="Cancel a booked visit with a reason; its links and reminders are cancelled",
    tag="scheduling",
    body=CancelIn,
    response=EncounterOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def cancel(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    body = await parse_body(request, CancelIn)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        e = await _encounter_to_change(s, who, encounter_id, "encounter.cancel")
        e.status = "cancelled"
        await revoke_links_of(s, e.id, by=who.user_id, now=now)
        await cancel_reminders(s, e.id)
        record_change(s, e, "cancel", at=now, by=who.user_id, reason=body.reason)
        await audit.record(
            s,
            request,
            who,
            "cancel",
            "encounter",
            e.id,
            patient_id=e.patient_id,
            encounter_id=e.id,
        )
        out = await encounter_out(s, who, e)
    gone = e.id
    await request.app[LIVE].expel(
        lambda c: c.kind in ("family", "guest") and c.encounter_id == gone,
        "This visit has been cancelled by the care team.",
    )
    return respond(out)

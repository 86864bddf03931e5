"""Starting, finishing and cancelling a drill; what people do in it; the family's view.

The family's page records the first steps it takes; the care team scores teach-back answers
and writes notes for the timeline. Every recorded action is pushed to the call at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from encounters.errors import ConflictError
from server.api.registry import api, int_param, parse_body, respond
from server.edge.auth import principal
from server.edge.language import viewer_language
from server.services import audit
from server.services.context import services
from server.services.drill_views import (
    DrillActionBody,
    DrillDetail,
    DrillEventOut,
    FamilyDrillView,
    drill_detail,
    drill_for,
    drill_words,
    event_in,
    family_drill_view,
)
from server.services.drills import DRILLS, add_event
from server.services.errors import ApiError, forbidden
from server.services.links import revoke_links_of
from server.services.live import LIVE
from server.services.sessions import Principal
from server.store.drills import Drill, DrillEvent
from server.store.models import Encounter, Patient


async def _move(
    request: web.Request, action: str, allowed_from: tuple[str, ...], to: str
) -> web.StreamResponse:
    who = principal(request)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        drill = await drill_for(s, who, int_param(request, "drill_id"), "drill.run")
        if drill.status not in allowed_from:
            raise ConflictError(
                f"This drill is {drill.status}; it cannot be {to} now.", code="drill_state"
            )
        values: dict[str, Any] = {"status": to, "revision": drill.revision + 1}
        values["started_at" if to == "running" else "finished_at"] = now
        moved = await s.execute(
            update(Drill)
            .where(Drill.id == drill.id, Drill.revision == drill.revision)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(
                "The drill changed meanwhile; reload and try again.", code="drill_changed"
            )
        await add_event(s, drill, action, {}, at=now, role=who.role, user_id=who.user_id)
        if to == "cancelled":
            # A cancelled drill's call ends and its family link stops working.
            encounter = await s.get(Encounter, drill.encounter_id)
            assert encounter is not None
            encounter.status = "cancelled"
            await revoke_links_of(s, encounter.id, by=who.user_id, now=now)
        await audit.record(
            s,
            request,
            who,
            action,
            "drill",
            drill.id,
            patient_id=drill.patient_id,
            encounter_id=drill.encounter_id,
        )
    if to == "cancelled":
        gone = drill.encounter_id
        await request.app[LIVE].expel(
            lambda c: c.encounter_id == gone, "This practice drill has been cancelled."
        )
    if to == "running":
        await request.app[DRILLS].run_due(now, drill.id)  # what the script opens with, now
    async with svc.db.begin() as s:
        fresh = await s.get(Drill, drill.id, populate_existing=True)
        assert fresh is not None
        return respond(await drill_detail(s, fresh, viewer_language(request)))


@api(
    "POST",
    "/api/drills/{drill_id}/start",
    summary="Start a drill: the script begins to play",
    tag="drills",
    response=DrillDetail,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def start_drill(request: web.Request) -> web.StreamResponse:
    return await _move(request, "started", ("ready",), "running")


@api(
    "POST",
    "/api/drills/{drill_id}/finish",
    summary="Finish a running drill; the report is ready",
    tag="drills",
    response=DrillDetail,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def finish_drill(request: web.Request) -> web.StreamResponse:
    return await _move(request, "finished", ("running",), "finished")


@api(
    "POST",
    "/api/drills/{drill_id}/cancel",
    summary="Cancel a drill that is ready or running",
    tag="drills",
    response=DrillDetail,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def cancel_drill(request: web.Request) -> web.StreamResponse:
    return await _move(request, "cancelled", ("ready", "running"), "cancelled")


def _checked_action(body: DrillActionBody, drill: Drill, who: Principal) -> dict[str, Any]:
    """The event's data, once the body names a real step or teach-back point."""
    if body.kind == "family_step":
        steps = {s["id"] for s in drill.scenario["expected"]["family_steps"]}
        if body.step not in steps:
            raise ApiError(
                422, "unknown_step", "That step is not in this drill's plan.", field="step"
            )
        return {"step": body.step}
    if who.role == "family" and body.kind != "said":
        raise forbidden("The care team scores teach-back answers.")
    if body.kind == "teach_back":
        items = {q["item"] for q in drill.scenario["teach_back"]}
        if body.item not in items:
            raise ApiError(
                422, "unknown_item", "That teach-back point is not in this drill.", field="item"
            )
        if body.result is None:
            raise ApiError(422, "missing_field", "Say how the answer went.", field="result")
        return {"item": body.item, "result": body.result}
    if not body.text:
        raise ApiError(422, "missing_field", "Write what was said or done.", field="text")
    return {"text": body.text}


@api(
    "POST",
    "/api/drills/{drill_id}/actions",
    summary="Record a family step, a teach-back answer or a note in a running drill",
    tag="drills",
    body=DrillActionBody,
    response=DrillEventOut,
    status=201,
    auth="session",
    errors=(400, 401, 403, 404, 409, 422),
)
async def record_action(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    body = await parse_body(request, DrillActionBody)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        drill = await drill_for(s, who, int_param(request, "drill_id"), "drill.act")
        data = _checked_action(body, drill, who)
        if drill.status != "running":
            raise ConflictError(
                f"This drill is {drill.status}; start it first.", code="drill_state"
            )
        row = await add_event(
            s,
            drill,
            body.kind,
            data,
            at=now,
            role=who.role,
            user_id=who.user_id,
            link_id=who.link_id,
        )
        assert row is not None
        await audit.record(
            s,
            request,
            who,
            "update",
            "drill",
            drill.id,
            patient_id=drill.patient_id,
            encounter_id=drill.encounter_id,
            detail=body.kind,
        )
        s.expunge(drill)
    await request.app[DRILLS].announce_event(drill, row)
    words = drill_words(drill, viewer_language(request))
    return respond(DrillEventOut(event=event_in(row, words)), 201)


@api(
    "GET",
    "/api/drills/{drill_id}/family",
    summary="The family's view of a drill: prompts so far and the plan's first steps",
    tag="drills",
    response=FamilyDrillView,
    auth="session",
    errors=(401, 403, 404),
)
async def family_view(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    async with services(request).db.begin() as s:
        drill = await drill_for(s, who, int_param(request, "drill_id"), "drill.act")
        events = (
            await s.scalars(
                select(DrillEvent)
                .where(
                    DrillEvent.drill_id == drill.id, DrillEvent.kind.in_(("prompt", "family_step"))
                )
                .order_by(DrillEvent.at, DrillEvent.id)
            )
        ).all()
        patient = await s.get(Patient, drill.patient_id)
        await audit.record(
            s,
            request,
            who,
            "read",
            "drill",
            drill.id,
            patient_id=drill.patient_id,
            encounter_id=drill.encounter_id,
        )
        language = viewer_language(request, patient.language if patient else None)
        out = family_drill_view(drill, events, language)
    return respond(out)

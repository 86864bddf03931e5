"""What people do in a running drill, and the family's view of it (issue 9).

The family's page records the first steps it takes; the care team scores teach-back answers
and writes notes for the timeline. Every recorded action is pushed to the call at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from encounters.errors import ConflictError
from server import audit
from server.api.drill_schemas import DrillActionBody, DrillEventOut, FamilyDrillView
from server.api.drills import drill_for
from server.api.registry import api, int_param, parse_body, respond
from server.auth import principal
from server.context import services
from server.drill_models import Drill, DrillEvent
from server.drills import DRILLS, add_event, event_payload
from server.errors import ApiError, forbidden
from server.sessions import Principal


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
    return respond(DrillEventOut(event=event_payload(row)), 201)


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
        taken = {e.data["step"] for e in events if e.kind == "family_step"}
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
        out = FamilyDrillView(
            drill_id=drill.id,
            status=drill.status,
            title=drill.scenario["title"],
            prompts=[event_payload(e) for e in events if e.kind == "prompt"],
            family_steps=[
                {**step, "taken": step["id"] in taken}
                for step in drill.scenario["expected"]["family_steps"]
            ],
        )
    return respond(out)

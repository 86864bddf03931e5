"""The visit's steps: ``POST /api/encounters/{id}/events`` and the template's description."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from encounters import workflow
from encounters.encounter_state import state_from_dict
from server.api.registry import api, int_param, respond
from server.edge.auth import principal
from server.edge.errors import read_json
from server.services import audit
from server.services.access import encounter_for
from server.services.assessment import compare_assessment
from server.services.context import services
from server.services.errors import ApiError
from server.services.live import LIVE
from server.services.templates import templates
from server.services.workflow_view import describe_template, family_view
from signaling import events as ev


class WorkflowState(BaseModel):
    encounter_id: int
    status: str
    state: dict[str, Any]
    # Per instrument, each answered item's flags and change since the previous visit.
    comparison: dict[str, Any] | None = None


class TemplateDescription(BaseModel):
    id: str
    title: str
    steps: list[dict[str, Any]]


STATUS_OF = {"not_started": "planned", "in_progress": "in_progress", "finished": "finished"}


@api(
    "POST",
    "/api/encounters/{encounter_id}/events",
    summary="Apply one workflow event (start, answer, complete, skip, reopen, finish)",
    tag="encounters",
    response=WorkflowState,
    errors=(400, 401, 403, 404, 409, 422),
)
async def apply_event(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_field", "The request body must be a JSON object.")
    svc = services(request)
    now = svc.clock.now()
    role = "family" if who.role == "family" else "clinician"
    actor_id = f"link:{who.link_id}" if who.role == "family" else f"user:{who.user_id}"
    async with svc.db.begin() as s:
        encounter = await encounter_for(s, who, encounter_id, "encounter.event")
        if encounter.status == "cancelled":
            raise ApiError(409, "visit_cancelled", "This visit has been cancelled.")
        template = templates()[encounter.template]
        state = (
            state_from_dict(encounter.state)
            if encounter.state
            else workflow.initial_state(template)
        )
        event = workflow.parse_event(body, role=role, actor_id=actor_id, at=now)
        # A refused event raises here and the transaction rolls back: nothing changes.
        new_state = workflow.apply(template, state, event)
        encounter.state = workflow.state_to_dict(new_state)
        encounter.status = STATUS_OF.get(str(new_state.status), encounter.status)
        await audit.record(
            s,
            request,
            who,
            "update",
            "encounter",
            encounter.id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
            detail=f"{event.type}:{event.step or ''}",
        )
        stored = encounter.state
        status = encounter.status
        comparison = await compare_assessment(s, encounter, new_state)
    namespace = request.app[LIVE]
    # Clinicians get every answer and score; a family page only which steps are open.
    await namespace.notify(
        encounter_id,
        ev.STEP,
        {"encounter_id": encounter_id, "state": stored, "comparison": comparison},
        group="hosts",
    )
    await namespace.notify_guests(
        encounter_id, ev.STEP, {"encounter_id": encounter_id, "state": family_view(new_state)}
    )
    family = who.role == "family"
    return respond(
        WorkflowState(
            encounter_id=encounter_id,
            status=status,
            state=family_view(new_state) if family else stored,
            comparison=None if family else comparison,
        )
    )


@api(
    "GET",
    "/api/templates/{template_id}",
    summary="A visit template: steps, fields, items",
    tag="encounters",
    response=TemplateDescription,
    errors=(401, 404),
)
async def get_template(request: web.Request) -> web.StreamResponse:
    principal(request)
    template = templates().get(request.match_info["template_id"])
    if template is None:
        raise ApiError(404, "not_found", "There is no such visit template.")
    return respond(TemplateDescription.model_validate(describe_template(template)))

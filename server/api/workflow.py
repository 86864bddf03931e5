"""The visit's steps: ``POST /api/encounters/{id}/events`` and the template's description."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.api.registry import api, int_param, respond
from server.core.bounds import Id
from server.core.content_messages import translate_content
from server.core.i18n import translations
from server.edge.auth import principal
from server.edge.errors import read_json
from server.edge.language import viewer_language
from server.services import audit, encounter_events
from server.services.context import services
from server.services.errors import ApiError
from server.services.templates import templates
from server.services.workflow_view import describe_template, family_view


class WorkflowState(BaseModel):
    encounter_id: Id
    status: str
    state: dict[str, Any]
    # Per instrument, each answered item's flags and change since the previous visit.
    comparison: dict[str, Any] | None = None


class TemplateDescription(BaseModel):
    id: str
    title: str
    steps: list[dict[str, Any]]


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
    async with svc.db.begin() as s:
        applied = await encounter_events.apply_event(
            s, svc.clock.now(), who, encounter_id, body, actor=audit.actor_of(request, who)
        )
    await encounter_events.push_step(request.app, applied)
    family = who.role == "family"
    return respond(
        WorkflowState(
            encounter_id=encounter_id,
            status=applied.status,
            state=family_view(applied.state) if family else dict(applied.stored),
            comparison=None if family else applied.comparison,
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
    # Titles, questions and anchors in the reader's language; ids and codes as they are.
    described = translate_content(
        describe_template(template), translations(viewer_language(request)).gettext
    )
    return respond(TemplateDescription.model_validate(described))

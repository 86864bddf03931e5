"""The crisis scenarios a visit's rehearsal (and a drill) can use."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from encounters.scenarios import Scenario
from server.api.registry import api, respond
from server.edge.auth import staff
from server.services.context import SCENARIOS


class ScenarioList(BaseModel):
    items: list[dict[str, Any]]


def scenario_summary(scenario: Scenario) -> dict[str, Any]:
    return {
        "id": scenario.scenario_id,
        "title": scenario.title,
        "crisis": str(scenario.crisis),
        "summary": scenario.summary,
        "teach_back": [
            {"item": q.item, "safety_critical": q.safety_critical} for q in scenario.teach_back
        ],
    }


@api(
    "GET",
    "/api/scenarios",
    summary="Crisis scenarios for rehearsals and drills",
    tag="encounters",
    response=ScenarioList,
    auth="staff",
    errors=(401, 403),
)
async def list_scenarios(request: web.Request) -> web.StreamResponse:
    staff(request)
    items = [scenario_summary(s) for s in request.app[SCENARIOS].values()]
    return respond(ScenarioList(items=items))

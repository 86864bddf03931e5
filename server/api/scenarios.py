"""The crisis scenarios a visit's rehearsal (and a drill) can use."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from encounters.scenarios import Scenario
from encounters.scenarios.translated import scenario_in
from server.api.registry import api, respond
from server.edge.auth import staff
from server.edge.language import viewer_language
from server.services.context import SCENARIOS


class ScenarioList(BaseModel):
    items: list[dict[str, Any]]


def scenario_summary(scenario: Scenario, language: str | None) -> dict[str, Any]:
    """A scenario's words in ``language``, English where it has no translation. A rehearsal
    copies the teach-back questions into the clinician's own rows, so ``item`` is the
    question as the clinician asks it, in their language."""
    words = scenario_in(language, scenario)
    return {
        "id": scenario.scenario_id,
        "title": words.title,
        "crisis": str(scenario.crisis),
        "summary": words.summary,
        "teach_back": [
            {"item": words.question(q.item), "safety_critical": q.safety_critical}
            for q in scenario.teach_back
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
    language = viewer_language(request)
    items = [scenario_summary(s, language) for s in request.app[SCENARIOS].values()]
    return respond(ScenarioList(items=items))

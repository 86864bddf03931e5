"""A drill's report, and trends across drills for a team or a family (issue 9)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.api.registry import api, int_param, query_int, respond
from server.edge.auth import principal
from server.edge.language import viewer_language
from server.services import audit
from server.services.access import may, my_patient_ids, patient_for
from server.services.context import services
from server.services.drill_report import reports_json
from server.services.drill_views import (
    DrillReportOut,
    DrillTrends,
    TrendPoint,
    read_report,
)
from server.services.errors import forbidden
from server.store.drills import Drill

# Trends read the most recent finished drills; a team runs a few a month.
TREND_LIMIT = 60


@api(
    "GET",
    "/api/drills/{drill_id}/report",
    summary="A drill's measures: time to acknowledge and to the expected tier, escalation "
    "accuracy with misses, family comprehension, timeline",
    tag="drills",
    response=DrillReportOut,
    auth="staff",
    errors=(401, 403, 404),
)
async def drill_report(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    drill_id = int_param(request, "drill_id")
    return respond(await read_report(request, who, drill_id, viewer_language(request)))


@api(
    "GET",
    "/api/drill-trends",
    summary="Finished drills over time for the caller's team, or for one family",
    tag="drills",
    response=DrillTrends,
    auth="staff",
    query=(("patient_id", "integer", "one family's drills; unset: the whole team's"),),
    errors=(401, 403, 404, 422),
)
async def drill_trends(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    if not may(who, "drill.read"):
        raise forbidden()
    wanted = query_int(request, "patient_id")
    async with services(request).db.begin() as s:
        if wanted is not None:
            await patient_for(s, who, wanted, "drill.read")
            patient_ids = [wanted]
        else:
            patient_ids = await my_patient_ids(s, who)
        drills = (
            await s.scalars(
                select(Drill)
                .where(Drill.patient_id.in_(patient_ids), Drill.status == "finished")
                .order_by(Drill.started_at.desc())
                .limit(TREND_LIMIT)
            )
        ).all()
        reports = await reports_json(s, drills, viewer_language(request))
        items = []
        for drill in reversed(drills):
            report = reports[drill.id]
            assert drill.started_at is not None
            items.append(
                TrendPoint(
                    drill_id=drill.id,
                    patient_id=drill.patient_id,
                    scenario_id=drill.scenario_id,
                    title=report["title"],
                    started_at=drill.started_at.isoformat(),
                    time_to_acknowledge_s=report["time_to_acknowledge_s"],
                    time_to_expected_tier_s=report["time_to_expected_tier_s"],
                    accuracy_pct=report["accuracy"]["score_pct"],
                    comprehension_pct=report["comprehension"]["score_pct"],
                )
            )
        await audit.record(
            s,
            request,
            who,
            "list",
            "drill_report",
            None,
            patient_id=wanted,
        )
    return respond(
        DrillTrends(
            scope="family" if wanted is not None else "team",
            patient_id=wanted,
            items=items,
        )
    )

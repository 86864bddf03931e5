"""Mock crisis drills: set up, start, record, finish, report and trends (issue 9).

A coordinator sets a drill up for a patient of their care team with a scenario and a
clinician; Hearth books a drill visit (marked DRILL everywhere), issues the family's link and
snapshots the scenario with the patient's own first steps for that crisis. Starting it starts
the player (``server.services.drills``). Every read and change is audited against the patient.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select

from encounters.careplan import ladder_in_effect
from encounters.drill_json import snapshot
from encounters.drills import family_steps_for
from encounters.errors import ConflictError, DataFileError
from encounters.scenarios import check_against_ladder
from encounters.scenarios.model import plan_misfits
from server.api.registry import api, int_param, parse_body, query_int, respond
from server.edge.auth import principal
from server.edge.language import viewer_language
from server.services import audit, visit_context
from server.services.access import may, my_patient_ids, patient_for
from server.services.booking import Refusal, VisitBooking, book_visit
from server.services.careplans import current_plan
from server.services.context import SCENARIOS, services
from server.services.drill_views import (
    DrillBody,
    DrillCreated,
    DrillDetail,
    DrillList,
    drill_detail,
    drill_for,
    drill_out,
    drills_out,
)
from server.services.errors import ApiError, forbidden
from server.store.drills import Drill

LIST_LIMIT = 200


@api(
    "POST",
    "/api/drills",
    summary="Set up a mock crisis drill (coordinators)",
    tag="drills",
    body=DrillBody,
    response=DrillCreated,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def create_drill(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    body = await parse_body(request, DrillBody)
    svc = services(request)
    now = svc.clock.now()
    scenario = request.app[SCENARIOS].get(body.scenario_id)
    async with svc.db.begin() as s:
        await patient_for(s, who, body.patient_id, "drill.run")
        if scenario is None:
            raise ApiError(
                422,
                "unknown_scenario",
                f"There is no scenario '{body.scenario_id}'.",
                field="scenario_id",
            )
        # An unfit clinician is refused before a plan that does not fit or an unfinished
        # drill; a refusal below rolls this booking back with the rest of the transaction.
        booked = await book_visit(
            s,
            now,
            VisitBooking(
                patient_id=body.patient_id,
                clinician_id=body.clinician_id,
                kind="video_visit",
                starts_at=now,
                ends_at=now + dt.timedelta(minutes=body.duration_minutes),
                is_drill=True,
                unfit_clinician=Refusal(
                    "no_clinician", "Name a clinician of this patient's care team."
                ),
                diary_rules=False,
            ),
            by=audit.actor_of(request, who),
            settings=svc.settings,
        )
        plan = await current_plan(s, body.patient_id)
        try:
            check_against_ladder(scenario, [t.tier for t in ladder_in_effect(plan).tiers])
        except DataFileError as exc:
            raise ApiError(422, "scenario_not_for_plan", str(exc), field="scenario_id") from exc
        misfits = plan_misfits(scenario.plan_needs, plan)
        if misfits:
            raise ApiError(
                422,
                "scenario_not_for_plan",
                f"This drill does not fit the patient's care plan: {'; '.join(misfits)}.",
                field="scenario_id",
            )
        active = await s.scalar(
            select(Drill.id).where(
                Drill.patient_id == body.patient_id, Drill.status.in_(("ready", "running"))
            )
        )
        if active is not None:
            raise ConflictError(
                f"Drill {active} for this patient is not finished yet; finish or cancel it first.",
                code="drill_active",
            )
        steps = family_steps_for(scenario, plan.crisis_plan)
        assert who.user_id is not None
        drill = Drill(
            patient_id=body.patient_id,
            encounter_id=booked.encounter_id,
            clinician_id=booked.clinician_id,
            created_by=who.user_id,
            scenario_id=scenario.scenario_id,
            scenario=snapshot(scenario, steps),
            status="ready",
            created_at=now,
            next_event=0,
            revision=1,
        )
        s.add(drill)
        await s.flush()
        # The visit's readings now raise this drill's alerts, from the next one on.
        visit_context.changed(s, encounter_id=booked.encounter_id)
        await audit.record(
            s,
            request,
            who,
            "create",
            "drill",
            drill.id,
            patient_id=body.patient_id,
            encounter_id=booked.encounter_id,
            detail=scenario.scenario_id,
        )
        assert booked.family_link is not None
        out = DrillCreated(
            drill=await drill_out(s, drill, viewer_language(request)),
            family_link=booked.family_link,
            visit_url=f"{svc.settings.base_url}/visit/{booked.encounter_id}",
        )
    return respond(out, 201)


@api(
    "GET",
    "/api/drills",
    summary="Drills of the caller's patients, newest first",
    tag="drills",
    response=DrillList,
    auth="staff",
    query=(("patient_id", "integer", "one patient's drills"),),
    errors=(401, 403, 404, 422),
)
async def list_drills(request: web.Request) -> web.StreamResponse:
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
        rows = (
            await s.scalars(
                select(Drill)
                .where(Drill.patient_id.in_(patient_ids))
                .order_by(Drill.created_at.desc(), Drill.id.desc())
                .limit(LIST_LIMIT)
            )
        ).all()
        items = await drills_out(s, rows, viewer_language(request))
        await audit.record(
            s,
            request,
            who,
            "list",
            "drill",
            None,
            patient_id=wanted,
        )
    return respond(DrillList(items=items))


@api(
    "GET",
    "/api/drills/{drill_id}",
    summary="A drill, what has happened so far, its alerts",
    tag="drills",
    response=DrillDetail,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_drill(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    async with services(request).db.begin() as s:
        drill = await drill_for(s, who, int_param(request, "drill_id"), "drill.read")
        out = await drill_detail(s, drill, viewer_language(request))
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
    return respond(out)

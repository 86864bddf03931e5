"""The pages of mock crisis drills (issue 9): the console, a running drill, its printable
report, and trends across drills. Handlers gather what the page needs and render; the
pages' scripts call the drill API, which checks access again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import select

from encounters.scenarios.translated import scenario_in
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.language import viewer_language
from server.edge.rendering import local_time, render, render_error
from server.services import audit
from server.services.access import my_patient_ids, patient_for
from server.services.context import SCENARIOS, services
from server.services.drill_views import drill_for, drill_out, read_report
from server.services.sessions import Principal
from server.store.models import CareTeam, CareTeamMember, Patient, User

DRILL_ROLES = ("clinician", "coordinator")


def _drill_staff(request: web.Request) -> Principal | None:
    """The signed-in clinician or coordinator; None for anyone else on staff (refused)."""
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    return who if who.role in DRILL_ROLES else None


def _id_param(request: web.Request, name: str) -> int | None:
    return parse_id(request.match_info[name])


async def _zone(request: web.Request, who: Principal) -> str:
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
    return user.time_zone if user else "UTC"


async def _my_patients(request: web.Request, who: Principal) -> list[dict[str, Any]]:
    """The caller's patients, each with the clinicians of its care team (who may take a
    drill's call), ordered by name."""
    async with services(request).db.begin() as s:
        ids = await my_patient_ids(s, who)
        if not ids:
            return []
        patients = (
            await s.scalars(select(Patient).where(Patient.id.in_(ids)).order_by(Patient.name))
        ).all()
        rows = (
            await s.execute(
                select(CareTeam.patient_id, User.id, User.name)
                .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
                .join(User, User.id == CareTeamMember.user_id)
                .where(
                    CareTeam.patient_id.in_(ids),
                    User.role == "clinician",
                    User.active.is_(True),
                )
                .order_by(User.name)
            )
        ).all()
        await audit.record(s, request, who, "list", "patient", None, detail="drill pages")
    clinicians: dict[int, list[dict[str, Any]]] = {}
    for patient_id, user_id, name in rows:
        clinicians.setdefault(int(patient_id), []).append({"id": int(user_id), "name": name})
    return [{"id": p.id, "name": p.name, "clinicians": clinicians.get(p.id, [])} for p in patients]


async def drills_page(request: web.Request) -> web.StreamResponse:
    """The coordinator's drill console: the drills so far and a form to set one up."""
    who = _drill_staff(request)
    if who is None:
        return await render_error(request, 403, "Drills are for the care team.")
    patients = await _my_patients(request, who)
    language = viewer_language(request)
    scenarios = []
    for scenario in request.app[SCENARIOS].values():
        words = scenario_in(language, scenario)
        scenarios.append(
            {
                "id": scenario.scenario_id,
                "title": words.title,
                "summary": words.summary,
                "crisis": str(scenario.crisis),
            }
        )
    scenarios.sort(key=lambda s: s["title"])
    can_run = who.role == "coordinator"
    return await render(
        request,
        "drills.html",
        {"user_name": who.name, "can_run": can_run, "patients": patients, "scenarios": scenarios},
        page_data={
            "page": "drills",
            "role": who.role,
            "can_run": can_run,
            "time_zone": await _zone(request, who),
            "patients": patients,
        },
    )


async def drill_page(request: web.Request) -> web.StreamResponse:
    """One drill as it runs: controls, a live timeline, its alerts, teach-back scoring."""
    who = _drill_staff(request)
    if who is None:
        return await render_error(request, 403, "Drills are for the care team.")
    drill_id = _id_param(request, "drill_id")
    if drill_id is None:
        return await render_error(request, 404, "That drill was not found.")
    # A refusal raises Denied: the middleware audits it and answers with the error page.
    async with services(request).db.begin() as s:
        drill = await drill_for(s, who, drill_id, "drill.read")
        out = await drill_out(s, drill, viewer_language(request))
    return await render(
        request,
        "drill.html",
        {"user_name": who.name, "drill": out.model_dump(), "can_run": who.role == "coordinator"},
        page_data={
            "page": "drill",
            "drill_id": drill_id,
            "role": who.role,
            "can_run": who.role == "coordinator",
            "time_zone": await _zone(request, who),
        },
    )


def _duration(seconds: float | None) -> dict[str, int] | None:
    """Whole minutes and seconds for "4 min 10 s"; None stays None ("not reached")."""
    if seconds is None:
        return None
    total = max(0, round(seconds))
    return {"minutes": total // 60, "seconds": total % 60}


def _offset(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    total = abs(round(seconds))
    return f"{sign}{total // 60}:{total % 60:02d}"


async def drill_report_page(request: web.Request) -> web.StreamResponse:
    """The printable report, rendered on the server so it prints without a script."""
    who = _drill_staff(request)
    if who is None:
        return await render_error(request, 403, "Drills are for the care team.")
    drill_id = _id_param(request, "drill_id")
    if drill_id is None:
        return await render_error(request, 404, "That drill was not found.")
    found = await read_report(request, who, drill_id, viewer_language(request))
    out, report = found.drill, found.report
    zone = await _zone(request, who)
    started = dt.datetime.fromisoformat(out.started_at) if out.started_at else None
    return await render(
        request,
        "drill_report.html",
        {
            "user_name": who.name,
            "drill": out.model_dump(),
            "report": report,
            "when": (
                local_time(
                    started, zone, viewer_language(request), now=services(request).clock.now()
                )
                if started
                else None
            ),
            "ack": _duration(report["time_to_acknowledge_s"]),
            "to_tier": _duration(report["time_to_expected_tier_s"]),
            "timeline": [{**row, "offset": _offset(row["offset_s"])} for row in report["timeline"]],
        },
        page_data={"page": "drill_report", "drill_id": drill_id},
    )


async def drill_trends_page(request: web.Request) -> web.StreamResponse:
    """Charts and a table of finished drills: the team's, or one family's."""
    who = _drill_staff(request)
    if who is None:
        return await render_error(request, 403, "Drills are for the care team.")
    raw = request.query.get("patient_id")
    patient_id: int | None = None
    patient_name: str | None = None
    if raw:
        wanted = parse_id(raw)
        if wanted is None:
            return await render_error(request, 404, "That patient was not found.")
        async with services(request).db.begin() as s:
            patient = await patient_for(s, who, wanted, "drill.read")
            patient_id, patient_name = patient.id, patient.name
    patients = await _my_patients(request, who)
    return await render(
        request,
        "drill_trends.html",
        {
            "user_name": who.name,
            "patients": patients,
            "patient_id": patient_id,
            "patient_name": patient_name,
        },
        page_data={
            "page": "drill_trends",
            "patient_id": patient_id,
            "time_zone": await _zone(request, who),
        },
    )


def add_drill_page_routes(app: web.Application) -> None:
    # The trends page first: "/drills/trends" must not be read as a drill id.
    app.router.add_get("/drills", drills_page, name="drills")
    app.router.add_get("/drills/trends", drill_trends_page, name="drill_trends")
    app.router.add_get(r"/drills/{drill_id:\d+}", drill_page, name="drill")
    app.router.add_get(r"/drills/{drill_id:\d+}/report", drill_report_page, name="drill_report")

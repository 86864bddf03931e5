"""Education pages: the staff's library (with each text's readability) and the printable action
plan. The family reads its topics on the family and diary pages (``family_topics``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan
from encounters.education import Level
from server.core.i18n import pick_language
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.rendering import render, render_error
from server.services import audit
from server.services.access import patient_for
from server.services.careplans import current_plan
from server.services.context import EDUCATION, services
from server.services.education import assignments_of, topic_for_reader
from server.services.education_catalogue import Catalogue
from server.services.sessions import Principal
from server.store.education import EducationAssignment


async def education_rows(s: AsyncSession, patient_id: int) -> list[EducationAssignment]:
    return await assignments_of(s, patient_id)


def family_education(
    request: web.Request, rows: list[EducationAssignment], *languages: str | None
) -> list[dict[str, Any]]:
    """The assigned topics as the family reads them, for the page's data block (the page keeps
    a copy for reading offline): in the first of ``languages`` each is written in (the
    patient's, then the page's), else English. Topics are content, not interface strings: a
    topic written in the patient's language is shown in it even where the interface is not."""
    catalogue: Catalogue = request.app[EDUCATION]
    return [topic_for_reader(catalogue, row, languages) for row in rows]


def _clinical_staff(request: web.Request) -> Principal | None:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    return who if who.role in ("clinician", "coordinator") else None


async def library_page(request: web.Request) -> web.StreamResponse:
    who = _clinical_staff(request)
    if who is None:
        return await render_error(request, 403, "The education library is for the care team.")
    catalogue = request.app[EDUCATION]
    library = catalogue.library
    rows = []
    for topic_id in library.topic_ids():
        for language in library.languages_of(topic_id):
            topic = library.topics[(topic_id, language)]
            for level in Level:
                score = catalogue.score(topic, level)
                rows.append(
                    {
                        "title": topic.version(level).title,
                        "language": language,
                        "level": level.value,
                        "formula": score.formula.name,
                        "approximate": score.formula.approximate,
                        "score": score.score,
                        "target": score.formula.plain_target,
                        "higher_is_easier": score.formula.higher_is_easier,
                        "flagged": level is Level.PLAIN and not score.meets_plain_target,
                        "reviewed_by": topic.reviewed_by,
                        "machine": topic.origin.value == "machine_translation",
                        "points": len(topic.teach_back),
                        "sources": [f"{s.organisation}: {s.title}" for s in topic.sources],
                        "path": topic.path,
                    }
                )
    return await render(request, "education_library.html", {"user_name": who.name, "rows": rows})


def action_plan_context(plan: CarePlan, clinic_phone: str | None) -> dict[str, Any]:
    """What the one-page plan shows, in the order a family needs it in a crisis."""
    crisis = plan.crisis_plan
    return {
        "instructions": [
            {"crisis": i.crisis.value, "triggers": i.triggers, "first_steps": i.first_steps}
            for i in crisis.instructions
        ],
        "medicines": [
            {
                "drug": m.drug,
                "dose": m.dose,
                "route": m.route.value,
                "indication": m.indication,
                "min_interval_min": m.min_interval_min,
                "max_doses_per_24h": m.max_doses_per_24h,
                "given_by": m.given_by.value,
                "location": m.location,
            }
            for m in crisis.medicines
        ],
        "call_tree": [
            {
                "kind": c.kind.value,
                "name": c.name,
                "phone": c.phone,
                "hours": c.hours,
                "when": c.when,
            }
            for c in crisis.call_tree
        ],
        "call_any_time": _line_24_7(plan, clinic_phone),
        "form_location": plan.advance_care.form_location,
    }


def _line_24_7(plan: CarePlan, clinic_phone: str | None) -> str | None:
    """The number a family calls any time: the plan's hospice line, else the clinic's."""
    for contact in plan.crisis_plan.call_tree:
        if contact.kind.value == "hospice_line":
            return contact.phone
    return clinic_phone


async def action_plan_page(request: web.Request) -> web.StreamResponse:
    who = _clinical_staff(request)
    if who is None:
        return await render_error(request, 403, "The action plan is printed by the care team.")
    patient_id = parse_id(request.match_info["patient_id"])
    if patient_id is None:
        return await render_error(request, 404, "That patient was not found.")
    svc = services(request)
    async with svc.db.begin() as s:
        patient = await patient_for(s, who, patient_id, "careplan.read")
        plan = await current_plan(s, patient_id)
        name, language = patient.name, patient.language
        await audit.record(
            s, request, who, "read", "action_plan", patient_id, patient_id=patient_id
        )
    return await render(
        request,
        "action_plan.html",
        {"patient_name": name, **action_plan_context(plan, svc.settings.clinic_phone)},
        # Printed for the family: in their language, whatever the clinician's browser says.
        language=pick_language(None, language),
    )


def add_education_page_routes(app: web.Application) -> None:
    app.router.add_get("/education", library_page, name="education_library")
    app.router.add_get("/patients/{patient_id}/action-plan", action_plan_page, name="action_plan")

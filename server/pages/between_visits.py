"""The pages of care between visits: the family's diary and the coordinator's alert console."""

from __future__ import annotations

from aiohttp import web

from encounters.careplan import (
    CeilingOfCare,
    ContactKind,
    CrisisType,
    GivenBy,
    Place,
    Resuscitation,
    Route,
)
from encounters.diary import DIARY_ITEMS, SCORE_MAX, SCORE_MIN, WORRY_MAX_CHARS, WORRY_QUESTION
from encounters.escalation import Outcome
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.language import chosen_language, viewer_language
from server.edge.rendering import render, render_error
from server.pages.diary_offline import manifest_path
from server.pages.education import education_rows, family_education
from server.pages.link_throttle import throttled_link_page
from server.services import audit, languages
from server.services.access import patient_for
from server.services.alerts import care_teams_by_name
from server.services.context import services
from server.services.diary import diary_link_status, find_diary_link
from server.services.links import UNUSABLE, LinkThrottled, guarded_link_lookup
from server.services.sessions import Principal
from server.store.models import Patient, User


async def diary_page(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    token = request.match_info["token"]
    now = svc.clock.now()
    # Counted before the token is looked up; given back unless the link is unusable.
    try:
        async with guarded_link_lookup(
            svc.attempts, request.remote, now, counted=UNUSABLE
        ) as lookup:
            async with svc.db.begin() as s:
                link = await find_diary_link(s, svc.settings, token)
                status = diary_link_status(link, now) if link else "unknown"
                patient = await s.get(Patient, link.patient_id) if link else None
                education = await education_rows(s, link.patient_id) if link else []
                chosen = chosen_language(request)
                if link is not None and status == "active" and chosen is not None:
                    await languages.remember_for_diary_link(s, link.id, chosen)
                await audit.record(
                    s,
                    request,
                    audit.Actor(None, None, "family", request.remote, None),
                    "open",
                    "diary_link",
                    link.id if link else None,
                    patient_id=link.patient_id if link else None,
                    outcome="success" if status == "active" else "denied",
                    detail=status,
                )
            lookup.status = status
    except LinkThrottled as refused:
        return await throttled_link_page(request, refused.retry_after)
    lang = viewer_language(
        request, link.language if link else None, patient.language if patient else None
    )
    if status != "active":
        return await render(
            request,
            "link_problem.html",
            {
                "problem": status,
                "clinic_phone": svc.settings.clinic_phone,
                "clinician_name": None,
                "clinician_phone": None,
            },
            status=404 if status == "unknown" else 410,
            language=lang,
        )
    items = [
        {
            "id": i.item_id,
            "label": i.label,
            "question": i.question,
            "anchor_0": i.anchor_0,
            "anchor_10": i.anchor_10,
        }
        for i in DIARY_ITEMS
    ]
    return await render(
        request,
        "diary.html",
        {
            "items": items,
            "scores": list(range(SCORE_MIN, SCORE_MAX + 1)),
            "worry_question": WORRY_QUESTION,
            "worry_max": WORRY_MAX_CHARS,
            "manifest_url": manifest_path(token),
        },
        language=lang,
        # The token is already in this page's address; the page sends it with each entry.
        page_data={
            "page": "diary",
            "token": token,
            "education": family_education(
                request, education, patient.language if patient else None, lang
            ),
        },
    )


async def alerts_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    if who.role not in ("clinician", "coordinator"):
        return await render_error(request, 403, "The alert queue is for the care team.")
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
    return await render(
        request,
        "alerts.html",
        {"user_name": who.name},
        page_data={
            "page": "alerts",
            "user_id": who.user_id,
            "role": who.role,
            # Times in the viewer's zone, as on every staff page: their account's.
            "time_zone": user.time_zone if user else "UTC",
            "outcomes": [o.value for o in Outcome],
        },
    )


async def care_plan_page(request: web.Request) -> web.StreamResponse:
    """A JSON-backed editor of the care plan's main fields; the API checks access again."""
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    patient_id = parse_id(request.match_info["patient_id"])
    if patient_id is None:
        return await render_error(request, 404, "That patient was not found.")
    # A refusal raises Denied, which the middleware audits and answers with the error page.
    async with services(request).db.begin() as s:
        patient = await patient_for(s, who, patient_id, "careplan.read")
        name = patient.name
        team = (await care_teams_by_name(s, [patient_id]))[patient_id]
        user = await s.get(User, who.user_id)
    return await render(
        request,
        "careplan.html",
        {"user_name": who.name, "patient_name": name},
        page_data={
            "page": "careplan",
            "patient_id": patient_id,
            "places": [p.value for p in Place],
            "resuscitation": [r.value for r in Resuscitation],
            "ceilings": [c.value for c in CeilingOfCare],
            "crises": [c.value for c in CrisisType],
            "routes": [r.value for r in Route],
            "given_by": [g.value for g in GivenBy],
            "contact_kinds": [k.value for k in ContactKind],
            "time_zone": user.time_zone if user else "UTC",
            # A ladder step or a care-team entry names a person picked from the care team
            # (the plan keeps their id), and a role picked from a list, both shown by name.
            "staff": [{"id": str(user_id), "name": person} for user_id, person in team],
            "roles": list(LADDER_ROLES),
            # Thresholds can be set for the diary's items and ESAS-r's, per symptom and per patient.
            "symptoms": sorted({i.item_id for i in DIARY_ITEMS} | set(ESAS_ITEM_IDS)),
        },
    )


# The roles a ladder step or a care-team entry is offered; a plan may hold others (the API
# takes any lower-case name), which the page keeps and shows in words.
LADDER_ROLES = (
    "on_call_nurse",
    "community_nurse",
    "palliative_physician",
    "social_worker",
    "pharmacist",
    "clinician",
    "coordinator",
)

ESAS_ITEM_IDS = (
    "pain",
    "tiredness",
    "drowsiness",
    "nausea",
    "appetite",
    "shortness_of_breath",
    "depression",
    "anxiety",
    "wellbeing",
)


def add_between_visits_pages(app: web.Application) -> None:
    app.router.add_get("/patients/{patient_id}/care-plan", care_plan_page, name="care_plan")
    app.router.add_get("/diary/{token}", diary_page, name="diary")
    app.router.add_get("/alerts", alerts_page, name="alerts")

"""The visit pages: home, sign-in, the day list, the schedule, the family's join and
waiting pages, and the clinician's visit page. Handlers gather data and render; the
pages' scripts call the API."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from encounters.call_roles import CALL_ONLY
from encounters.careplan import CarePlan, bands_in_effect
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.language import chosen_language, viewer_language
from server.edge.rendering import local_time, render, render_error
from server.pages.education import education_rows, family_education
from server.pages.link_throttle import throttled_link_page
from server.services import audit, languages
from server.services.access import encounter_for
from server.services.careplans import current_plan
from server.services.context import services
from server.services.ice import IceServers, ice_servers_for
from server.services.links import (
    UNUSABLE,
    LinkThrottled,
    find_link,
    guarded_link_lookup,
    link_status,
)
from server.services.sessions import Principal
from server.store.drills import drill_of
from server.store.models import Encounter, Patient, User


def _staff(request: web.Request) -> Principal | None:
    who: Principal | None = request.get(PRINCIPAL)
    return who if who is not None and who.is_staff else None


def band_limits(plan: CarePlan) -> dict[str, dict[str, float | str | None]]:
    """The patient's own bands the charts shade (the home default where the plan is silent,
    none when monitoring is off): the bands the readings are checked against."""
    return {
        name: {"low": b.low, "high": b.high, "unit": b.unit}
        for name, b in bands_in_effect(plan).items()
    }


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/today" if _staff(request) else "/login")


async def login_page(request: web.Request) -> web.StreamResponse:
    if _staff(request):
        raise web.HTTPFound("/today")
    return await render(request, "login.html", page_data={"page": "login"})


async def today_page(request: web.Request) -> web.StreamResponse:
    who = _staff(request)
    if who is None:
        raise web.HTTPFound("/login")
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
    zone = user.time_zone if user else "UTC"
    return await render(
        request,
        "today.html",
        {"user_name": who.name, "role": who.role},
        page_data={"page": "today", "time_zone": zone, "role": who.role},
    )


async def schedule_page(request: web.Request) -> web.StreamResponse:
    who = _staff(request)
    if who is None:
        raise web.HTTPFound("/login")
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
    zone = user.time_zone if user else "UTC"
    return await render(
        request,
        "schedule.html",
        {"user_name": who.name},
        page_data={"page": "schedule", "time_zone": zone, "role": who.role},
    )


async def join_page(request: web.Request) -> web.StreamResponse:
    svc = services(request)
    token = request.match_info["token"]
    now = svc.clock.now()
    # Counted before the token is looked up; given back unless the link is unusable.
    try:
        async with guarded_link_lookup(
            svc.attempts, request.remote, now, counted=UNUSABLE
        ) as lookup:
            async with svc.db.begin() as s:
                link = await find_link(s, svc.settings, token)
                encounter = await s.get(Encounter, link.encounter_id) if link else None
                patient = await s.get(Patient, encounter.patient_id) if encounter else None
                clinician = await s.get(User, encounter.clinician_id) if encounter else None
                status: str = link_status(link, now) if link else "unknown"
                if (
                    encounter is not None
                    and status == "active"
                    and encounter.status in ("cancelled", "finished")
                ):
                    status = encounter.status
                chosen = chosen_language(request)
                if link is not None and status == "active" and chosen is not None:
                    await languages.remember_for_join_link(s, link.id, chosen)
                await audit.record(
                    s,
                    request,
                    audit.Actor(
                        None,
                        link.id if link else None,
                        link.role if link else "family",
                        request.remote,
                        None,
                    ),
                    "open",
                    "join_link",
                    link.id if link else None,
                    patient_id=encounter.patient_id if encounter else None,
                    encounter_id=encounter.id if encounter else None,
                    outcome="success" if status == "active" else "denied",
                    detail=status,
                )
            lookup.status = status
    except LinkThrottled as refused:
        return await throttled_link_page(request, refused.retry_after)
    lang = viewer_language(
        request, link.language if link else None, patient.language if patient else None
    )
    contact = {
        "clinic_phone": svc.settings.clinic_phone,
        "clinician_name": clinician.name if clinician else None,
        "clinician_phone": clinician.phone if clinician else None,
    }
    if status != "active" or encounter is None or patient is None:
        return await render(
            request,
            "link_problem.html",
            {"problem": status, **contact},
            status=404 if status == "unknown" else 410,
            language=lang,
        )
    when = local_time(
        encounter.starts_at, patient.time_zone, lang, now=services(request).clock.now()
    )
    return await render(
        request,
        "join.html",
        {
            "when": when,
            "is_drill": encounter.is_drill,
            # Someone invited to the call only (an interpreter, another clinician) is told so
            # before joining, as the call page tells them once in.
            "guest_role": link.role if link is not None and link.role in CALL_ONLY else None,
            **contact,
        },
        language=lang,
        page_data={"page": "join", "token": token},
    )


async def family_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or who.kind != "family":
        return await render_error(request, 401, "Please open the link your care team sent you.")
    async with services(request).db.begin() as s:
        encounter = await s.get(Encounter, who.encounter_id)
        assert encounter is not None
        patient = await s.get(Patient, encounter.patient_id)
        clinician = await s.get(User, encounter.clinician_id)
        drill_id = await drill_of(s, encounter)
        education = await education_rows(s, encounter.patient_id)
        await audit.record(
            s,
            request,
            who,
            "read",
            "encounter",
            encounter.id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
        )
    zone = patient.time_zone if patient else "UTC"
    lang = viewer_language(request, patient.language if patient else None)
    return await render(
        request,
        "family.html",
        {
            "when": local_time(encounter.starts_at, zone, lang, now=services(request).clock.now()),
            "display_name": who.name,
            "clinician_name": clinician.name if clinician else "",
            "is_drill": encounter.is_drill,
        },
        language=lang,
        page_data={
            "page": "family",
            # Topics in the patient's language where written in it, else English.
            "education": family_education(
                request, education, patient.language if patient else "en"
            ),
            "encounter_id": encounter.id,
            # The patient's zone: the page says in it when the waiting room opens.
            "time_zone": zone,
            # Practice readings only where nobody could mistake them for a patient's:
            # the demo, and drills (whose every record is marked as a drill).
            "simulator": services(request).settings.demo or encounter.is_drill,
            "template": encounter.template,
            **_ice_data(
                ice_servers_for(services(request).settings, who, services(request).clock.now())
            ),
            "is_drill": encounter.is_drill,
            "drill_id": drill_id,
        },
    )


def _ice_data(found: IceServers) -> dict[str, object]:
    """What a visit page's peer connections start with; the page renews the TURN credential
    from ``GET /api/ice-servers`` before ``ice_servers_expire_at``."""
    return {
        "ice_servers": found.servers,
        "ice_servers_expire_at": found.expires_at.isoformat() if found.expires_at else None,
    }


async def visit_page(request: web.Request) -> web.StreamResponse:
    who = _staff(request)
    if who is None:
        raise web.HTTPFound("/login")
    encounter_id = parse_id(request.match_info["encounter_id"])
    if encounter_id is None:
        return await render_error(request, 404, "That visit was not found.")
    # A refusal raises Denied: the denial middleware audits it and the error middleware
    # answers with the friendly page, as for every other route.
    async with services(request).db.begin() as s:
        encounter = await encounter_for(s, who, encounter_id, "encounter.read_clinical")
        patient = await s.get(Patient, encounter.patient_id)
        user = await s.get(User, who.user_id)
        drill_id = await drill_of(s, encounter)
        plan = await current_plan(s, encounter.patient_id)
        await audit.record(
            s,
            request,
            who,
            "read",
            "encounter",
            encounter.id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
        )
    zone = user.time_zone if user else "UTC"
    return await render(
        request,
        "visit.html",
        {
            "user_name": who.name,
            "patient_name": patient.name if patient else "",
            "when": local_time(
                encounter.starts_at,
                zone,
                viewer_language(request),
                now=services(request).clock.now(),
            ),
            "is_drill": encounter.is_drill,
        },
        page_data={
            "page": "visit",
            "time_zone": zone,
            "patient_id": encounter.patient_id,
            "patient_name": patient.name if patient else "",
            "birth_date": patient.birth_date.isoformat() if patient else "",
            "template": encounter.template,
            "since": (encounter.starts_at - dt.timedelta(hours=24)).isoformat(),
            "bands": band_limits(plan),
            "encounter_id": encounter.id,
            **_ice_data(
                ice_servers_for(services(request).settings, who, services(request).clock.now())
            ),
            "is_drill": encounter.is_drill,
            "drill_id": drill_id,
        },
    )

"""A patient's outcomes page (``/patients/{id}/outcomes``): the care team records unplanned
admissions, emergency department visits and emergency calls, a death beside the preferred
place from the care plan, and a discharge from the service; each record can be corrected and
shows its earlier versions.

The page carries the choices and the viewer's zone; its script reads and writes through
``/api/patients/{id}/outcomes`` and ``/api/outcomes/{id}``, which check access again and audit.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from encounters.careplan import Place
from encounters.outcomes import REASON_MAX_CHARS, DischargeReason
from encounters.quality import CRISIS_KINDS, OutcomeKind
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.rendering import render, render_error
from server.services.access import patient_for
from server.services.careplans import current_plan
from server.services.context import services
from server.services.sessions import Principal
from server.store.models import User


async def outcomes_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    patient_id = parse_id(request.match_info["patient_id"])
    if patient_id is None:
        return await render_error(request, 404, "That patient was not found.")
    svc = services(request)
    now = svc.clock.now()
    # A refusal raises Denied, which the middleware audits and answers with the error page.
    async with svc.db.begin() as s:
        patient = await patient_for(s, who, patient_id, "outcome.read")
        preferred = (await current_plan(s, patient_id)).preferred_place_of_death
        user = await s.get(User, who.user_id)
        name = patient.name
        today = now.astimezone(ZoneInfo(patient.time_zone)).date()
    return await render(
        request,
        "outcomes.html",
        {
            "user_name": who.name,
            "patient_name": name,
            "kinds": [k.value for k in OutcomeKind],
            # A death happened somewhere: "not discussed" is a preference, not a place.
            "places": [p.value for p in Place if p is not Place.NOT_DISCUSSED],
            "discharge_reasons": [r.value for r in DischargeReason],
            "today": today.isoformat(),
            "reason_max": REASON_MAX_CHARS,
            "preferred_place": preferred.value,
        },
        page_data={
            "page": "outcomes",
            "patient_id": patient_id,
            "crisis_kinds": [k.value for k in CRISIS_KINDS],
            "time_zone": user.time_zone if user else "UTC",
        },
    )


def add_outcome_page_routes(app: web.Application) -> None:
    app.router.add_get("/patients/{patient_id}/outcomes", outcomes_page, name="outcomes")

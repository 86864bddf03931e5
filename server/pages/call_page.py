"""``/call``: the page of someone who came in on an interpreter's or a guest clinician's link.

The family's page (``family.html``) in its call-only form: the waiting room and the call, and
none of the visit's record (no symptom questions, no readings, no education, no drill prompts,
no survey). The page data carries nothing of the patient but the time zone the visit is booked
in.
"""

from __future__ import annotations

from aiohttp import web

from server.edge.auth import PRINCIPAL
from server.edge.language import viewer_language
from server.edge.rendering import local_time, render, render_error
from server.services import audit
from server.services.context import services
from server.services.ice import ice_servers_for
from server.services.sessions import Principal
from server.store.models import Encounter, Patient, User


async def call_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is not None and who.kind == "family":
        raise web.HTTPFound("/family")
    if who is None or who.kind != "guest" or who.encounter_id is None:
        return await render_error(request, 401, "Please open the link your care team sent you.")
    svc = services(request)
    async with svc.db.begin() as s:
        encounter = await s.get(Encounter, who.encounter_id)
        assert encounter is not None
        patient = await s.get(Patient, encounter.patient_id)
        clinician = await s.get(User, encounter.clinician_id)
        await audit.record(
            s,
            request,
            who,
            "open",
            "call",
            encounter.id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
        )
    zone = patient.time_zone if patient else "UTC"
    lang = viewer_language(request)
    found = ice_servers_for(svc.settings, who, svc.clock.now())
    return await render(
        request,
        "family.html",
        {
            "when": local_time(encounter.starts_at, zone, lang),
            "display_name": who.name,
            "clinician_name": clinician.name if clinician else "",
            "is_drill": encounter.is_drill,
            "call_only": True,
            "guest_role": who.role,
        },
        language=lang,
        page_data={
            "page": "family",
            "call_only": True,
            "education": [],
            "encounter_id": encounter.id,
            "time_zone": zone,
            "simulator": False,
            "template": None,
            "ice_servers": found.servers,
            "ice_servers_expire_at": found.expires_at.isoformat() if found.expires_at else None,
            "is_drill": encounter.is_drill,
            "drill_id": None,
        },
    )

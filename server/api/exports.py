"""A visit's outputs: the FHIR R4 bundle and the printable visit note."""

from __future__ import annotations

import json

from aiohttp import web

from server.api.registry import api, int_param
from server.core.i18n import translations
from server.edge.auth import staff
from server.edge.language import viewer_language
from server.edge.rendering import JINJA
from server.services.context import services
from server.services.fhir import build_bundle
from server.services.note import render_note
from server.services.templates import templates
from server.services.visit_record import open_visit_record


@api(
    "GET",
    "/api/encounters/{encounter_id}/fhir",
    summary="The visit as a FHIR R4 transaction Bundle",
    tag="encounters",
    auth="staff",
    errors=(401, 403, 404),
)
async def fhir_bundle(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    async with svc.db.begin() as s:
        e, visit = await open_visit_record(
            s, request, who, encounter_id, action="export", detail="fhir"
        )
    bundle = build_bundle(
        encounter=visit["encounter"],
        patient=visit["patient"],
        clinician=visit["clinician"],
        state=visit["state"],
        readings=visit["readings"],
        family=visit["family"],
        bundle_id=f"encounter-{encounter_id}",
        now=svc.clock.now(),
        id_base=svc.settings.base_url + "/fhir",
        note=visit["note"],
        note_names=visit["note_names"],
    )
    return web.Response(text=json.dumps(bundle), content_type="application/fhir+json")


@api(
    "GET",
    "/api/encounters/{encounter_id}/note",
    summary="The visit note as printable HTML",
    tag="encounters",
    auth="staff",
    errors=(401, 403, 404),
)
async def visit_note(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    async with svc.db.begin() as s:
        e, visit = await open_visit_record(
            s, request, who, encounter_id, action="read", detail="note"
        )
    language = viewer_language(request)
    html = render_note(
        request.app[JINJA],
        encounter=visit["encounter"],
        patient=visit["patient"],
        clinician=visit["clinician"],
        state=visit["state"],
        readings=visit["readings"],
        template=templates()[e.template],
        translate=translations(language).gettext,
        language=language,
        actor_names=visit["actor_names"],
        reading_flags=visit["reading_flags"],
        note_record=visit["note"],
        note_names=visit["note_names"],
        participants=visit["participants"],
    )
    return web.Response(text=html, content_type="text/html")

"""The visit note as the care team writes it: ``/visit/{encounter_id}/note``.

The same note as ``GET /api/encounters/{id}/note`` prints, with the narrative form and the
Sign button before the sign-off and the addendum form after it; the page's script calls the
note's API routes (``server/api/notes.py``).
"""

from __future__ import annotations

from aiohttp import web

from server.core.i18n import translations
from server.core.storable import parse_id
from server.edge.auth import PRINCIPAL
from server.edge.language import viewer_language
from server.edge.rendering import JINJA, render_error, script_json
from server.services.context import services
from server.services.note import render_note
from server.services.sessions import Principal
from server.services.templates import templates
from server.services.visit_record import open_visit_record


async def note_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    encounter_id = parse_id(request.match_info["encounter_id"])
    if encounter_id is None:
        return await render_error(request, 404, "That visit was not found.")
    # A refusal raises Denied: audited, and answered with the friendly page.
    async with services(request).db.begin() as s:
        encounter, visit = await open_visit_record(
            s, request, who, encounter_id, action="read", detail="note"
        )
    language = viewer_language(request)
    page_data = {
        "page": "note",
        "lang": language,
        "encounter_id": encounter.id,
        "signed": visit["note"].is_signed,
    }
    html = render_note(
        request.app[JINJA],
        encounter=visit["encounter"],
        patient=visit["patient"],
        clinician=visit["clinician"],
        state=visit["state"],
        readings=visit["readings"],
        template=templates()[encounter.template],
        translate=translations(language).gettext,
        language=language,
        actor_names=visit["actor_names"],
        reading_flags=visit["reading_flags"],
        note_record=visit["note"],
        note_names=visit["note_names"],
        participants=visit["participants"],
        editor={"page_data": script_json(page_data)},
    )
    return web.Response(text=html, content_type="text/html")


def add_note_page_routes(app: web.Application) -> None:
    app.router.add_get("/visit/{encounter_id}/note", note_page, name="visit_note")

"""The working-hours page: a clinician edits their own weekly hours, time off and visit
lengths; a scheduler or an admin picks a clinician first. The handler only decides who sees
which editor; the page's script reads and replaces the availability through the scheduling
API, which checks access again."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from server.core.i18n import translations
from server.edge.auth import PRINCIPAL
from server.edge.language import viewer_language
from server.edge.rendering import render, render_error
from server.services.access import MANAGERS
from server.services.context import services
from server.services.sessions import Principal
from server.store.models import User

# Suggestions for the time-zone field; any IANA name is accepted and the API checks it.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Athens",
    "Africa/Johannesburg",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


async def availability_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff or who.user_id is None:
        raise web.HTTPFound("/login")
    # The API lets a clinician change their own hours and a scheduler or an admin anyone's;
    # everyone else on staff may only read them, so the page is not for them.
    if who.role != "clinician" and who.role not in MANAGERS:
        _ = translations(viewer_language(request)).gettext
        return await render_error(
            request,
            403,
            _("Working hours are set by each clinician, or by a scheduler or an admin."),
        )
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
        clinicians: list[dict[str, Any]] = []
        if who.role in MANAGERS:
            rows = await s.scalars(
                select(User)
                .where(User.role == "clinician", User.active.is_(True))
                .order_by(User.name)
            )
            clinicians = [{"id": c.id, "name": c.name} for c in rows]
    zone = user.time_zone if user else "UTC"
    is_manager = who.role in MANAGERS
    return await render(
        request,
        "availability.html",
        {
            "user_name": who.name,
            "is_manager": is_manager,
            "clinicians": clinicians,
            "zones": COMMON_ZONES,
        },
        page_data={
            "page": "availability",
            "role": who.role,
            "time_zone": zone,
            # A clinician edits their own; a manager's page starts on the chooser.
            "clinician_id": None if is_manager else who.user_id,
            "clinicians": clinicians,
        },
    )


def add_availability_page_routes(app: web.Application) -> None:
    app.router.add_get("/availability", availability_page, name="availability")

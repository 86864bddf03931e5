"""A clinician's calendar feed page: make the secret address their calendar program reads,
copy it, or stop it. The address is shown only when it is made (only a keyed hash is
kept), so the page says whether one is working and when it was made and last read."""

from __future__ import annotations

from aiohttp import web

from server.core.i18n import pick_language, translations
from server.edge.auth import PRINCIPAL
from server.edge.rendering import render, render_error
from server.services.access import may
from server.services.calendars import active_feed
from server.services.context import services
from server.services.sessions import Principal
from server.store.models import User


async def calendar_feed_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff or who.user_id is None:
        raise web.HTTPFound("/login")
    if not may(who, "calendar.own"):
        _ = translations(pick_language(request.headers.get("Accept-Language"))).gettext
        return await render_error(
            request, 403, _("A calendar feed carries one clinician's own visits.")
        )
    async with services(request).db.begin() as s:
        user = await s.get(User, who.user_id)
        feed = await active_feed(s, who.user_id)
    return await render(
        request,
        "calendar_feed.html",
        {"user_name": who.name},
        page_data={
            "page": "calendar_feed",
            "user_id": who.user_id,
            "time_zone": user.time_zone if user else "UTC",
            "feed": (
                {
                    "created_at": feed.created_at.isoformat(),
                    "last_used_at": feed.last_used_at.isoformat() if feed.last_used_at else None,
                }
                if feed
                else None
            ),
        },
    )


def add_calendar_feed_page_routes(app: web.Application) -> None:
    app.router.add_get("/calendar-feed", calendar_feed_page, name="calendar_feed_page")

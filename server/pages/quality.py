"""The quality dashboard page (``/quality``): coordinators, per care team and month.

The page carries the filter (team, month) and the CSV link; its script reads the figures
from ``GET /api/quality``, which checks access again and audits the read.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from server.edge.auth import PRINCIPAL
from server.edge.rendering import render, render_error
from server.services.access import may
from server.services.context import services
from server.services.errors import ApiError
from server.services.quality import parse_month, team_patients
from server.services.sessions import Principal
from server.store.models import User


async def quality_page(request: web.Request) -> web.StreamResponse:
    who: Principal | None = request.get(PRINCIPAL)
    if who is None or not who.is_staff:
        raise web.HTTPFound("/login")
    if not may(who, "quality.read"):
        return await render_error(request, 403, "The quality figures are for coordinators.")
    svc = services(request)
    now = svc.clock.now()
    try:
        month = parse_month(request.query.get("month"), now.date())
    except ApiError as error:
        return await render_error(request, 422, error.message)
    team = request.query.get("team") or None
    async with svc.db.begin() as s:
        teams, _ = await team_patients(s, who, None)
        user = await s.get(User, who.user_id)
    if team is not None and team not in teams:
        return await render_error(request, 404, "That care team was not found.")
    query = {"month": month.strftime("%Y-%m")} | ({"team": team} if team else {})
    return await render(
        request,
        "quality.html",
        {
            "user_name": who.name,
            "teams": teams,
            "team": team,
            "month": month.strftime("%Y-%m"),
            "csv_url": str(URL("/api/quality.csv").with_query(query)),
        },
        page_data={
            "page": "quality",
            "query": query,
            "time_zone": user.time_zone if user else "UTC",
        },
    )


def add_quality_page_routes(app: web.Application) -> None:
    app.router.add_get("/quality", quality_page, name="quality")

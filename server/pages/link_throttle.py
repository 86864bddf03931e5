"""The family's link pages (``/join/{token}``, ``/diary/{token}``) throttle guessing as the
link API does (``server.services.links.guarded_link_lookup``): an attempt is reserved, per
client address, before the token is looked up, and given back unless the lookup failed.

A page that answers 404 for an unknown token and 200 for a real one lets anyone guess tokens at
page speed; reserving first means that parallel guesses cannot all be looked up. The page and
the API (``POST /api/join``, ``POST /api/diary``) count into the same window for an address,
so a guesser cannot double their guesses by spreading them over both.

Only failed lookups count: an unknown token (a guess), and a revoked or expired one (what a
guesser finds, and nothing a family can use). A valid link is given back at once, so a family
reloading its own link is never throttled, and neither is the link of a visit that was
cancelled or has ended (the family is told so every time they open it).
"""

from __future__ import annotations

from aiohttp import web

from server.edge.rendering import render
from server.services.context import services


async def throttled_link_page(request: web.Request, retry_after: int) -> web.Response:
    """429, calmly: whoever sees this may be a family member who mistyped their link."""
    response = await render(
        request,
        "link_throttled.html",
        {"clinic_phone": services(request).settings.clinic_phone},
        status=429,
    )
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response

"""Which language a page is in, and the language chooser every page carries.

A person picks a language with the chooser (``?lang=ar`` on any page). Hearth then remembers
it on the device (a cookie), on the staff member's account or on the family's link, and sends
the browser back to the page without the parameter. A page is in the first of these Hearth
has a catalogue for:

- staff: their own choice, the device's, the browser's Accept-Language, English;
- families: the choice on this device, the one made on their link, the patient's language,
  the browser's Accept-Language, English.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.i18n import known_language, pick_language
from server.edge.auth import PRINCIPAL
from server.services import languages
from server.services.context import services
from server.services.errors import ApiError
from server.services.sessions import Principal

LANGUAGE_COOKIE = "hearth_lang"
LANGUAGE_PARAM = "lang"
# A year: the device keeps its language between visits.
COOKIE_MAX_AGE = 365 * 24 * 3600
CHOSEN = web.RequestKey("chosen_language", str)


def chosen_language(request: web.Request) -> str | None:
    """The language picked with the chooser in this very request, if any."""
    return request.get(CHOSEN)


def device_language(request: web.Request) -> str | None:
    return known_language(request.cookies.get(LANGUAGE_COOKIE))


def viewer_language(request: web.Request, *fallbacks: str | None) -> str:
    """The page's language; ``fallbacks`` are the family's link choice, then the patient's."""
    who: Principal | None = request.get(PRINCIPAL)
    chosen = chosen_language(request)
    device = device_language(request)
    if who is not None and who.is_staff:
        order = (chosen, who.language, device, *fallbacks)
    else:
        order = (chosen, device, who.language if who else None, *fallbacks)
    return pick_language(request.headers.get("Accept-Language"), *order)


def _is_page(request: web.Request) -> bool:
    return request.method == "GET" and not request.path.startswith(("/api/", "/static/"))


@web.middleware
async def language_choice(request: web.Request, handler: Handler) -> web.StreamResponse:
    raw = request.query.get(LANGUAGE_PARAM) if _is_page(request) else None
    if raw is None:
        return await handler(request)
    lang = known_language(raw)
    if lang is None:
        raise ApiError(400, "unknown_language", "That language is not available.")
    request[CHOSEN] = lang
    who: Principal | None = request.get(PRINCIPAL)
    if who is not None:
        async with services(request).db.begin() as s:
            if who.is_staff and who.user_id is not None:
                await languages.remember_for_user(s, who.user_id, lang)
            elif who.link_id is not None:
                await languages.remember_for_join_link(s, who.link_id, lang)
    # The page's own handler remembers the choice on its link (join and diary pages).
    response = await handler(request)
    if response.status == 200:
        # Back to the page without the parameter: a reload or a shared address does not
        # choose again, and the address bar shows the page's own address.
        query = {k: v for k, v in request.query.items() if k != LANGUAGE_PARAM}
        response = web.Response(
            status=303, headers={"Location": str(request.rel_url.with_query(query))}
        )
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        path="/",
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=services(request).settings.is_https,
    )
    return response

"""Rendering a page: the Jinja environment, the viewer's language, the page's data block.

Shared by the pages and by the API's printable outputs (the visit note).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from server.core.i18n import pick_language, translations
from server.edge.auth import PRINCIPAL
from server.services.context import services
from server.services.navigation import current_key, pages_for
from web import TEMPLATES_DIR

JINJA = web.AppKey("jinja", jinja2.Environment)


def make_jinja() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.policies["ext.i18n.trimmed"] = True
    return env


async def render(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    page_data: dict[str, Any] | None = None,
    language: str | None = None,
) -> web.Response:
    lang = language or pick_language(request.headers.get("Accept-Language"))
    t = translations(lang)

    def gettext(message: str, **values: Any) -> str:
        # The result is a plain string, so autoescaping still escapes the values in it.
        text = t.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return t.ngettext(singular, plural, n) % {"num": n, **values}

    data = {"lang": lang, **(page_data or {})}
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            **(context or {}),
            gettext=gettext,
            ngettext=ngettext,
            _=gettext,
            lang=lang,
            who=request.get(PRINCIPAL),
            # Data for the page's script rides in a JSON block: no inline script under the CSP.
            page_data=script_json(data),
            clinic_name=services(request).settings.clinic_name,
            # The 24/7 line every family page shows (the clinic's phone).
            line_24_7=services(request).settings.clinic_phone,
            **staff_nav(request),
        )
    )
    return web.Response(text=html, status=status, content_type="text/html")


async def render_error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    return await render(
        request, "error.html", {"status": status, "message": message}, status=status
    )


def local_time(at: dt.datetime, zone: str) -> str:
    local = at.astimezone(ZoneInfo(zone))
    return local.strftime("%A %d %B %Y, %H:%M ") + (local.tzname() or zone)


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: none of its characters can close the
    element, open a comment or be read as markup. ``<``, ``>`` and ``&`` are written as
    ``\\u`` escapes (a patient named ``<!--<script>`` must not break the page), and so is
    every character outside ASCII, U+2028 and U+2029 among them."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def staff_nav(request: web.Request) -> dict[str, Any]:
    """The staff navigation for the page: the pages this person's role uses, this one marked."""
    pages = pages_for(request.get(PRINCIPAL))
    return {"nav_pages": pages, "nav_current": current_key(pages, request.path)}

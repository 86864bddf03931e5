"""Rendering a page: the Jinja environment, the viewer's language, the page's data block.

Shared by the pages and by the API's printable outputs (the visit note).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jinja2
from aiohttp import web

from server.core.i18n import (
    SOURCE_LANGUAGE,
    format_stamp,
    language_choices,
    plural_samples,
    reviewed_by,
    text_direction,
    translations,
)
from server.edge.auth import PRINCIPAL
from server.edge.language import LANGUAGE_PARAM, viewer_language
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
    lang = language or viewer_language(request)
    t = translations(lang)
    who = request.get(PRINCIPAL)

    def gettext(message: str, **values: Any) -> str:
        # The result is a plain string, so autoescaping still escapes the values in it.
        text = t.gettext(message)
        return text % values if values else text

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return t.ngettext(singular, plural, n) % {"num": n, **values}

    def plural_choices(singular: str, plural: str) -> dict[str, str]:
        """A count's sentence in each plural category of the page's language (Arabic has six:
        zero, one, two, few, many, other), the count left as ``%(num)s``: the page's script
        picks one with ``Intl.PluralRules`` and fills in the number."""
        return {
            category: t.ngettext(singular, plural, n)
            for category, n in plural_samples(lang).items()
        }

    direction = text_direction(lang)
    data = {"lang": lang, "dir": direction, **(page_data or {})}
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            **(context or {}),
            gettext=gettext,
            ngettext=ngettext,
            plural_choices=plural_choices,
            _=gettext,
            lang=lang,
            dir=direction,
            languages=language_choices(),
            language_param=LANGUAGE_PARAM,
            # The care team is told when the page's translation has not been reviewed yet.
            unreviewed=(
                who is not None
                and who.is_staff
                and lang != SOURCE_LANGUAGE
                and reviewed_by(lang) is None
            ),
            who=who,
            # Data for the page's script rides in a JSON block: no inline script under the CSP.
            page_data=script_json(data),
            clinic_name=services(request).settings.clinic_name,
            # The 24/7 line every family page shows (the clinic's phone).
            line_24_7=services(request).settings.clinic_phone,
            # The care team's hours, told to families beside the message box.
            team_hours=services(request).settings.team_hours.replace("-", "–"),
            **staff_nav(request),
        )
    )
    return web.Response(text=html, status=status, content_type="text/html")


async def render_error(request: web.Request, status: int, message: str) -> web.StreamResponse:
    return await render(
        request, "error.html", {"status": status, "message": message}, status=status
    )


def local_time(
    at: dt.datetime,
    zone: str,
    language: str = SOURCE_LANGUAGE,
    *,
    now: dt.datetime | None = None,
    show_zone: bool = False,
) -> str:
    """A moment in the one form every page writes it ("Thu 3 Dec, 13:25"), in the reader's
    language and zone (:func:`server.core.i18n.format_stamp`)."""
    return format_stamp(at, zone, language, now=now, show_zone=show_zone)


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

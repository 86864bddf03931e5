"""The diary offline and on the home screen: its service worker, served from the site's root
so that it may control /diary/ (web/static/js/diary-sw.js says what it keeps offline, and
keeps no link token), and its web app manifest, one per link.

The manifest is the link's own because an installed diary opens at the manifest's
``start_url``, and a diary page without its token can send nothing: a family that adds the
diary to their home screen gets an icon that opens their link, in their language. The token
is in the manifest as it is in the address the family opened (the browser keeps it as it
keeps a bookmark); the manifest says nothing else about anyone, so it is served without
looking the link up: a link that no longer works opens the page that says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp import web

from server.core.i18n import text_direction, translations
from server.edge.language import viewer_language
from server.services.errors import ApiError

WORKER = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "diary-sw.js"
# The shape of a link token (secrets.token_urlsafe); anything else names no link.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


async def diary_worker(request: web.Request) -> web.StreamResponse:
    response = web.Response(
        body=WORKER.read_bytes(), content_type="text/javascript", charset="utf-8"
    )
    # Browsers look for a new worker on each navigation; never a stale one from a cache.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/diary/"
    return response


def manifest_path(token: str) -> str:
    return f"/diary/{token}/manifest.webmanifest"


async def diary_manifest(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    if not _TOKEN.match(token):
        raise ApiError(404, "not_found", "There is nothing at this address.")
    lang = viewer_language(request)
    name = translations(lang).gettext("Daily check-in")
    manifest = {
        "name": name,
        "short_name": name,
        "lang": lang,
        "dir": text_direction(lang),
        "start_url": f"/diary/{token}",
        "scope": "/diary/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#1f5f8b",
    }
    response = web.Response(
        text=json.dumps(manifest, ensure_ascii=False),
        content_type="application/manifest+json",
        charset="utf-8",
    )
    # It carries the link's token: kept by no cache on the way.
    response.headers["Cache-Control"] = "no-store"
    return response


def add_diary_offline_routes(app: web.Application) -> None:
    app.router.add_get("/diary-sw.js", diary_worker, name="diary_worker")
    app.router.add_get("/diary/{token}/manifest.webmanifest", diary_manifest, name="diary_manifest")

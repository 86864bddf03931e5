"""The diary's service worker, served from the site's root so that it may control /diary/
(web/static/js/diary-sw.js says what it keeps offline, and keeps no link token)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WORKER = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "diary-sw.js"


async def diary_worker(request: web.Request) -> web.StreamResponse:
    response = web.Response(
        body=WORKER.read_bytes(), content_type="text/javascript", charset="utf-8"
    )
    # Browsers look for a new worker on each navigation; never a stale one from a cache.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/diary/"
    return response


def add_diary_offline_routes(app: web.Application) -> None:
    app.router.add_get("/diary-sw.js", diary_worker, name="diary_worker")

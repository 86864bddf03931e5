"""Liveness, readiness and the machine-readable description of the API."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server.api.openapi import build_openapi
from server.api.registry import API_ROUTES, api
from server.api.schemas import Health
from server.services.context import services

logger = logging.getLogger(__name__)
DB_CHECK_TIMEOUT_S = 3.0


async def _database_ok(request: web.Request) -> bool:
    try:
        await asyncio.wait_for(services(request).db.ping(), DB_CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ok", named below
        logger.warning("health check: database failed (%s)", type(exc).__name__)
        return False
    return True


async def healthz(request: web.Request) -> web.StreamResponse:
    ok = await _database_ok(request)
    body = Health(status="ok" if ok else "unavailable", database="ok" if ok else "unavailable")
    return web.json_response(body.model_dump(), status=200 if ok else 503)


async def livez(request: web.Request) -> web.StreamResponse:
    """The process answers; depends on nothing else (for restart decisions)."""
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.StreamResponse:
    routes = request.app[API_ROUTES]
    return web.json_response(build_openapi(services(request).settings.base_url, routes))


# Large enough to time a download on a phone line, small enough to be harmless if repeated.
NETWORK_CHECK_BYTES = 128 * 1024


@api(
    "GET",
    "/api/network-check",
    summary="Bytes for the pre-visit network check to time",
    tag="health",
    auth="none",
)
async def network_check(request: web.Request) -> web.StreamResponse:
    """Bytes for the family's pre-visit network check to time."""
    return web.Response(body=bytes(NETWORK_CHECK_BYTES), content_type="application/octet-stream")

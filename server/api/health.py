"""Liveness, readiness and the machine-readable description of the API."""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

import redis.asyncio as aioredis
from aiohttp import web

from server.api.openapi import build_openapi
from server.api.registry import API_ROUTES, api
from server.api.schemas import Health, Ready
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


class RedisPing:
    """Asks the configured Redis (the Socket.IO queue between app nodes) whether it answers."""

    def __init__(self, url: str) -> None:
        self._url = url

    async def __call__(self) -> None:
        client = aioredis.from_url(self._url, socket_connect_timeout=DB_CHECK_TIMEOUT_S)
        try:
            await client.ping()
        finally:
            await client.aclose()


REDIS_PING = web.AppKey("redis_ping", RedisPing)


async def readyz(request: web.Request) -> web.StreamResponse:
    """Ready for traffic: the database answers and, where several nodes share rooms through
    Redis, Redis answers too (without it, a node's pushes reach only its own sockets)."""
    database_ok = await _database_ok(request)
    ping = request.app.get(REDIS_PING)
    redis: Literal["ok", "unavailable", "not_configured"] = "not_configured"
    if ping is not None:
        try:
            await asyncio.wait_for(ping(), DB_CHECK_TIMEOUT_S)
            redis = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ok", named below
            logger.warning("readiness check: Redis failed (%s)", type(exc).__name__)
            redis = "unavailable"
    ok = database_ok and redis != "unavailable"
    body = Ready(
        status="ok" if ok else "unavailable",
        database="ok" if database_ok else "unavailable",
        redis=redis,
    )
    return web.json_response(body.model_dump(), status=200 if ok else 503)


async def livez(request: web.Request) -> web.StreamResponse:
    """The process answers; depends on nothing else (for restart decisions)."""
    return web.json_response({"status": "ok"})


async def openapi(request: web.Request) -> web.StreamResponse:
    routes = request.app[API_ROUTES]
    return web.json_response(build_openapi(services(request).settings.base_url, routes))


# Large enough to time a download on a phone line (half a second at 1 Mbit/s), small enough
# to be harmless if repeated and to keep the family's whole path to the lobby under 200 KB.
NETWORK_CHECK_BYTES = 64 * 1024


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

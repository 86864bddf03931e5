"""The recordings' retention: now and then, delete every visit recording whose retention
period (``HEARTH_RECORDING_RETENTION_DAYS``) has ended, each deletion audited, and close one
still marked running long after its call was lost (so that its retention starts)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.core.periodic import every
from server.services.recordings import Recordings

# Retention is counted in days: a few minutes late is nothing.
POLL_INTERVAL_S = 300.0


async def recordings_retention_ctx(app: web.Application) -> AsyncIterator[None]:
    recordings = Recordings(app)
    async with every(POLL_INTERVAL_S, recordings.retention_round, "recording retention"):
        yield

"""The drill player: every second, play the events that are due in running drills."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.core.periodic import every
from server.services.context import SERVICES
from server.services.drills import DRILLS, DrillService

# Scenario offsets are whole seconds; a second's poll keeps every event within a second.
PLAYER_INTERVAL_S = 1.0


async def drills_ctx(app: web.Application) -> AsyncIterator[None]:
    """Builds the drill service and plays due events every ``PLAYER_INTERVAL_S``."""
    service = DrillService(app)
    app[DRILLS] = service
    svc = app[SERVICES]
    async with every(PLAYER_INTERVAL_S, lambda: service.run_due(svc.clock.now()), "drill player"):
        yield

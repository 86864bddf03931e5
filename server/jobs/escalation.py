"""The escalation timer: every few seconds, move unacknowledged alerts up their ladder,
and now and then look for diaries that have gone quiet past their check-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.core.periodic import every
from server.services.context import SERVICES
from server.services.escalation import ALERTS, AlertService
from server.services.live import LIVE
from server.services.notify import notifiers_from

# Tier deadlines are minutes long; a quarter of a minute late is the worst this adds.
POLL_INTERVAL_S = 15.0
# Silence is measured in hours; looking for it every twenty rounds (5 minutes) is plenty.
MISSED_SWEEP_EVERY = 20


async def escalation_ctx(app: web.Application) -> AsyncIterator[None]:
    """Builds the alert service and runs its timer every ``POLL_INTERVAL_S``."""
    svc = app[SERVICES]
    live = app.get(LIVE)
    push = live.notify_staff if live is not None else None
    service = AlertService(
        svc.db, push, notifiers_from(svc.settings), base_url=svc.settings.base_url
    )
    app[ALERTS] = service

    rounds = 0

    async def one_round() -> None:
        nonlocal rounds
        rounds += 1
        await service.run_due(svc.clock.now())
        if rounds % MISSED_SWEEP_EVERY == 0:
            await service.sweep_missed_checkins(svc.clock.now())

    try:
        async with every(POLL_INTERVAL_S, one_round, "escalation"):
            yield
    finally:
        await service.drain()

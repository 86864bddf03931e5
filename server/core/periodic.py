"""Background rounds: work repeated every few seconds for as long as the app runs.

The reminder runner, the escalation timer, the drill player and the socket sweep all keep
their state in the database or in memory they own; this runs their rounds. One failed round
is logged and the next one runs: a database blip must not stop escalations for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(
    interval_s: float, one_round: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run ``one_round`` every ``interval_s`` seconds inside the ``async with`` block."""

    async def forever() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await one_round()
            except Exception:  # noqa: BLE001 - one failed round must not stop the next
                logger.exception("%s round failed", what)

    task = asyncio.create_task(forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

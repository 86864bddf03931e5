"""What the use cases ask of the live visits, declared here and supplied by
``server.realtime``: push an event to a visit's people or to staff consoles, end the live
connections of sessions that have ended, say who is in a visit, take a still of a guest's
video. A service or a handler reaches it as ``app[LIVE]`` and never imports the realtime
layer, so the layers import one way."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

from aiohttp import web

from signaling.ports import Caller


class Live(Protocol):
    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        """Push an event to a visit's ``admitted`` people or its ``hosts``."""
        ...

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        """Push an event to every admitted participant who is not a host."""
        ...

    async def notify_staff(self, event: str, data: Any, user_ids: Collection[int]) -> int:
        """Push an event to these staff users' consoles; how many users were sent to."""
        ...

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        """Close the live connections of every session that matches; how many."""
        ...

    async def live_status(self, encounter_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """For each visit, how many people wait in the lobby and how many are in the call
        (whichever node runs the visit)."""
        ...

    async def guest_still(self, encounter_id: int) -> Any | None:
        """The latest video frame of a guest (not a clinician) in the call, or None."""
        ...


LIVE = web.AppKey("live", Live)

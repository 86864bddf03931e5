"""``services.live.Live`` on the Socket.IO namespace and the media hub."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from media import MediaHub, WorkerPool
from signaling.namespace import VisitNamespace
from signaling.ports import Caller


class LiveVisits:
    def __init__(self, namespace: VisitNamespace, hub: MediaHub | WorkerPool) -> None:
        self._namespace = namespace
        self._hub = hub

    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        await self._namespace.notify(encounter_id, event, data, group=group)

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        await self._namespace.notify_guests(encounter_id, event, data)

    async def notify_staff(self, event: str, data: Any, user_ids: Collection[int]) -> int:
        return await self._namespace.notify_staff(event, data, user_ids)

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        return await self._namespace.expel(should_go, reason)

    def live_status(self, encounter_id: int) -> dict[str, int]:
        return self._namespace.live_status(encounter_id)

    async def guest_still(self, encounter_id: int) -> Any | None:
        room = self._namespace.rooms.get(encounter_id)
        if room is None:
            return None
        publishing = self._hub.participants(room.room_id)
        for participant in room.admitted():
            if participant.is_host or participant.participant_id not in publishing:
                continue
            frame = await self._hub.snapshot(room.room_id, participant.participant_id)
            if frame is not None:
                return frame
        return None

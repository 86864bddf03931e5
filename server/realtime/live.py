"""``services.live.Live`` on the Socket.IO namespace and the media hub."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Collection
from typing import Any

import numpy

from media import MediaHub, WorkerPool
from server.realtime.nodes import RedisNodes
from signaling.cluster import ClusterNamespace
from signaling.errors import SignalingError
from signaling.namespace import VisitNamespace
from signaling.ports import Caller

logger = logging.getLogger(__name__)


class LiveVisits:
    def __init__(
        self,
        namespace: VisitNamespace,
        hub: MediaHub | WorkerPool,
        nodes: RedisNodes | None = None,
    ) -> None:
        self._namespace = namespace
        self._hub = hub
        self._nodes = nodes
        if nodes is not None:
            nodes.serve("still", self._serve_still)

    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        await self._namespace.notify(encounter_id, event, data, group=group)

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        await self._namespace.notify_guests(encounter_id, event, data)

    async def notify_staff(self, event: str, data: Any, user_ids: Collection[int]) -> int:
        return await self._namespace.notify_staff(event, data, user_ids)

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        return await self._namespace.expel(should_go, reason)

    async def live_status(self, encounter_ids: Collection[int]) -> dict[int, dict[str, int]]:
        if isinstance(self._namespace, ClusterNamespace):
            return await self._namespace.live_statuses(encounter_ids)
        return {i: self._namespace.live_status(i) for i in encounter_ids}

    async def guest_still(self, encounter_id: int) -> Any | None:
        room = self._namespace.rooms.get(encounter_id)
        if room is None and self._nodes is not None:
            # The visit's room may run on another node: that node takes the still.
            owner = (await self._nodes.owners([encounter_id])).get(encounter_id)
            if owner is None or owner == self._nodes.node_id:
                return None
            try:
                found = await self._nodes.ask(owner, {"op": "still", "encounter_id": encounter_id})
            except SignalingError:
                logger.warning("the node running a visit did not send its still")
                return None
            if found is None:
                return None
            data = base64.b64decode(found["data"])
            return numpy.frombuffer(data, numpy.uint8).reshape(found["shape"]).copy()
        return await self._still_here(encounter_id)

    async def _still_here(self, encounter_id: int) -> Any | None:
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

    async def _serve_still(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Another node asks for a still of a guest in a call that runs here."""
        frame = await self._still_here(int(request["encounter_id"]))
        if frame is None:
            return None
        array = numpy.ascontiguousarray(frame, dtype=numpy.uint8)
        return {"shape": list(array.shape), "data": base64.b64encode(array.tobytes()).decode()}

"""``services.recordings.RecordingMedia`` on the media hub (or worker pool) and the visit's
room: which call is the visit's, and whose each recorded part is."""

from __future__ import annotations

from typing import Any

from media import MediaError, MediaHub, WorkerPool
from server.services.recordings import MediaRefused
from signaling.namespace import VisitNamespace


class RecordingCalls:
    def __init__(self, namespace: VisitNamespace, hub: MediaHub | WorkerPool) -> None:
        self._namespace = namespace
        self._hub = hub
        # Who was in each recorded call (participant id -> role in the call), for naming the
        # parts of a recording that ended with its call, when the room is gone.
        self._roles: dict[int, dict[str, str]] = {}

    @staticmethod
    def _room(encounter_id: int) -> str:
        return f"encounter-{encounter_id}"

    async def start(self, encounter_id: int, directory: str, name: str, key: bytes) -> None:
        try:
            await self._hub.start_recording(self._room(encounter_id), directory, name, key)
        except MediaError as exc:
            raise MediaRefused(exc.code) from None
        self._roles[encounter_id] = self._roles_now(encounter_id)

    async def stop(self, encounter_id: int) -> list[dict[str, Any]] | None:
        roles = {**self._roles.pop(encounter_id, {}), **self._roles_now(encounter_id)}
        try:
            parts = await self._hub.stop_recording(self._room(encounter_id))
        except MediaError:
            return None
        if parts is None:
            return None
        for part in parts:
            part["role"] = roles.get(str(part.pop("participant", "")), "participant")
        return parts

    def _roles_now(self, encounter_id: int) -> dict[str, str]:
        room = self._namespace.rooms.get(encounter_id)
        if room is None:
            return {}
        return {p.participant_id: p.role for p in room.participants.values()}

    def is_recording(self, encounter_id: int) -> bool:
        return self._hub.is_recording(self._room(encounter_id))

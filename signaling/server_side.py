"""What the server asks of the live rooms: push events, expel sessions, re-check them.

A mixin of :class:`signaling.namespace.VisitNamespace`, kept apart so each module stays
small; it uses the namespace's rooms, callers and emit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from signaling import events as ev
from signaling.ports import Caller
from signaling.rooms import Participant, Room


def staff_room(user_id: int) -> str:
    return f"staff:{user_id}"


class ServerSide:
    rooms: Any
    callers: dict[str, Caller]
    joined: dict[str, int]
    media: Any
    gate: Any
    emit: Any
    disconnect: Any
    _key: Any
    _drop: Any
    _broadcast: Any

    def _sources(self, room: Room, participant: Participant) -> dict[str, str]:
        # Which participant each of the page's m-lines carries, so it can label the tiles.
        return {
            mid: publisher
            for mid, (publisher, _kind) in self.media.sources(
                room.room_id, participant.participant_id
            ).items()
        }

    async def send_renegotiation(self, room_id: str, participant_id: str, sdp: str) -> None:
        for room in self.rooms.all():
            if room.room_id == room_id and (p := room.get(participant_id)) and p.sid:
                await self.emit(
                    ev.RENEGOTIATE,
                    {"sdp": sdp, "type": "offer", "sources": self._sources(room, p)},
                    to=p.sid,
                )

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        """Remove every participant whose session matches (revoked link, disabled account)."""
        gone = 0
        for sid, caller in list(self.callers.items()):
            if not should_go(caller):
                continue
            encounter_id = self.joined.pop(sid, None)
            room = self.rooms.get(encounter_id) if encounter_id is not None else None
            participant = room.by_sid(sid) if room else None
            if room is not None and participant is not None:
                await self._drop(room, participant)
                await self._broadcast(room)
            await self.emit(ev.DENIED, {"message": reason}, to=sid)
            await self.disconnect(sid)
            gone += 1
        return gone

    async def sweep(self) -> None:
        """Re-check every connected session; an ended one is disconnected."""
        for sid, caller in list(self.callers.items()):
            encounter_id = self.joined.get(sid)
            room = self.rooms.get(encounter_id) if encounter_id is not None else None
            participant = room.by_sid(sid) if room else None
            in_call = bool(
                participant
                and participant.state == "admitted"
                and room
                and len(room.admitted()) > 1
            )
            if not await self.gate.is_still_valid(caller, in_call=in_call):
                key = caller.session_key

                def same_session(c: Caller, key: str = key) -> bool:
                    return c.session_key == key

                await self.expel(same_session, "Your session has ended.")

    def caller_of(self, room_id: str, participant_id: str) -> Caller | None:
        for room in self.rooms.all():
            if room.room_id == room_id and (p := room.get(participant_id)) and p.sid:
                return self.callers.get(p.sid)
        return None

    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        """Push an event to the room's ``admitted`` people or its ``hosts``."""
        room = self.rooms.get(encounter_id)
        if room is not None:
            await self.emit(event, data, room=self._key(room, group))

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        """Push an event to every admitted participant who is not a host."""
        room = self.rooms.get(encounter_id)
        for p in room.admitted() if room else []:
            if not p.is_host and p.sid:
                await self.emit(event, data, to=p.sid)

    async def notify_staff(self, event: str, data: Any, user_ids: Collection[int]) -> int:
        """Push an event to these staff users' sockets that are not in a visit (the alert
        console). Each such socket sits in the room ``staff:<user id>``, so with the Redis
        manager the event reaches sockets on every node; returns how many users were sent to."""
        for user_id in set(user_ids):
            await self.emit(event, data, room=staff_room(user_id))
        return len(set(user_ids))

    def live_status(self, encounter_id: int) -> dict[str, int]:
        room = self.rooms.get(encounter_id)
        if room is None:
            return {"waiting": 0, "in_call": 0}
        return {
            "waiting": len(room.waiting()),
            "in_call": sum(1 for p in room.admitted() if p.is_online),
        }

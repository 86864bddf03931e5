"""What the server asks of the live rooms: push events, expel sessions, re-check them.

A mixin of :class:`signaling.namespace.VisitNamespace`: the namespace's face towards the
server, apart from its face towards clients. It uses the namespace's rooms, sessions and emit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from signaling import events as ev
from signaling.ports import Caller
from signaling.rooms import Participant, Room, Rooms


def staff_room(user_id: int) -> str:
    return f"staff:{user_id}"


class ServerSide:
    rooms: Rooms
    media: Any
    gate: Any
    emit: Any
    disconnect: Any
    _key: Any
    _drop: Any
    _broadcast: Any
    caller: Callable[[str], Awaitable[Caller | None]]
    connected_sids: Callable[[], list[str]]

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

    async def send_media_lost(self, room_id: str, participant_id: str) -> None:
        """Tell a participant's page that the server closed its peer connection."""
        for room in self.rooms.all():
            if room.room_id == room_id and (p := room.get(participant_id)) and p.sid:
                await self.emit(ev.MEDIA_LOST, {}, to=p.sid)

    async def send_media_step(self, room_id: str, participant_id: str, step: str) -> None:
        """Tell everyone admitted to the call that a participant moved on the fallback ladder."""
        for room in self.rooms.all():
            if room.room_id == room_id and room.get(participant_id) is not None:
                await self.emit(
                    ev.MEDIA_STEP,
                    {"participant_id": participant_id, "step": step},
                    room=self._key(room, "admitted"),
                )

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        """Remove every connected socket whose session matches (revoked link, disabled
        account, ended session). Walks Socket.IO's own list of connected sockets, so a socket
        is found whatever it sent before."""
        gone = 0
        for sid in self.connected_sids():
            caller = await self.caller(sid)
            if caller is None or not should_go(caller):
                continue
            found = self.rooms.find_sid(sid)
            if found is not None:
                room, participant = found
                await self._drop(room, participant)
                await self._broadcast(room)
                self.rooms.discard_if_empty(room.encounter_id)
            await self.emit(ev.DENIED, {"message": reason}, to=sid)
            await self.disconnect(sid)
            gone += 1
        return gone

    async def sweep(self) -> None:
        """Re-check every connected session at once; the sockets of an ended one go."""
        in_call: dict[str, bool] = {}
        for sid in self.connected_sids():
            caller = await self.caller(sid)
            if caller is None:
                continue
            found = self.rooms.find_sid(sid)
            active = bool(
                found is not None and found[1].state == "admitted" and len(found[0].admitted()) > 1
            )
            in_call[caller.session_key] = in_call.get(caller.session_key, False) or active
        if not in_call:
            return
        ended = await self.gate.ended_sessions(in_call)
        if ended:
            await self.expel(lambda c: c.session_key in ended, "Your session has ended.")

    async def caller_of(self, room_id: str, participant_id: str) -> Caller | None:
        # Once per data-channel message: a lookup, not a scan of every room.
        room = self.rooms.by_room_id(room_id)
        if room is not None and (p := room.get(participant_id)) and p.sid:
            return await self.caller(p.sid)
        return None

    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        """Push an event to the room's ``admitted`` people, its ``hosts``, or the admitted
        people who may see the record (``record``: all but call-only guests)."""
        room = self.rooms.get(encounter_id)
        if room is not None:
            await self.emit(event, data, room=self._key(room, group))

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        """Push an event to every admitted participant who is not a host and may see the
        record (the family; never a call-only guest such as an interpreter)."""
        room = self.rooms.get(encounter_id)
        for p in room.admitted() if room else []:
            if not p.is_host and p.sees_record and p.sid:
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

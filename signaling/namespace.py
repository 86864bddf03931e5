"""The ``/visit`` Socket.IO namespace: handshake, rooms, lobby, admission and SDP exchange.

Every event passes one boundary (``_dispatch``): rate limit, size limit, then the handler;
any failure becomes an ``{"error", "code"}`` acknowledgement and never escapes, so one
client's bad input cannot disturb the connection or another visit.

Who is on a socket lives in Socket.IO's own session for that socket (the caller and its rate
bucket), and which sockets are connected is Socket.IO's own list: there is no second map
that a client could make drift. Which visit a socket is in is its participant's ``sid`` in
:class:`signaling.rooms.Rooms`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from signaling import events as ev
from signaling.errors import SignalingError
from signaling.limits import TokenBucket
from signaling.messages import require_field, require_sdp
from signaling.ports import Caller, Gate, Media
from signaling.rooms import Participant, Room, Rooms
from signaling.server_side import ServerSide, staff_room

logger = logging.getLogger(__name__)

# An SDP with complete ICE candidates is under 16 KiB; engine.io drops the connection for
# anything over 64 KiB (server/realtime/wiring.py), this refuses politely before that.
MAX_MESSAGE_BYTES = 48 * 1024
MAX_LOBBY_MESSAGE_CHARS = 280
# A reload or a dropped connection keeps a participant's place this long, so a reloaded tab
# or a phone that lost signal for a moment rejoins without waiting to be admitted again.
RECONNECT_GRACE_S = 60.0
QUALITY_LEVELS = ("good", "fair", "poor")
# What this namespace keeps in each socket's Socket.IO session.
SESSION_CALLER = "caller"
SESSION_BUCKET = "bucket"
# A room's Socket.IO groups: its hosts, everyone admitted to the call, and the admitted people
# who may see the visit's record (everyone but call-only guests such as an interpreter).
GROUPS = ("hosts", "admitted", "record")

Handler = Callable[[str, Any], Awaitable[Any]]


class VisitNamespace(ServerSide, socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(
        self,
        *,
        gate: Gate,
        media: Media,
        origins: frozenset[str],
        grace_s: float = RECONNECT_GRACE_S,
    ) -> None:
        super().__init__(ev.NAMESPACE)
        self.gate = gate
        self.media = media
        self.origins = origins
        self.grace_s = grace_s
        self.rooms = Rooms()
        self._grace: dict[str, asyncio.Task[None]] = {}
        self._handlers: dict[str, Handler] = {
            ev.JOIN: self._join,
            ev.ADMIT: self._admit,
            ev.DENY: self._deny,
            ev.TO_LOBBY: self._to_lobby,
            ev.LOBBY_MESSAGE: self._lobby_message,
            ev.OFFER: self._offer,
            ev.ANSWER: self._answer,
            ev.LEAVE: self._leave,
            ev.END_VISIT: self._end_visit,
            ev.QUALITY: self._quality,
        }
        assert set(self._handlers) == set(ev.CLIENT_EVENTS)

    # -- connection ---------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = (environ.get("HTTP_ORIGIN") or "").rstrip("/")
        if origin not in self.origins:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "bad_origin", "error": "Connections from this web site are not accepted."}
            )
        caller = await self.gate.authenticate(environ.get("HTTP_COOKIE"))
        if caller is None:
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "not_logged_in", "error": "Please sign in or open your visit link again."}
            )
        await self.save_session(sid, {SESSION_CALLER: caller, SESSION_BUCKET: TokenBucket()})
        if caller.kind == "staff" and caller.user_id is not None:
            await self.enter_room(sid, staff_room(caller.user_id))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        # Only Socket.IO's own disconnect reaches here: signaling.transport refuses client
        # packets that borrow the name.
        found = self.rooms.find_sid(sid)
        if found is None:
            return
        room, participant = found
        participant.sid = None
        self._grace[participant.participant_id] = asyncio.create_task(
            self._expire(room.encounter_id, participant.participant_id)
        )
        await self._broadcast(room)

    async def _expire(self, encounter_id: int, participant_id: str) -> None:
        await asyncio.sleep(self.grace_s)
        self._grace.pop(participant_id, None)
        room = self.rooms.get(encounter_id)
        participant = room.get(participant_id) if room else None
        if room is None or participant is None or participant.is_online:
            return
        await self._drop(room, participant)
        await self._broadcast(room)
        self.rooms.discard_if_empty(encounter_id)

    # -- the boundary ---------------------------------------------------------------------
    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        return await self._dispatch(event, sid, data)

    async def caller(self, sid: str) -> Caller | None:
        """Who is on this socket, from its Socket.IO session (None once it has gone)."""
        try:
            session = await self.get_session(sid)
        except KeyError:
            return None
        caller = session.get(SESSION_CALLER)
        return caller if isinstance(caller, Caller) else None

    async def _caller_or_fail(self, sid: str) -> Caller:
        caller = await self.caller(sid)
        if caller is None:
            raise SignalingError("session_expired", "Your session has ended. Please sign in again.")
        return caller

    def connected_sids(self) -> list[str]:
        """Every socket connected to this namespace on this node, as Socket.IO knows them."""
        return [sid for sid, _eio in self.server.manager.get_participants(self.namespace, None)]

    async def _dispatch(self, event: str, sid: str, data: Any) -> Any:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return SignalingError("session_expired", "Your connection has ended.").ack()
        bucket = session.setdefault(SESSION_BUCKET, TokenBucket())
        if not bucket.take():
            if bucket.is_abusive:
                logger.warning("disconnecting a socket that kept flooding")
                await self.disconnect(sid)
            return SignalingError("rate_limited", "Too many messages; slow down.").ack()
        handler = self._handlers.get(event)
        if handler is None:
            return SignalingError("unknown_event", f"Unknown event {event[:40]!r}.").ack()
        try:
            if len(json.dumps(data)) > MAX_MESSAGE_BYTES:
                raise SignalingError("too_large", "That message is too large.")
            return await handler(sid, data)
        except SignalingError as exc:
            return exc.ack()
        except Exception as exc:  # noqa: BLE001 - the boundary: nothing escapes a handler
            code = getattr(exc, "code", None)
            if isinstance(code, str):  # a media refusal (bad SDP, busy negotiation, ...)
                return {"error": str(exc) or "The media server refused that.", "code": code}
            logger.exception("error handling %s", event)
            return {"error": "Something went wrong on our side.", "code": "internal_error"}

    # -- helpers --------------------------------------------------------------------------
    def _place(self, sid: str) -> tuple[Room, Participant]:
        found = self.rooms.find_sid(sid)
        if found is None:
            raise SignalingError("not_joined", "Join a visit first.")
        return found

    def _host_place(self, sid: str) -> tuple[Room, Participant]:
        room, participant = self._place(sid)
        if not participant.is_host:
            raise SignalingError("forbidden", "Only the clinician can do that.")
        return room, participant

    def _target(self, room: Room, data: Any) -> Participant:
        target = room.get(require_field(data, "participant_id", str))
        if target is None:
            raise SignalingError("not_found", "That person is not in this visit.")
        return target

    @staticmethod
    def _key(room: Room, group: str) -> str:
        return f"{room.room_id}:{group}"

    def _roster(self, room: Room) -> list[dict[str, Any]]:
        return [
            {
                "participant_id": p.participant_id,
                "display_name": p.display_name,
                "role": p.role,
                "tracks": self.media.tracks_of(room.room_id, p.participant_id),
                "online": p.is_online,
                "quality": p.quality,
            }
            for p in room.admitted()
        ]

    def _lobby_status(self, room: Room) -> dict[str, Any]:
        return {
            "message": room.lobby_message,
            "wait_minutes": room.lobby_wait_minutes,
            "clinician_present": bool(room.hosts_online()),
        }

    async def _broadcast(self, room: Room) -> None:
        waiting = [
            {"participant_id": p.participant_id, "display_name": p.display_name, "role": p.role}
            for p in room.waiting()
        ]
        await self.emit(ev.LOBBY, {"waiting": waiting}, room=self._key(room, "hosts"))
        await self.emit(ev.PARTICIPANTS, self._roster(room), room=self._key(room, "admitted"))
        status = self._lobby_status(room)
        for p in room.waiting():
            await self.emit(ev.LOBBY_STATUS, status, to=p.sid)

    async def _drop(self, room: Room, participant: Participant) -> None:
        await self._end_poor_stretch(room, participant)
        room.remove(participant.participant_id)
        task = self._grace.pop(participant.participant_id, None)
        if task is not None:
            task.cancel()
        await self.media.remove(room.room_id, participant.participant_id)

    async def _set_groups(self, room: Room, participant: Participant) -> None:
        if participant.sid is None:
            return
        admitted = self._key(room, "admitted")
        record = self._key(room, "record")
        if participant.state == "admitted":
            await self.enter_room(participant.sid, admitted)
            if participant.sees_record:
                await self.enter_room(participant.sid, record)
        else:
            await self.leave_room(participant.sid, admitted)
            await self.leave_room(participant.sid, record)

    # -- handlers -------------------------------------------------------------------------
    async def _join(self, sid: str, data: Any) -> dict[str, Any]:
        encounter_id = require_field(data, "encounter_id", int)
        caller = await self.caller(sid)
        if caller is None or not await self.gate.is_still_valid(caller, in_call=False):
            raise SignalingError("session_expired", "Your session has ended. Please sign in again.")
        room_role = await self.gate.room_role(caller, encounter_id)
        if room_role is None:
            raise SignalingError("not_found", "That visit was not found.")
        current = self.rooms.find_sid(sid)
        if current is not None and current[0].encounter_id != encounter_id:
            await self._leave(sid, None)
        room = self.rooms.open(encounter_id)
        participant, old_sid = room.join(caller, room_role, sid, time.monotonic())
        task = self._grace.pop(participant.participant_id, None)
        if task is not None:
            task.cancel()
        if task is not None or old_sid is not None:
            # Back after a dropped connection or a reload, within the grace period.
            await self.gate.note_connection(encounter_id, participant.role, "reconnection")
        if caller.user_id is not None:
            await self.leave_room(sid, staff_room(caller.user_id))  # a visit page, not a console
        if participant.is_host:
            await self.enter_room(sid, self._key(room, "hosts"))
        await self._set_groups(room, participant)
        if old_sid is not None:
            # The same session on a new socket (a reload): the old socket goes, the place stays.
            await self.emit(
                ev.REPLACED, {"reason": "You opened this visit somewhere else."}, to=old_sid
            )
            await self.disconnect(old_sid)
        await self.gate.record(caller, encounter_id, "join")
        if participant.state == "admitted":
            await self.gate.joined_call(caller, participant.display_name, encounter_id)
        await self._broadcast(room)
        return {
            "participant_id": participant.participant_id,
            "role": participant.role,
            "state": participant.state,
            "room_role": participant.room_role,
            "lobby": self._lobby_status(room),
        }

    async def _admit(self, sid: str, data: Any) -> dict[str, bool]:
        room, host = self._host_place(sid)
        target = self._target(room, data)
        if target.state != "lobby":
            raise SignalingError("not_waiting", "That person is not waiting in the lobby.")
        target.state = "admitted"
        await self._set_groups(room, target)
        await self.emit(ev.ADMITTED, {"participant_id": target.participant_id}, to=target.sid)
        await self.gate.record(await self._caller_or_fail(sid), room.encounter_id, "admit")
        admitted = await self.caller(target.sid) if target.sid else None
        if admitted is not None:
            await self.gate.joined_call(admitted, target.display_name, room.encounter_id)
        await self._broadcast(room)
        return {"ok": True}

    async def _deny(self, sid: str, data: Any) -> dict[str, bool]:
        room, host = self._host_place(sid)
        target = self._target(room, data)
        if target.is_host:
            raise SignalingError("forbidden", "A clinician cannot be removed this way.")
        message = data.get("message") if isinstance(data.get("message"), str) else None
        target_sid = target.sid
        await self._drop(room, target)
        if target_sid is not None:
            for group in GROUPS:
                await self.leave_room(target_sid, self._key(room, group))
            await self.emit(
                ev.DENIED, {"message": (message or "")[:MAX_LOBBY_MESSAGE_CHARS]}, to=target_sid
            )
        await self.gate.record(await self._caller_or_fail(sid), room.encounter_id, "deny")
        await self._broadcast(room)
        return {"ok": True}

    async def _to_lobby(self, sid: str, data: Any) -> dict[str, bool]:
        room, host = self._host_place(sid)
        target = self._target(room, data)
        if target.is_host or target.state != "admitted":
            raise SignalingError("not_admitted", "That person is not in the call.")
        target.state = "lobby"
        target.knocked_at = time.monotonic()
        await self.media.remove(room.room_id, target.participant_id)
        await self._set_groups(room, target)
        await self.emit(ev.SENT_TO_LOBBY, {"participant_id": target.participant_id}, to=target.sid)
        await self.gate.record(await self._caller_or_fail(sid), room.encounter_id, "to_lobby")
        await self._broadcast(room)
        return {"ok": True}

    async def _lobby_message(self, sid: str, data: Any) -> dict[str, bool]:
        room, host = self._host_place(sid)
        text = data.get("message") if isinstance(data, dict) else None
        wait = data.get("wait_minutes") if isinstance(data, dict) else None
        if text is not None and (not isinstance(text, str) or len(text) > MAX_LOBBY_MESSAGE_CHARS):
            raise SignalingError(
                "bad_request",
                f"The message must be text of at most {MAX_LOBBY_MESSAGE_CHARS} characters.",
            )
        if wait is not None and (
            isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= 240
        ):
            raise SignalingError("bad_request", "The wait must be 0 to 240 minutes.")
        room.lobby_message = text.strip() if text else None
        room.lobby_wait_minutes = wait
        await self._broadcast(room)
        return {"ok": True}

    async def _offer(self, sid: str, data: Any) -> dict[str, str]:
        room, participant = self._place(sid)
        if participant.state != "admitted":
            raise SignalingError("not_admitted", "Please wait until the clinician lets you in.")
        answer = await self.media.handle_offer(
            room.room_id, participant.participant_id, require_sdp(data, "offer")
        )
        await self._broadcast(room)
        return {"sdp": answer, "type": "answer", "sources": self._sources(room, participant)}

    async def _answer(self, sid: str, data: Any) -> dict[str, bool]:
        room, participant = self._place(sid)
        await self.media.handle_answer(
            room.room_id, participant.participant_id, require_sdp(data, "answer")
        )
        await self._broadcast(room)
        return {"ok": True}

    async def _leave(self, sid: str, data: Any) -> dict[str, bool]:
        room, participant = self._place(sid)
        await self._drop(room, participant)
        for group in GROUPS:
            await self.leave_room(sid, self._key(room, group))
        await self.gate.record(await self._caller_or_fail(sid), room.encounter_id, "leave")
        await self._broadcast(room)
        self.rooms.discard_if_empty(room.encounter_id)
        return {"ok": True}

    async def _end_visit(self, sid: str, data: Any) -> dict[str, bool]:
        room, host = self._host_place(sid)
        await self.media.close_room(room.room_id)
        for participant in list(room.participants.values()):
            task = self._grace.pop(participant.participant_id, None)
            if task is not None:
                task.cancel()
            if participant.sid is not None:
                await self.emit(ev.VISIT_ENDED, {}, to=participant.sid)
                for group in GROUPS:
                    await self.leave_room(participant.sid, self._key(room, group))
        self.rooms.close(room.encounter_id)
        await self.gate.record(await self._caller_or_fail(sid), room.encounter_id, "end")
        return {"ok": True}

    async def _quality(self, sid: str, data: Any) -> dict[str, bool]:
        room, participant = self._place(sid)
        level = require_field(data, "level", str)
        if level not in QUALITY_LEVELS:
            raise SignalingError("bad_request", "The level must be good, fair or poor.")
        sound_only = data.get("sound_only", False)
        if not isinstance(sound_only, bool):
            raise SignalingError("bad_request", "sound_only must be true or false.")
        if sound_only and not participant.sound_only:
            await self.gate.note_connection(room.encounter_id, participant.role, "sound_only")
        participant.sound_only = sound_only
        if level == "poor" and participant.poor_since is None:
            participant.poor_since = time.monotonic()
        elif level != "poor":
            await self._end_poor_stretch(room, participant)
        if participant.quality != level:
            participant.quality = level
            await self._broadcast(room)
        return {"ok": True}

    async def _end_poor_stretch(self, room: Room, participant: Participant) -> None:
        if participant.poor_since is None:
            return
        seconds = time.monotonic() - participant.poor_since
        participant.poor_since = None
        await self.gate.note_connection(
            room.encounter_id, participant.role, "poor_quality", round(seconds, 1)
        )

    async def close(self) -> None:
        for task in self._grace.values():
            task.cancel()
        self._grace.clear()

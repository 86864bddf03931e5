"""Who is in each visit's room, who waits in the lobby, and who was admitted.

One participant per browser session: a reload or a reconnect finds the same participant
(the same id, still admitted), so a room never shows one person twice. A second device
coming in on the same family link is a new session, so it waits in the lobby again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Literal

from signaling.ports import Caller, RoomRole

State = Literal["lobby", "admitted"]


@dataclass
class Participant:
    participant_id: str
    session_key: str
    display_name: str
    role: str
    room_role: RoomRole
    state: State
    sid: str | None
    quality: str | None = None
    knocked_at: float = 0.0
    # When this participant's connection turned poor (monotonic seconds), while it is poor.
    poor_since: float | None = None
    # Whether the participant's page has switched to sound only.
    sound_only: bool = False
    # False for a guest who is in the call only (an interpreter): never sent record events.
    sees_record: bool = True

    @property
    def is_host(self) -> bool:
        return self.room_role == "host"

    @property
    def is_online(self) -> bool:
        return self.sid is not None


@dataclass
class Room:
    encounter_id: int
    participants: dict[str, Participant] = field(default_factory=dict)
    lobby_message: str | None = None
    lobby_wait_minutes: int | None = None

    @property
    def room_id(self) -> str:
        return f"encounter-{self.encounter_id}"

    def find_session(self, session_key: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.session_key == session_key), None)

    def join(
        self, caller: Caller, room_role: RoomRole, sid: str, now: float
    ) -> tuple[Participant, str | None]:
        """Add the caller, or give their participant a new socket; returns the old socket."""
        existing = self.find_session(caller.session_key)
        if existing is not None:
            old_sid, existing.sid = existing.sid, sid
            existing.display_name = caller.display_name
            return existing, (old_sid if old_sid != sid else None)
        participant = Participant(
            participant_id=secrets.token_hex(8),
            session_key=caller.session_key,
            display_name=caller.display_name,
            role=caller.role,
            room_role=room_role,
            state="admitted" if room_role == "host" else "lobby",
            sid=sid,
            knocked_at=now,
            sees_record=caller.kind != "guest",
        )
        self.participants[participant.participant_id] = participant
        return participant, None

    def get(self, participant_id: object) -> Participant | None:
        return self.participants.get(participant_id) if isinstance(participant_id, str) else None

    def by_sid(self, sid: str) -> Participant | None:
        return next((p for p in self.participants.values() if p.sid == sid), None)

    def remove(self, participant_id: str) -> Participant | None:
        return self.participants.pop(participant_id, None)

    def waiting(self) -> list[Participant]:
        return sorted(
            (p for p in self.participants.values() if p.state == "lobby" and p.is_online),
            key=lambda p: p.knocked_at,
        )

    def admitted(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.state == "admitted"]

    def hosts_online(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.is_host and p.is_online]

    def is_empty(self) -> bool:
        return not self.participants


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[int, Room] = {}

    def get(self, encounter_id: int) -> Room | None:
        return self._rooms.get(encounter_id)

    def open(self, encounter_id: int) -> Room:
        return self._rooms.setdefault(encounter_id, Room(encounter_id))

    def discard_if_empty(self, encounter_id: int) -> None:
        room = self._rooms.get(encounter_id)
        if room is not None and room.is_empty():
            del self._rooms[encounter_id]

    def close(self, encounter_id: int) -> Room | None:
        return self._rooms.pop(encounter_id, None)

    def all(self) -> list[Room]:
        return list(self._rooms.values())

    def by_room_id(self, room_id: str) -> Room | None:
        """The room whose ``room_id`` (its media room's name) this is, without a scan: the
        name carries the encounter id."""
        number = room_id.removeprefix("encounter-")
        if not (number.isascii() and number.isdigit() and len(number) < 19):
            return None
        room = self._rooms.get(int(number))
        return room if room is not None and room.room_id == room_id else None

    def find_sid(self, sid: str) -> tuple[Room, Participant] | None:
        """The room and participant this socket is in, if any."""
        for room in self._rooms.values():
            participant = room.by_sid(sid)
            if participant is not None:
                return room, participant
        return None

"""What signalling needs from the rest of Hearth, declared here and supplied by ``server``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

RoomRole = Literal["host", "guest"]


@dataclass(frozen=True)
class Caller:
    """Who is on a socket, as the session cookie says."""

    session_key: str  # one person's one browser session: the unit of "the same person"
    # "guest": in the call only (an interpreter, a clinician from outside the care team):
    # never sent the visit's record events (readings, steps, drills).
    kind: Literal["staff", "family", "guest"]
    role: str  # clinician, coordinator, …, family, or a guest's role (interpreter, …)
    user_id: int | None
    link_id: int | None
    display_name: str
    encounter_id: int | None  # a family session's one visit


class Gate(Protocol):
    async def authenticate(self, cookie_header: str | None) -> Caller | None:
        """The caller behind a Cookie header, or None."""
        ...

    async def is_still_valid(self, caller: Caller, *, in_call: bool) -> bool:
        """Whether the session still stands; ``in_call`` counts as activity."""
        ...

    async def ended_sessions(self, in_call: Mapping[str, bool]) -> set[str]:
        """Of these sessions (key -> whether it is in a live call, which counts as activity),
        the ones that no longer stand; one round trip for all of them."""
        ...

    async def room_role(self, caller: Caller, encounter_id: int) -> RoomRole | None:
        """``host`` (may admit people), ``guest`` (waits in the lobby) or None (no entry).

        Raises ``signaling.errors.LobbyNotOpenError`` for a caller who may enter, but not yet.
        """
        ...

    async def record(self, caller: Caller, encounter_id: int, action: str) -> None:
        """Note a visit event (audit log, visit status)."""
        ...

    async def joined_call(self, caller: Caller, display_name: str, encounter_id: int) -> None:
        """Note that this person is now in the visit's call (admitted, or a host), under
        ``display_name``; called again on a reload or a reconnection."""
        ...

    async def note_connection(
        self, encounter_id: int, role: str, kind: str, seconds: float | None = None
    ) -> None:
        """Note one connection trouble in a visit: ``reconnection``, ``sound_only`` or
        ``poor_quality`` (lasting ``seconds``). No patient data, one row per trouble."""
        ...


class Media(Protocol):
    async def handle_offer(self, room_id: str, participant_id: str, sdp: str) -> str: ...

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None: ...

    async def remove(self, room_id: str, participant_id: str) -> None: ...

    async def close_room(self, room_id: str) -> None: ...

    def tracks_of(self, room_id: str, participant_id: str) -> list[str]: ...

    def sources(self, room_id: str, participant_id: str) -> dict[str, tuple[str, str]]:
        """mid -> (publisher participant id, kind) of what this participant receives."""
        ...

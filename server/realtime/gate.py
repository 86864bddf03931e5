"""What signalling asks of the server: who is on a socket, and may they enter a visit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.services import audit
from server.services.access import CLINICAL, is_on_care_team
from server.services.call_guests import note_in_call
from server.services.connection_events import note_connection
from server.services.context import SERVICES, Services
from server.services.lobby import is_lobby_open, lobby_opens_at
from server.services.recordings import Recordings
from server.services.sessions import COOKIE_NAME, Principal
from server.store.models import Encounter
from signaling.errors import LobbyNotOpenError
from signaling.ports import Caller, RoomRole

logger = logging.getLogger(__name__)

CLOSED_STATUSES = ("cancelled", "finished")


class VisitGate:
    """Implements ``signaling.ports.Gate`` on the session store, access rules and audit log."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    @property
    def _svc(self) -> Services:
        return self._app[SERVICES]

    async def authenticate(self, cookie_header: str | None) -> Caller | None:
        try:
            cookies = SimpleCookie(cookie_header or "")
        except CookieError:
            return None
        morsel = cookies.get(COOKIE_NAME)
        if morsel is None:
            return None
        svc = self._svc
        async with svc.db.begin() as s:
            loaded = await svc.sessions.load(s, morsel.value, now=svc.clock.now())
        if not isinstance(loaded, Principal):
            return None
        return Caller(
            session_key=loaded.session_hash,
            kind=loaded.kind,
            role=loaded.role,
            user_id=loaded.user_id,
            link_id=loaded.link_id,
            display_name=loaded.name or "",
            encounter_id=loaded.encounter_id,
        )

    async def is_still_valid(self, caller: Caller, *, in_call: bool) -> bool:
        svc = self._svc
        async with svc.db.begin() as s:
            return await svc.sessions.check(
                s, caller.session_key, now=svc.clock.now(), active=in_call
            )

    async def ended_sessions(self, in_call: Mapping[str, bool]) -> set[str]:
        svc = self._svc
        now = svc.clock.now()
        # Read beside the writer first, in a few queries for every socket: a sweep that held
        # the one SQLite writer for a query or two per socket stalled every reading and diary
        # entry behind it. Only the sessions to end or to touch are settled in a write.
        async with svc.db.read() as s:
            suspects = await svc.sessions.to_check(s, in_call, now=now)
        if not suspects:
            return set()
        async with svc.db.begin() as s:
            return await svc.sessions.settle(s, {k: in_call[k] for k in suspects}, now=now)

    async def room_role(self, caller: Caller, encounter_id: int) -> RoomRole | None:
        svc = self._svc
        opens_at: dt.datetime | None = None
        async with svc.db.begin() as s:
            encounter = await s.get(Encounter, encounter_id)
            role: RoomRole | None = None
            if encounter is not None and encounter.status not in CLOSED_STATUSES:
                if caller.kind in ("family", "guest") and caller.encounter_id == encounter.id:
                    # The family's lobby opens shortly before the booked start; hosts any time.
                    if is_lobby_open(encounter.starts_at, svc.settings, svc.clock.now()):
                        role = "guest"
                    else:
                        opens_at = lobby_opens_at(encounter.starts_at, svc.settings)
                elif (
                    caller.kind == "staff"
                    and caller.role in CLINICAL
                    and caller.user_id is not None
                    and await is_on_care_team(s, caller.user_id, encounter.patient_id)
                ):
                    role = "host"
            if role is None:
                await self._audit(
                    s,
                    caller,
                    encounter_id,
                    encounter,
                    "visit_join",
                    "denied",
                    detail="too_early" if opens_at is not None else None,
                )
        if opens_at is not None:
            raise LobbyNotOpenError(opens_at)
        return role

    async def record(self, caller: Caller, encounter_id: int, action: str) -> None:
        svc = self._svc
        async with svc.db.begin() as s:
            encounter = await s.get(Encounter, encounter_id)
            if action == "admit" and encounter is not None and encounter.status == "planned":
                encounter.status = "in_progress"
            await self._audit(s, caller, encounter_id, encounter, f"visit_{action}", "success")
        if action == "end":
            # The call ended with the visit: so did a recording of it.
            actor = audit.Actor(caller.user_id, caller.link_id, caller.role, None, None)
            try:
                await Recordings(self._app).stop(encounter_id, "call_ended", actor)
            except Exception:  # noqa: BLE001 - the visit has ended; the next list closes it
                logger.exception("closing the recording of an ended visit failed")

    async def joined_call(self, caller: Caller, display_name: str, encounter_id: int) -> None:
        svc = self._svc
        async with svc.db.begin() as s:
            await note_in_call(
                s,
                encounter_id,
                display_name=display_name,
                role=caller.role,
                user_id=caller.user_id,
                link_id=caller.link_id,
                now=svc.clock.now(),
            )

    async def note_connection(
        self, encounter_id: int, role: str, kind: str, seconds: float | None = None
    ) -> None:
        svc = self._svc
        await note_connection(svc.db, svc.clock.now(), encounter_id, role, kind, seconds)

    async def _audit(
        self,
        s: AsyncSession,
        caller: Caller,
        encounter_id: int,
        encounter: Encounter | None,
        action: str,
        outcome: str,
        *,
        detail: str | None = None,
    ) -> None:
        actor = audit.Actor(caller.user_id, caller.link_id, caller.role, None, None)
        await audit.record_event(
            s,
            self._svc.clock.now(),
            actor,
            action,
            "encounter",
            encounter_id,
            patient_id=encounter.patient_id if encounter else None,
            encounter_id=encounter_id,
            outcome=outcome,
            detail=detail,
        )

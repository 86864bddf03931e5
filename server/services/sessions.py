"""Server-side sessions for staff logins and family links, and who is asking.

The cookie holds a random id; the database holds only its keyed hash. Staff sessions end
after ``HEARTH_SESSION_IDLE_MINUTES`` without a request and after
``HEARTH_SESSION_MAX_HOURS`` in any case; family sessions end with their link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import keyed_hash, new_token
from server.core.settings import Settings
from server.store.models import JoinLink, User
from server.store.models import Session as SessionRow

COOKIE_NAME = "hearth_session"
# Writing last_seen_at on every request would turn every read into a write; a minute of
# slack on a 15-minute idle timeout is immaterial.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a staff member or a family participant."""

    kind: Literal["staff", "family"]
    session_hash: str
    csrf_token: str
    role: str
    user_id: int | None
    name: str | None
    encounter_id: int | None
    link_id: int | None
    expires_at: dt.datetime
    # The language this person chose (a staff member's preference, or the one chosen on the
    # family's join link); None until they choose.
    language: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


@dataclass(frozen=True)
class NewSession:
    cookie_value: str
    principal: Principal


class SessionStore:
    def __init__(self, settings: Settings) -> None:
        assert settings.secret_key, "settings must carry a secret key"
        self._secret = settings.secret_key
        self._idle = dt.timedelta(minutes=settings.session_idle_minutes)
        self._max_age = dt.timedelta(hours=settings.session_max_hours)

    def hash(self, cookie_value: str) -> str:
        return keyed_hash(self._secret, "session:" + cookie_value)

    async def create_staff(
        self, s: AsyncSession, user: User, *, now: dt.datetime, address: str | None
    ) -> NewSession:
        # A fresh id at every login: an id planted before login is useless (fixation).
        value = new_token()
        row = SessionRow(
            id_hash=self.hash(value),
            kind="staff",
            user_id=user.id,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._max_age,
            address=address,
        )
        s.add(row)
        return NewSession(
            value, _principal(row, role=user.role, name=user.name, language=user.language)
        )

    async def create_family(
        self,
        s: AsyncSession,
        link: JoinLink,
        display_name: str,
        *,
        now: dt.datetime,
        address: str | None,
    ) -> NewSession:
        value = new_token()
        row = SessionRow(
            id_hash=self.hash(value),
            kind="family",
            join_link_id=link.id,
            encounter_id=link.encounter_id,
            display_name=display_name,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
            expires_at=link.expires_at,
            address=address,
        )
        s.add(row)
        return NewSession(
            value, _principal(row, role="family", name=display_name, language=link.language)
        )

    async def load(
        self, s: AsyncSession, cookie_value: str, *, now: dt.datetime
    ) -> Principal | Literal["expired"] | None:
        """The principal behind a cookie; "expired" if it existed but has ended."""
        if not cookie_value or len(cookie_value) > 100:
            return None
        row = await s.get(SessionRow, self.hash(cookie_value))
        if row is None:
            return None
        if row.kind == "staff":
            user = await s.get(User, row.user_id)
            if (
                user is None
                or not user.active
                or now >= row.expires_at
                or now - row.last_seen_at >= self._idle
            ):
                await s.delete(row)
                return "expired"
            role: str = user.role
            name: str | None = user.name
            language = user.language
        else:
            link = await s.get(JoinLink, row.join_link_id)
            if link is None or link.revoked_at is not None or now >= row.expires_at:
                await s.delete(row)
                return "expired"
            role, name = "family", row.display_name
            language = link.language
        if now - row.last_seen_at >= TOUCH_INTERVAL:
            row.last_seen_at = now
        return _principal(row, role=role, name=name, language=language)

    async def check(
        self, s: AsyncSession, session_hash: str, *, now: dt.datetime, active: bool
    ) -> bool:
        """Whether a session still stands. ``active`` (a live call) counts as activity: a
        clinician in a long visit is not logged off for not clicking: automatic logoff is for idle
        screens, and ending a live visit would cut off a patient."""
        row = await s.get(SessionRow, session_hash)
        if row is None:
            return False
        if row.kind == "staff":
            user = await s.get(User, row.user_id)
            idle = now - row.last_seen_at >= self._idle and not active
            if user is None or not user.active or now >= row.expires_at or idle:
                await s.delete(row)
                return False
        else:
            link = await s.get(JoinLink, row.join_link_id)
            if link is None or link.revoked_at is not None or now >= row.expires_at:
                await s.delete(row)
                return False
        if active and now - row.last_seen_at >= TOUCH_INTERVAL:
            row.last_seen_at = now
        return True

    async def end(self, s: AsyncSession, session_hash: str) -> None:
        await s.execute(delete(SessionRow).where(SessionRow.id_hash == session_hash))

    async def end_for_user(self, s: AsyncSession, user_id: int) -> None:
        await s.execute(delete(SessionRow).where(SessionRow.user_id == user_id))

    async def end_for_link(self, s: AsyncSession, link_id: int) -> None:
        await s.execute(delete(SessionRow).where(SessionRow.join_link_id == link_id))

    async def count_for_user(self, s: AsyncSession, user_id: int) -> int:
        rows = await s.scalars(select(SessionRow.id_hash).where(SessionRow.user_id == user_id))
        return len(rows.all())


def _principal(
    row: SessionRow, *, role: str, name: str | None, language: str | None = None
) -> Principal:
    return Principal(
        kind="staff" if row.kind == "staff" else "family",
        session_hash=row.id_hash,
        csrf_token=row.csrf_token,
        role=role,
        user_id=row.user_id,
        name=name,
        encounter_id=row.encounter_id,
        link_id=row.join_link_id,
        expires_at=row.expires_at,
        language=language,
    )

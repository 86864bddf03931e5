"""Server-side sessions for staff logins and family links, and who is asking.

The cookie holds a random id; the database holds only its keyed hash. Staff sessions end
after ``HEARTH_SESSION_IDLE_MINUTES`` without a request and after
``HEARTH_SESSION_MAX_HOURS`` in any case; family sessions end with their link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.call_roles import reaches_record
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
    """Who is making a request: a staff member, a family participant, or a guest who came in
    on a link with a call-only role (an interpreter, a clinician from outside the care team):
    ``role`` is then the link's role, and the guest reaches the call and nothing else."""

    kind: Literal["staff", "family", "guest"]
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
            value, _principal(row, role=link.role, name=display_name, language=link.language)
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
            role, name = link.role, row.display_name
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
            owner: User | JoinLink | None = await s.get(User, row.user_id)
        else:
            owner = await s.get(JoinLink, row.join_link_id)
        verdict = self._verdict(row, owner, now=now, active=active)
        if verdict == "ended":
            await s.delete(row)
            return False
        if verdict == "touch":
            row.last_seen_at = now
        return True

    def _verdict(
        self,
        row: SessionRow,
        owner: User | JoinLink | None,
        *,
        now: dt.datetime,
        active: bool,
    ) -> Literal["ended", "touch", "stands"]:
        """What ``check`` does with a session whose user (staff) or link (family) is
        ``owner``: end it, note the activity, or nothing."""
        if row.kind == "staff":
            user = owner if isinstance(owner, User) else None
            idle = now - row.last_seen_at >= self._idle and not active
            if user is None or not user.active or now >= row.expires_at or idle:
                return "ended"
        else:
            link = owner if isinstance(owner, JoinLink) else None
            if link is None or link.revoked_at is not None or now >= row.expires_at:
                return "ended"
        if active and now - row.last_seen_at >= TOUCH_INTERVAL:
            return "touch"
        return "stands"

    async def _load_many(
        self, s: AsyncSession, keys: Collection[str]
    ) -> dict[str, tuple[SessionRow, User | JoinLink | None]]:
        """The sessions among ``keys`` that exist, each with its user (staff) or link
        (family): three queries, however many sessions."""
        rows = (await s.scalars(select(SessionRow).where(SessionRow.id_hash.in_(keys)))).all()
        user_ids = {r.user_id for r in rows if r.kind == "staff" and r.user_id is not None}
        link_ids = {r.join_link_id for r in rows if r.kind != "staff" and r.join_link_id}
        users: dict[int, User] = {}
        links: dict[int, JoinLink] = {}
        if user_ids:
            users = {u.id: u for u in await s.scalars(select(User).where(User.id.in_(user_ids)))}
        if link_ids:
            found = await s.scalars(select(JoinLink).where(JoinLink.id.in_(link_ids)))
            links = {link.id: link for link in found}
        return {
            r.id_hash: (
                r,
                users.get(r.user_id or 0) if r.kind == "staff" else links.get(r.join_link_id or 0),
            )
            for r in rows
        }

    async def to_check(
        self, s: AsyncSession, in_call: Mapping[str, bool], *, now: dt.datetime
    ) -> set[str]:
        """The sessions among ``in_call`` (session hash -> in a live call) that ``check``
        would end or write to, read in three queries and writing nothing: a sweep over many
        connected sockets settles only these in a write, instead of holding the writer for a
        query or two per socket."""
        if not in_call:
            return set()
        loaded = await self._load_many(s, list(in_call))
        suspects = set(in_call) - set(loaded)  # gone already
        for key, (row, owner) in loaded.items():
            if self._verdict(row, owner, now=now, active=in_call[key]) != "stands":
                suspects.add(key)
        return suspects

    async def settle(
        self, s: AsyncSession, in_call: Mapping[str, bool], *, now: dt.datetime
    ) -> set[str]:
        """``check`` for many sessions at once, in a few statements: the ones that ended
        (deleted here, or gone already); the others stand, the active ones touched."""
        if not in_call:
            return set()
        loaded = await self._load_many(s, list(in_call))
        ended = set(in_call) - set(loaded)
        for key, (row, owner) in loaded.items():
            verdict = self._verdict(row, owner, now=now, active=in_call[key])
            if verdict == "ended":
                await s.delete(row)
                ended.add(key)
            elif verdict == "touch":
                row.last_seen_at = now
        return ended

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
    kind: Literal["staff", "family", "guest"] = "staff"
    if row.kind != "staff":
        kind = "family" if reaches_record(role) else "guest"
    return Principal(
        kind=kind,
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

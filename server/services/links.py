"""Family join links: issuing, finding, revoking.

A token is 256 random bits, shown once in the link; the database keeps only its keyed
hash, so a leaked database holds no working link. A link belongs to one encounter and
works until the visit's scheduled end plus ``HEARTH_LINK_GRACE_MINUTES``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import keyed_hash, new_token
from server.core.settings import Settings
from server.services.errors import ApiError
from server.services.ratelimit import Attempt, Attempts, link_limits
from server.store.models import Encounter, FamilyMember, JoinLink
from server.store.models import Session as SessionRow

LinkStatus = Literal["active", "expired", "revoked"]


def token_hash(settings: Settings, token: str) -> str:
    assert settings.secret_key
    return keyed_hash(settings.secret_key, "join:" + token)


def link_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/join/{token}"


async def issue_link(
    s: AsyncSession,
    settings: Settings,
    encounter: Encounter,
    *,
    created_by: int | None,
    now: dt.datetime,
    family_member: FamilyMember | None = None,
) -> tuple[str, JoinLink]:
    """A new family link to the encounter. One sent to a family member opens in their
    language, and a language chosen on it becomes theirs."""
    token = new_token()
    link = JoinLink(
        encounter_id=encounter.id,
        token_hash=token_hash(settings, token),
        created_at=now,
        created_by=created_by,
        expires_at=encounter.ends_at + dt.timedelta(minutes=settings.link_grace_minutes),
        family_member_id=family_member.id if family_member else None,
        language=family_member.language if family_member else None,
    )
    s.add(link)
    await s.flush()
    return token, link


async def find_link(s: AsyncSession, settings: Settings, token: str) -> JoinLink | None:
    if not token or len(token) > 200:
        return None
    return await s.scalar(
        select(JoinLink).where(JoinLink.token_hash == token_hash(settings, token))
    )


def link_status(link: JoinLink, now: dt.datetime) -> LinkStatus:
    if link.revoked_at is not None:
        return "revoked"
    if now >= link.expires_at:
        return "expired"
    return "active"


async def revoke_links_of(
    s: AsyncSession, encounter_id: int, *, by: int | None, now: dt.datetime
) -> list[int]:
    """Revoke every live link of an encounter (a cancelled or moved visit) and end the family
    sessions opened with them, in the caller's transaction; returns the links' ids."""
    links = (
        await s.scalars(
            select(JoinLink).where(
                JoinLink.encounter_id == encounter_id, JoinLink.revoked_at.is_(None)
            )
        )
    ).all()
    for link in links:
        link.revoked_at, link.revoked_by = now, by
    ids = [link.id for link in links]
    if ids:
        await s.execute(delete(SessionRow).where(SessionRow.join_link_id.in_(ids)))
    return ids


# Which lookups keep their attempt counted. The API counts only a guess (an unknown token);
# the link pages also count a revoked or expired link (what a guesser finds, and nothing a
# family can use), since a page answers 404 and 410 at page speed.
GUESSED: frozenset[str] = frozenset({"unknown"})
UNUSABLE: frozenset[str] = frozenset({"unknown", "revoked", "expired"})


class LinkThrottled(ApiError):
    """Too many failed link lookups from this address: 429, with seconds until the next."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "rate_limited",
            "Too many attempts with links that do not work. Please wait a minute and try again.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


@dataclass
class LinkLookup:
    """One reserved attempt with a family link token (join or diary). The caller says what
    the lookup found by setting ``status``; until it does, the attempt stays counted."""

    attempt: Attempt
    status: str | None = None


@asynccontextmanager
async def guarded_link_lookup(
    attempts: Attempts,
    address: str | None,
    now: dt.datetime,
    *,
    counted: frozenset[str] = GUESSED,
) -> AsyncIterator[LinkLookup]:
    """Reserve a link attempt for ``address``, let the caller look the token up, and give
    the attempt back when the block ends unless the lookup's status is one of ``counted``.

    Reserved before the token is looked up, so that parallel guesses cannot all be tried.
    Raises :class:`LinkThrottled` (429) when the address has failed too often. A block that
    ends by an exception before setting ``status`` keeps the attempt counted.
    """
    attempt = await attempts.reserve(link_limits(address), now)
    if attempt.retry_after is not None:
        raise LinkThrottled(attempt.retry_after)
    lookup = LinkLookup(attempt)
    try:
        yield lookup
    finally:
        if lookup.status is not None and lookup.status not in counted:
            await attempts.release(attempt)

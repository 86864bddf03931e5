"""Family join links: issuing, finding, revoking.

A token is 256 random bits, shown once in the link; the database keeps only its keyed
hash, so a leaked database holds no working link. A link belongs to one encounter and
works until the visit's scheduled end plus ``HEARTH_LINK_GRACE_MINUTES``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import keyed_hash, new_token
from server.core.settings import Settings
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

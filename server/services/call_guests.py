"""Links with a role, and who was in a visit's call.

A visit link brings in the family (as every link always has), or an interpreter or a clinician
from outside the care team (``encounters.call_roles``). The latter come into the call and
nothing else: their session is a ``guest`` principal that no permission names, their socket is
left out of every record event (readings, steps, drills), and their data channel stores nothing.

Whoever is first admitted to a visit's call is written down once (``call_participants``) with
the name and role the call showed, for the visit note's list of people.
"""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.call_roles import LinkRole
from server.core.settings import Settings
from server.services.links import issue_link
from server.store.models import CallParticipant, Encounter, JoinLink


class ParticipantFacts(TypedDict):
    name: str
    role: str
    at: dt.datetime


async def issue_role_link(
    s: AsyncSession,
    settings: Settings,
    encounter: Encounter,
    role: LinkRole,
    *,
    created_by: int | None,
    now: dt.datetime,
) -> tuple[str, JoinLink]:
    """A new link to the visit for someone in ``role``; it expires with the visit like every
    visit link, and is throttled, revoked and audited as they are."""
    token, link = await issue_link(s, settings, encounter, created_by=created_by, now=now)
    link.role = role.value
    await s.flush()
    return token, link


async def note_in_call(
    s: AsyncSession,
    encounter_id: int,
    *,
    display_name: str,
    role: str,
    user_id: int | None,
    link_id: int | None,
    now: dt.datetime,
) -> None:
    """Write down that this person is in the call, once per visit (a reload, a reconnection or
    a second admission writes nothing new)."""
    name = display_name[:80]
    found = await s.scalar(
        select(CallParticipant.id).where(
            CallParticipant.encounter_id == encounter_id,
            CallParticipant.display_name == name,
            CallParticipant.role == role,
            CallParticipant.user_id.is_(None)
            if user_id is None
            else CallParticipant.user_id == user_id,
            CallParticipant.link_id.is_(None)
            if link_id is None
            else CallParticipant.link_id == link_id,
        )
    )
    if found is None:
        s.add(
            CallParticipant(
                encounter_id=encounter_id,
                display_name=name,
                role=role,
                user_id=user_id,
                link_id=link_id,
                first_at=now,
            )
        )


async def participants_of(s: AsyncSession, encounter_id: int) -> list[ParticipantFacts]:
    """Who was in the visit's call, in the order they came in."""
    rows = (
        await s.scalars(
            select(CallParticipant)
            .where(CallParticipant.encounter_id == encounter_id)
            .order_by(CallParticipant.first_at, CallParticipant.id)
        )
    ).all()
    return [{"name": r.display_name, "role": r.role, "at": r.first_at} for r in rows]

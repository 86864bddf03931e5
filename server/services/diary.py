"""The family's symptom diary: long-lived diary links and stored entries.

Diary links follow the join links' rules (``server/services/links.py``): 256 random bits shown once,
only a keyed hash stored, revocable, with an expiry. They are keyed apart from join links
("diary:" prefix), so a join token never opens a diary and the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.diary import AnsweredBy
from encounters.diary import DiaryEntry as Entry
from server.core.crypto import keyed_hash, new_token
from server.core.settings import Settings
from server.services.errors import ApiError
from server.store.between_visits import DiaryEntry, DiaryLink
from server.store.db import Database, is_item_fault
from server.store.drills import same_drill
from server.store.group_commit import GroupCommit, Unit, flush_units, submit_unit

# Long-lived on purpose: the family keeps one bookmark for weeks of check-ins. The care team
# revokes it (or issues a new one) when the phone is lost or care ends.
DIARY_LINK_DAYS = 180
# Detection reads a week of entries before the newest (encounters.detection); a day more
# covers entries queued offline and sent late.
DETECTION_LOOKBACK = dt.timedelta(days=8)

T = TypeVar("T")

DiaryLinkStatus = Literal["active", "expired", "revoked"]


def diary_batcher(db: Database) -> GroupCommit[Unit, object]:
    """The process's batcher for diary entries: entries posted within a few milliseconds of
    each other are stored in one transaction, each in a savepoint of its own."""

    def make() -> GroupCommit[Unit, object]:
        return GroupCommit(db.begin, flush_units, retryable=is_item_fault)

    return db.batcher("diary", make)


async def in_diary_batch(db: Database, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` (storing one diary entry) in the diary batcher's next batch; its result
    once that batch committed, or its own error."""
    return await submit_unit(diary_batcher(db), work)


def diary_token_hash(settings: Settings, token: str) -> str:
    assert settings.secret_key
    return keyed_hash(settings.secret_key, "diary:" + token)


def diary_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/diary/{token}"


async def issue_diary_link(
    s: AsyncSession, settings: Settings, patient_id: int, *, by: int | None, now: dt.datetime
) -> tuple[str, DiaryLink]:
    token = new_token()
    link = DiaryLink(
        patient_id=patient_id,
        token_hash=diary_token_hash(settings, token),
        created_at=now,
        created_by=by,
        expires_at=now + dt.timedelta(days=DIARY_LINK_DAYS),
    )
    s.add(link)
    await s.flush()
    return token, link


async def find_diary_link(s: AsyncSession, settings: Settings, token: str) -> DiaryLink | None:
    if not token or len(token) > 200:
        return None
    return await s.scalar(
        select(DiaryLink).where(DiaryLink.token_hash == diary_token_hash(settings, token))
    )


def diary_link_status(link: DiaryLink, now: dt.datetime) -> DiaryLinkStatus:
    if link.revoked_at is not None:
        return "revoked"
    if now >= link.expires_at:
        return "expired"
    return "active"


def _same(row: DiaryEntry, entry: Entry) -> bool:
    return (row.recorded_at, dict(row.scores), row.worry) == (
        entry.recorded_at,
        dict(entry.scores),
        entry.worry,
    )


async def store_entry(
    s: AsyncSession, link: DiaryLink, entry: Entry, *, now: dt.datetime
) -> DiaryEntry | None:
    """The new row, or None for a resend of an entry already stored (same client id and
    content). The same client id with other content is refused: nothing is overwritten."""
    existing = await s.scalar(
        select(DiaryEntry).where(
            DiaryEntry.patient_id == link.patient_id, DiaryEntry.client_id == entry.client_id
        )
    )
    if existing is not None:
        if not _same(existing, entry):
            raise ApiError(
                409,
                "id_reused",
                "This client_id was already used for a different diary entry.",
                field="client_id",
            )
        return None
    row = DiaryEntry(
        patient_id=link.patient_id,
        link_id=link.id,
        client_id=entry.client_id,
        recorded_at=entry.recorded_at,
        received_at=now,
        answered_by=entry.answered_by.value,
        scores=dict(entry.scores),
        worry=entry.worry,
        is_drill=False,
    )
    s.add(row)
    await s.flush()
    return row


def row_to_entry(row: DiaryEntry) -> Entry:
    return Entry(
        client_id=row.client_id,
        recorded_at=row.recorded_at,
        scores=dict(row.scores),
        worry=row.worry,
        answered_by=AnsweredBy(row.answered_by),
    )


async def recent_entries(
    s: AsyncSession, patient_id: int, since: dt.datetime, *, drill_id: int | None = None
) -> list[Entry]:
    """The real diary since ``since`` (``drill_id`` None), or one drill's scripted entries."""
    rows = (
        await s.scalars(
            select(DiaryEntry).where(
                DiaryEntry.patient_id == patient_id,
                DiaryEntry.recorded_at >= since,
                same_drill(DiaryEntry.drill_id, drill_id),
            )
        )
    ).all()
    return [row_to_entry(r) for r in rows]


async def active_diary_links(s: AsyncSession, patient_id: int, now: dt.datetime) -> list[DiaryLink]:
    """The patient's diary links that still open the diary, newest first."""
    rows = await s.scalars(
        select(DiaryLink)
        .where(
            DiaryLink.patient_id == patient_id,
            DiaryLink.revoked_at.is_(None),
            DiaryLink.expires_at > now,
        )
        .order_by(DiaryLink.id.desc())
    )
    return list(rows.all())


async def revoke_diary_links(
    s: AsyncSession, patient_id: int, *, by: int | None, now: dt.datetime, keep: int | None
) -> list[int]:
    """Revoke every working diary link of the patient but ``keep``; the revoked links' ids.
    Issuing a replacement this way leaves the family one working link, the new one."""
    revoked = []
    for link in await active_diary_links(s, patient_id, now):
        if link.id != keep:
            link.revoked_at, link.revoked_by = now, by
            revoked.append(link.id)
    return revoked

"""The family's visit reminders as the staff see them beside each booking: which reminder,
by email or text message, when it goes out and whether it went."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.store.scheduling import ReminderJob


async def reminders_of(
    s: AsyncSession, encounter_ids: Sequence[int]
) -> dict[int, list[ReminderJob]]:
    """Each visit's reminders in the order they go out, in one query for the whole list."""
    found: dict[int, list[ReminderJob]] = {}
    if not encounter_ids:
        return found
    rows = await s.scalars(
        select(ReminderJob)
        .where(ReminderJob.encounter_id.in_(encounter_ids))
        .order_by(ReminderJob.due_at, ReminderJob.id)
    )
    for job in rows:
        found.setdefault(job.encounter_id, []).append(job)
    return found

"""Connection trouble in a visit, one row per event: what the pages and the relay measure.

A failed join (the media connection could not be set up), a reconnection (back after a
dropped connection or a reload), a switch to sound only, and a stretch of poor quality with
how long it lasted. The rows name the visit, the kind, when, and whose connection (by role);
nothing about the patient. They are read only as figures (``server.services.quality``).
"""

from __future__ import annotations

import datetime as dt

from encounters.quality import ConnectionEventKind
from server.store.db import Database
from server.store.quality import ConnectionEventRow

# A stretch of poor quality longer than a day is a clock or a bug, not a visit.
MAX_SECONDS = 24 * 3600.0


async def note_connection(
    db: Database,
    now: dt.datetime,
    encounter_id: int,
    role: str,
    kind: str,
    seconds: float | None = None,
) -> None:
    """Store one event in its own unit of work; an unknown kind is a programming error."""
    event_kind = ConnectionEventKind(kind)
    if seconds is not None:
        seconds = min(max(0.0, seconds), MAX_SECONDS)
    async with db.begin() as s:
        s.add(
            ConnectionEventRow(
                encounter_id=encounter_id,
                at=now,
                kind=event_kind.value,
                role=role[:20],
                seconds=seconds,
            )
        )

"""Tables for mock crisis drills (GitHub issue 9).

A drill is a visit (``encounters`` row with ``is_drill``) plus this row: the scenario as it
was when the drill was set up (a snapshot, so a later edit of the file does not change a past
report), the patient's own first steps for that crisis, and the player's progress. The
player's position is a column (``next_event``) changed by compare-and-set on ``revision``, as
alerts' deadlines are: after a restart, or on a second node, the drill goes on where it was.

What happened is read back from where it was stored: readings (by encounter), alerts and
diary entries (by ``drill_id``), and ``drill_events`` for the rest (prompts shown, the
family's steps, teach-back answers, notes, start and finish).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, Encounter, UtcDateTime, in_check

DRILL_STATUSES = ("ready", "running", "finished", "cancelled")
DRILL_EVENT_KINDS = (
    "started",
    "prompt",
    "diary",
    "reading",
    "family_step",
    "teach_back",
    "said",
    "finished",
    "cancelled",
)


async def drill_of(s: AsyncSession, encounter: Encounter) -> int | None:
    """The drill a visit belongs to; None for a real visit (no query) or one without a drill."""
    if not encounter.is_drill:
        return None
    found = await s.scalar(select(Drill.id).where(Drill.encounter_id == encounter.id))
    return int(found) if found is not None else None


def same_drill(column: Any, drill_id: int | None) -> Any:
    """A filter keeping real records (``drill_id`` None) and one drill's records apart."""
    return column.is_(None) if drill_id is None else column == drill_id


class Drill(Base):
    __tablename__ = "drills"
    __table_args__ = (
        CheckConstraint(in_check("status", DRILL_STATUSES), name="status"),
        Index("ix_drills_patient_created", "patient_id", "created_at"),
        Index("ix_drills_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), unique=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    # encounters.drill_json.snapshot(): the timeline and the expected responses.
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="ready")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    next_event: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class DrillEvent(Base):
    """One thing that happened in a drill. ``key`` makes a replayed scenario event land once."""

    __tablename__ = "drill_events"
    __table_args__ = (
        CheckConstraint(in_check("kind", DRILL_EVENT_KINDS), name="kind"),
        UniqueConstraint("drill_id", "key", name="uq_drill_events_drill_key"),
        Index("ix_drill_events_drill_at", "drill_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drills.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(120))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_link_id: Mapped[int | None] = mapped_column(ForeignKey("join_links.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

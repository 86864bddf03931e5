"""Tables for what a clinician writes on a visit note: the narrative, the sign-off, addenda.

A visit has at most one ``visit_notes`` row, made on the first write. Its narrative changes
until the sign-off is stored; the sign-off is written by compare-and-set (``WHERE signed_at IS
NULL``), so two clinicians signing at once get one signature and one refusal. After it the
database itself refuses to change the row, and addenda rows are never changed or deleted
(triggers, migration 0009): a correction is a new addendum, never an edit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from encounters.visit_note import Addendum, NoteRecord, SignOff
from server.store.models import Base, UtcDateTime


class VisitNote(Base):
    __tablename__ = "visit_notes"

    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), primary_key=True)
    narrative: Mapped[str] = mapped_column(Text, default="")
    narrative_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    narrative_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class NoteAddendum(Base):
    __tablename__ = "note_addenda"
    __table_args__ = (Index("ix_note_addenda_encounter_created", "encounter_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)


def note_record(row: VisitNote | None, addenda: list[NoteAddendum]) -> NoteRecord:
    """The stored rows as the domain's note."""
    ordered = tuple(
        Addendum(a.author_id, a.created_at, a.text)
        for a in sorted(addenda, key=lambda a: (a.created_at, a.id))
    )
    if row is None:
        return NoteRecord(addenda=ordered)
    signed = (
        SignOff(row.signed_by, row.signed_at)
        if row.signed_by is not None and row.signed_at is not None
        else None
    )
    return NoteRecord(
        narrative=row.narrative,
        narrative_by=row.narrative_by,
        narrative_at=row.narrative_at,
        sign_off=signed,
        addenda=ordered,
    )


async def load_note(s: AsyncSession, encounter_id: int) -> NoteRecord:
    # Read afresh: the row may have been changed in this transaction by a bulk UPDATE.
    row = await s.get(VisitNote, encounter_id, populate_existing=True)
    addenda = (
        await s.scalars(select(NoteAddendum).where(NoteAddendum.encounter_id == encounter_id))
    ).all()
    return note_record(row, list(addenda))

"""Writing on a visit note: the narrative while it is a draft, the sign-off, and addenda.

The rules are the domain's (``encounters.visit_note``); this module checks who may act (a
clinician or coordinator on the patient's care team, as for the visit's clinical record),
stores the result and audits it in the same transaction. The sign-off and every narrative
change are stored by compare-and-set on ``signed_at IS NULL``, so a narrative saved while
someone else signs is refused rather than slipped under the signature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.errors import ConflictError
from encounters.visit_note import NoteRecord, add_addendum, sign, write_narrative
from server.services import audit
from server.services.access import encounter_for
from server.services.sessions import Principal
from server.store.models import Encounter, User
from server.store.notes import NoteAddendum, VisitNote, load_note

RESOURCE = "visit_note"


@dataclass(frozen=True)
class NoteWritten:
    encounter_id: int
    note: NoteRecord
    # The names of everyone the note names (narrative, sign-off, addenda), by user id.
    names: dict[int, str]


async def people_of(s: AsyncSession, note: NoteRecord) -> dict[int, str]:
    ids = {a.author_id for a in note.addenda}
    ids |= {i for i in (note.narrative_by,) if i is not None}
    if note.sign_off is not None:
        ids.add(note.sign_off.user_id)
    if not ids:
        return {}
    rows = (await s.execute(select(User.id, User.name).where(User.id.in_(ids)))).all()
    return {int(user_id): str(name) for user_id, name in rows}


async def _written(s: AsyncSession, encounter_id: int) -> NoteWritten:
    note = await load_note(s, encounter_id)
    return NoteWritten(encounter_id, note, await people_of(s, note))


def _user_id(who: Principal) -> int:
    # The permission table lets only staff roles write a note, and staff have a user id.
    assert who.user_id is not None
    return who.user_id


async def _ensure_row(s: AsyncSession, encounter_id: int) -> None:
    """The visit's note row, made empty on the first write (once, even when two race)."""
    if await s.get(VisitNote, encounter_id) is not None:
        return
    try:
        async with s.begin_nested():
            s.add(VisitNote(encounter_id=encounter_id, narrative=""))
    except IntegrityError:
        pass  # made by a request that committed first: the row is there now


def _signed_meanwhile() -> ConflictError:
    return ConflictError(
        "The note was signed meanwhile and can no longer be edited; add an addendum instead.",
        code="note_signed",
    )


async def save_narrative(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    encounter_id: int,
    text: str,
    *,
    actor: audit.Actor,
) -> NoteWritten:
    encounter = await encounter_for(s, who, encounter_id, "note.write")
    note = write_narrative(await load_note(s, encounter.id), text, by=_user_id(who), now=now)
    await _ensure_row(s, encounter.id)
    changed = await s.execute(
        update(VisitNote)
        .where(VisitNote.encounter_id == encounter.id, VisitNote.signed_at.is_(None))
        .values(narrative=note.narrative, narrative_by=note.narrative_by, narrative_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise _signed_meanwhile()
    await _audit(s, now, actor, "update", encounter, "narrative")
    return await _written(s, encounter.id)


async def sign_note(
    s: AsyncSession, now: dt.datetime, who: Principal, encounter_id: int, *, actor: audit.Actor
) -> NoteWritten:
    encounter = await encounter_for(s, who, encounter_id, "note.sign")
    current = await load_note(s, encounter.id)
    signed = sign(current, by=_user_id(who), now=now, visit_finished=encounter.status == "finished")
    assert signed.sign_off is not None
    # Signed only if nobody signed or rewrote the narrative since it was read above.
    changed = await s.execute(
        update(VisitNote)
        .where(
            VisitNote.encounter_id == encounter.id,
            VisitNote.signed_at.is_(None),
            VisitNote.narrative == current.narrative,
        )
        .values(signed_by=signed.sign_off.user_id, signed_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            "The note changed while it was being signed; read it again before signing.",
            code="note_changed",
        )
    await _audit(s, now, actor, "sign", encounter, None)
    return await _written(s, encounter.id)


async def append_addendum(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    encounter_id: int,
    text: str,
    *,
    actor: audit.Actor,
) -> NoteWritten:
    encounter = await encounter_for(s, who, encounter_id, "note.write")
    note = add_addendum(await load_note(s, encounter.id), text, by=_user_id(who), now=now)
    added = note.addenda[-1]
    row = NoteAddendum(
        encounter_id=encounter.id, author_id=added.author_id, created_at=now, text=added.text
    )
    s.add(row)
    await s.flush()
    await audit.record_event(
        s,
        now,
        actor,
        "create",
        "note_addendum",
        row.id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
    )
    return await _written(s, encounter.id)


async def _audit(
    s: AsyncSession,
    now: dt.datetime,
    actor: audit.Actor,
    action: str,
    encounter: Encounter,
    detail: str | None,
) -> None:
    await audit.record_event(
        s,
        now,
        actor,
        action,
        RESOURCE,
        encounter.id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        detail=detail,
    )

"""One visit as its outputs (the FHIR bundle, the printable note) are made from it.

``read_visit`` reads these facts from the database once: the booking, the people, the
readings and which of them crossed a band or raised an alert, the workflow state loaded into
the domain's typed :class:`~encounters.encounter_state.EncounterState` (``None`` before the
visit starts), and what the clinicians wrote on the note. The outputs are pure functions of
this record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.encounter_state import EncounterState, stored_state
from encounters.visit_note import NoteRecord
from server.services import audit
from server.services.access import encounter_for
from server.services.call_guests import ParticipantFacts, participants_of
from server.services.note_record import people_of
from server.services.reading_flags import ReadingFlag, ReadingKey, flag_readings
from server.services.readings import row_to_dict
from server.services.sessions import Principal
from server.store.models import Encounter, FamilyMember, JoinLink, Patient, User
from server.store.models import Reading as ReadingRow
from server.store.notes import load_note

# A stored reading as the API sends it (``server.services.readings.row_to_dict``, with
# ``is_drill``): JSON, read by key where a bundle or a note needs one of its values.
StoredReading = Mapping[str, object]


class EncounterFacts(TypedDict):
    id: int
    kind: str
    status: str
    template: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    is_drill: bool


class PatientFacts(TypedDict):
    id: int
    name: str
    birth_date: dt.date
    time_zone: str
    language: str


class ClinicianFacts(TypedDict):
    id: int
    name: str


class FamilyMemberFacts(TypedDict):
    id: int
    name: str
    relationship: str | None


class VisitRecord(TypedDict):
    encounter: EncounterFacts
    patient: PatientFacts
    clinician: ClinicianFacts
    family: Sequence[FamilyMemberFacts]
    readings: Sequence[StoredReading]
    state: EncounterState | None
    # Workflow actor ids (``user:7``, ``link:3``) to the names the note shows for them.
    actor_names: Mapping[str, str]
    # The readings that crossed the patient's band or raised an alert, by (client id, kind).
    reading_flags: Mapping[ReadingKey, ReadingFlag]
    # The narrative, the sign-off and the addenda, and the names of the people they name.
    note: NoteRecord
    note_names: Mapping[int, str]
    # Who was admitted to the call, with the role it showed (the note's list of people).
    participants: Sequence[ParticipantFacts]


async def open_visit_record(
    s: AsyncSession,
    request: web.Request,
    who: Principal,
    encounter_id: int,
    *,
    action: str,
    detail: str,
) -> tuple[Encounter, VisitRecord]:
    """The visit's record for ``who``, who must be allowed its clinical side (a refusal raises
    Denied, which gets audited), with the reading (``action``: read or export) audited."""
    e = await encounter_for(s, who, encounter_id, "encounter.read_clinical")
    visit = await read_visit(s, e)
    await audit.record(
        s,
        request,
        who,
        action,
        "encounter",
        e.id,
        patient_id=e.patient_id,
        encounter_id=e.id,
        detail=detail,
    )
    return e, visit


async def read_visit(s: AsyncSession, e: Encounter) -> VisitRecord:
    """Everything the visit's outputs show, read in one unit of work."""
    patient = await s.get(Patient, e.patient_id)
    clinician = await s.get(User, e.clinician_id)
    assert patient is not None and clinician is not None
    family = (
        await s.scalars(select(FamilyMember).where(FamilyMember.patient_id == patient.id))
    ).all()
    rows = (
        await s.scalars(
            select(ReadingRow).where(ReadingRow.encounter_id == e.id).order_by(ReadingRow.taken_at)
        )
    ).all()
    links = (await s.scalars(select(JoinLink.id).where(JoinLink.encounter_id == e.id))).all()
    staff_names = {f"user:{clinician.id}": clinician.name}
    note = await load_note(s, e.id)
    return {
        "encounter": {
            "id": e.id,
            "kind": e.kind,
            "status": e.status,
            "template": e.template,
            "starts_at": e.starts_at,
            "ends_at": e.ends_at,
            "is_drill": e.is_drill,
        },
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "birth_date": patient.birth_date,
            "time_zone": patient.time_zone,
            "language": patient.language,
        },
        "clinician": {"id": clinician.id, "name": clinician.name},
        "family": [{"id": f.id, "name": f.name, "relationship": f.relationship_} for f in family],
        "readings": [row_to_dict(r) | {"is_drill": r.is_drill} for r in rows],
        # The stored JSON becomes the domain's typed state here, once, for both outputs.
        "state": stored_state(e.state),
        "actor_names": staff_names | {f"link:{i}": "Family" for i in links},
        "reading_flags": await flag_readings(s, patient.id, rows),
        "note": note,
        "note_names": await people_of(s, note),
        "participants": await participants_of(s, e.id),
    }

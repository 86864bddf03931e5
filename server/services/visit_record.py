"""One visit as its outputs (the FHIR bundle, the printable note) are made from it.

The handler that exports a visit reads these facts from the database once: the booking, the
people, the readings, and the workflow state loaded into the domain's typed
:class:`~encounters.encounter_state.EncounterState` (``None`` before the visit starts). The
outputs are pure functions of this record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict

from encounters.encounter_state import EncounterState

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

"""Recording outcomes (admissions, emergency visits and calls, deaths, discharges) for a patient.

The care team (clinicians and coordinators on the patient's team) records and edits them;
every read, record and edit is audited in the same transaction. An edit keeps the earlier
version in the row's history (its fields, who changed it, when) and is stored by
compare-and-set on the revision the editor saw, so two people editing at once can't
silently overwrite each other. A death takes the preferred place of death from the care plan
in force when it is first recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.errors import ConflictError
from encounters.outcomes import OutcomeInput, check_outcome
from encounters.quality import OutcomeKind
from server.services import audit
from server.services.access import patient_for
from server.services.careplans import current_plan
from server.services.errors import not_found
from server.services.sessions import Principal
from server.store.models import Patient, User
from server.store.quality import OutcomeRecord

RESOURCE = "outcome"


def _today(patient: Patient, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(patient.time_zone)).date()


def _fields(row: OutcomeRecord) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "occurred_on": row.occurred_on.isoformat(),
        "reason": row.reason,
        "crisis_plan_used": row.crisis_plan_used,
        "place_of_death": row.place_of_death,
        "discharge_reason": row.discharge_reason,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat(),
    }


def _values(entry: OutcomeInput) -> dict[str, Any]:
    return {
        "kind": entry.kind.value,
        "occurred_on": entry.occurred_on,
        "reason": entry.reason,
        "crisis_plan_used": entry.crisis_plan_used,
        "place_of_death": entry.place_of_death.value if entry.place_of_death else None,
        "discharge_reason": entry.discharge_reason.value if entry.discharge_reason else None,
    }


async def list_outcomes(
    s: AsyncSession, now: dt.datetime, who: Principal, patient_id: int, *, actor: audit.Actor
) -> list[OutcomeRecord]:
    await patient_for(s, who, patient_id, "outcome.read")
    rows = (
        await s.scalars(
            select(OutcomeRecord)
            .where(OutcomeRecord.patient_id == patient_id)
            .order_by(OutcomeRecord.occurred_on, OutcomeRecord.id)
        )
    ).all()
    await audit.record_event(s, now, actor, "list", RESOURCE, None, patient_id=patient_id)
    return list(rows)


async def record_outcome(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    patient_id: int,
    entry: OutcomeInput,
    *,
    actor: audit.Actor,
) -> OutcomeRecord:
    patient = await patient_for(s, who, patient_id, "outcome.write")
    checked = check_outcome(entry, today=_today(patient, now))
    preferred = None
    if checked.kind is OutcomeKind.DEATH:
        preferred = (await current_plan(s, patient_id)).preferred_place_of_death.value
    row = OutcomeRecord(
        patient_id=patient_id,
        **_values(checked),
        preferred_place=preferred,
        recorded_by=who.user_id,
        recorded_at=now,
        revision=1,
        history=[],
    )
    s.add(row)
    await s.flush()
    await audit.record_event(
        s, now, actor, "create", RESOURCE, row.id, patient_id=patient_id, detail=checked.kind
    )
    return row


async def edit_outcome(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    outcome_id: int,
    entry: OutcomeInput,
    *,
    revision: int,
    actor: audit.Actor,
) -> OutcomeRecord:
    row = await s.get(OutcomeRecord, outcome_id)
    if row is None:
        raise not_found("That outcome")
    patient = await patient_for(s, who, row.patient_id, "outcome.write")
    checked = check_outcome(entry, today=_today(patient, now))
    if checked.kind.value != row.kind:
        raise ConflictError(
            "An outcome's kind can't be changed; record the right kind instead.",
            code="kind_fixed",
        )
    history = [*row.history, _fields(row) | {"revision": row.revision}]
    changed = await s.execute(
        update(OutcomeRecord)
        .where(OutcomeRecord.id == outcome_id, OutcomeRecord.revision == revision)
        .values(
            **_values(checked),
            recorded_by=who.user_id,
            recorded_at=now,
            revision=revision + 1,
            history=history,
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            "Someone else changed this outcome since you opened it; reload and try again.",
            code="stale_revision",
        )
    await audit.record_event(
        s, now, actor, "update", RESOURCE, outcome_id, patient_id=row.patient_id
    )
    await s.refresh(row)
    return row


async def recorder_names(s: AsyncSession, rows: list[OutcomeRecord]) -> dict[int, str]:
    """The names of the staff who recorded each version of ``rows``, by user id, so a page
    can say who changed a record without showing anyone an id."""
    ids = {r.recorded_by for r in rows} | {v.get("recorded_by") for r in rows for v in r.history}
    wanted = [i for i in ids if isinstance(i, int)]
    if not wanted:
        return {}
    found = await s.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in found}

"""Symptom scores beside last time: flags at the patient's own moderate and severe thresholds
(the care plan's, else the instrument's defaults; items with neither are not rated), and
changes of two points or more since the patient's previous visit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import instrument_thresholds
from encounters.encounter_state import (
    EncounterState,
    JsonValue,
    StepState,
    StepStatus,
    stored_state,
)
from encounters.instruments.comparison import compare_scores
from encounters.templates import StepKind
from server.services.careplans import current_plan
from server.services.templates import templates
from server.store.models import Encounter


def _assessment(state: EncounterState | None) -> StepState | None:
    if state is None:
        return None
    return next((step for step in state.steps if step.kind is StepKind.ASSESSMENT), None)


async def _previous_answers(s: AsyncSession, encounter: Encounter) -> Mapping[str, JsonValue]:
    """The assessment answers of the patient's latest earlier visit that has them."""
    earlier = (
        await s.scalars(
            select(Encounter)
            .where(
                Encounter.patient_id == encounter.patient_id,
                Encounter.id != encounter.id,
                Encounter.starts_at < encounter.starts_at,
                Encounter.is_drill.is_(False),
            )
            .order_by(Encounter.starts_at.desc())
            .limit(20)
        )
    ).all()
    for other in earlier:
        step = _assessment(stored_state(other.state))
        if step is not None and step.status is StepStatus.COMPLETED:
            return step.answers
    return {}


async def compare_assessment(
    s: AsyncSession, encounter: Encounter, state: EncounterState | None
) -> dict[str, object] | None:
    """This visit's symptom answers (``state``, as loaded from ``encounter``) against the
    patient's previous visit, as JSON for the API: per instrument answer key, each answered
    item's flags and change. None while nothing is answered."""
    step_state = _assessment(state)
    if step_state is None or not step_state.answers:
        return None
    step = templates()[encounter.template].step(step_state.step_id)
    if step is None:
        return None
    previous = await _previous_answers(s, encounter)
    plan = await current_plan(s, encounter.patient_id)
    result: dict[str, object] = {}
    for use in step.instruments:
        current = step_state.answers.get(use.key)
        if not isinstance(current, Mapping):
            continue
        before = previous.get(use.key)
        rows = compare_scores(
            use.instrument,
            current,
            before if isinstance(before, Mapping) else None,
            instrument_thresholds(plan, use.instrument),
        )
        texts = {item.item_id: item.text for item in use.instrument.items}
        result[use.key] = [
            {
                **asdict(row),
                "severity": str(row.severity),
                "text": texts.get(row.item_id, row.item_id),
            }
            for row in rows
        ]
    return result or None

"""Symptom scores beside last time: flags at the moderate and severe thresholds, and changes
of two points or more since the patient's previous visit (issue 5)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.instruments.comparison import compare_scores
from server.services.templates import templates
from server.store.models import Encounter


def _assessment(state: dict[str, Any] | None) -> dict[str, Any] | None:
    for step in (state or {}).get("steps", []):
        if step.get("kind") == "assessment":
            return dict(step)
    return None


async def _previous_answers(s: AsyncSession, encounter: Encounter) -> dict[str, Any]:
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
        step = _assessment(other.state)
        if step and step.get("status") == "completed":
            return dict(step.get("answers") or {})
    return {}


async def compare_assessment(s: AsyncSession, encounter: Encounter) -> dict[str, Any] | None:
    step_state = _assessment(encounter.state)
    if not step_state or not step_state.get("answers"):
        return None
    template = templates()[encounter.template]
    step = next((st for st in template.steps if st.step_id == step_state["step"]), None)
    if step is None:
        return None
    previous = await _previous_answers(s, encounter)
    result: dict[str, Any] = {}
    for use in step.instruments:
        current = step_state["answers"].get(use.key)
        if not isinstance(current, dict):
            continue
        before = previous.get(use.key)
        rows = compare_scores(use.instrument, current, before if isinstance(before, dict) else None)
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

"""A drill's scenario as stored JSON, and back (GitHub issue 9).

When a coordinator sets a drill up, the scenario is copied into the drill's row with the
family steps taken from the patient's own crisis plan (``drills.family_steps_for``). The
report is always scored against this copy: editing or removing the scenario file later
does not change what a past drill was measured against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from encounters.careplan import CeilingOfCare, CrisisType, Resuscitation
from encounters.detection import Rule
from encounters.errors import ValidationError
from encounters.readings import KINDS
from encounters.scenarios.model import (
    DiaryEvent,
    EscalationStep,
    ExpectedResponse,
    FamilyStep,
    PlanNeeds,
    PlanRecord,
    PromptEvent,
    ReadingEvent,
    Scenario,
    TeachBackQuestion,
    TimelineEvent,
)

SNAPSHOT_VERSION = 1


def _event_to_json(event: TimelineEvent) -> dict[str, Any]:
    base: dict[str, Any] = {"id": event.event_id, "at_s": event.at_s}
    if isinstance(event, ReadingEvent):
        return base | {
            "type": "reading",
            "kind": event.kind,
            "value": event.value,
            "value2": event.value2,
            "unit": event.unit,
        }
    if isinstance(event, PromptEvent):
        return base | {"type": "prompt", "text": event.text}
    return base | {"type": "diary", "scores": dict(event.scores), "worry": event.worry}


def snapshot(scenario: Scenario, family_steps: Sequence[FamilyStep]) -> dict[str, Any]:
    """Everything a drill needs from its scenario, as plain JSON."""
    return {
        "version": SNAPSHOT_VERSION,
        "id": scenario.scenario_id,
        "title": scenario.title,
        "crisis": scenario.crisis.value,
        "summary": scenario.summary,
        "events": [_event_to_json(e) for e in scenario.events],
        "expected": {
            "alert_rules": [r.value for r in scenario.expected.alert_rules],
            "tiers": [step.tier for step in scenario.expected.escalation],
            "family_steps": [{"id": s.step_id, "text": s.text} for s in family_steps],
        },
        "requires": {
            "resuscitation": [r.value for r in scenario.plan_needs.resuscitation],
            "ceiling_of_care": [c.value for c in scenario.plan_needs.ceiling_of_care],
            "documented": [d.value for d in scenario.plan_needs.documented],
        },
        "teach_back": [
            {"item": q.item, "safety_critical": q.safety_critical} for q in scenario.teach_back
        ],
    }


def _event_from_json(d: Mapping[str, Any]) -> TimelineEvent:
    event_id, at_s = str(d["id"]), int(d["at_s"])
    if d["type"] == "reading":
        kind = d["kind"]
        if kind not in KINDS:
            raise ValidationError(f"Stored drill reading has unknown kind '{kind}'.")
        value2 = d.get("value2")
        return ReadingEvent(
            event_id,
            at_s,
            kind,
            float(d["value"]),
            str(d["unit"]),
            None if value2 is None else float(value2),
        )
    if d["type"] == "prompt":
        return PromptEvent(event_id, at_s, str(d["text"]))
    if d["type"] == "diary":
        scores = MappingProxyType({str(k): int(v) for k, v in d["scores"].items()})
        return DiaryEvent(event_id, at_s, scores, d.get("worry"))
    raise ValidationError(f"Stored drill event has unknown type '{d['type']}'.")


def from_snapshot(d: Mapping[str, Any]) -> tuple[Scenario, tuple[FamilyStep, ...]]:
    """The scenario and the family steps a drill was set up with."""
    if d.get("version") != SNAPSHOT_VERSION:
        raise ValidationError(f"Unknown drill snapshot version {d.get('version')!r}.")
    expected = d["expected"]
    steps = tuple(FamilyStep(str(s["id"]), str(s["text"])) for s in expected["family_steps"])
    scenario = Scenario(
        scenario_id=str(d["id"]),
        title=str(d["title"]),
        crisis=CrisisType(d["crisis"]),
        summary=str(d["summary"]),
        events=tuple(_event_from_json(e) for e in d["events"]),
        expected=ExpectedResponse(
            alert_rules=tuple(Rule(r) for r in expected["alert_rules"]),
            escalation=tuple(EscalationStep(int(t)) for t in expected["tiers"]),
            family_steps=steps,
        ),
        teach_back=tuple(
            TeachBackQuestion(str(q["item"]), bool(q["safety_critical"])) for q in d["teach_back"]
        ),
        path="(stored with the drill)",
        plan_needs=_plan_needs(d.get("requires") or {}),
    )
    return scenario, steps


def _plan_needs(d: Mapping[str, Any]) -> PlanNeeds:
    # Drills stored before scenarios named the plan they need have no "requires": any plan.
    return PlanNeeds(
        resuscitation=tuple(Resuscitation(r) for r in d.get("resuscitation", ())),
        ceiling_of_care=tuple(CeilingOfCare(c) for c in d.get("ceiling_of_care", ())),
        documented=tuple(PlanRecord(x) for x in d.get("documented", ())),
    )

"""Scoring a mock crisis drill from its recorded event log (GitHub issue 9).

The drill runner records what happened as plain timestamped records; everything here is a
pure function of those records and the scenario's expected responses:

- Time to acknowledge: from the onset (the first abnormal reading, or the first alert when
  the crisis started with a diary entry and no reading was abnormal) to the first
  acknowledgement at or after it. None when either never happened.
- Time to the expected tier: from the onset to the moment the alert first stood on the
  scenario's highest expected tier (tier 1 from the moment an alert is raised).
- Escalation accuracy: one check per expected alert rule, expected tier and expected family
  step, one for "someone acknowledged", and one for "did not go beyond the expected tier"
  (over-escalation matters: an expected death at home must not end in a 911 call).
  The score is the share of checks passed, floored to one decimal so that 100.0 means
  exactly nothing was missed.
- Family comprehension: teach-back answers scored by :mod:`encounters.teach_back` (2 / 1 / 0
  per key point, mastery only when every safety-critical point is correct). The last answer
  for an item counts; the number of answers is its number of teach-back cycles. An expected
  question never asked scores 0, as an omitted point does in the teach-back rubric.
- A timeline: who did what when, in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from encounters.careplan import CrisisPlan
from encounters.errors import ValidationError
from encounters.reading_types import require_aware
from encounters.scenarios.model import ExpectedResponse, FamilyStep, Scenario, TeachBackQuestion
from encounters.teach_back import (
    TEACH_BACK_MAX_ATTEMPTS,
    TEACH_BACK_POINTS,
    TeachBackScore,
    score_teach_back,
)


@dataclass(frozen=True)
class ReadingRecord:
    at: datetime
    kind: str
    value: float
    abnormal: bool
    unit: str = ""


@dataclass(frozen=True)
class AlertRaised:
    at: datetime
    rule_id: str


@dataclass(frozen=True)
class Acknowledged:
    at: datetime
    by: str
    tier: int


@dataclass(frozen=True)
class Escalated:
    at: datetime
    tier: int


@dataclass(frozen=True)
class Resolved:
    at: datetime
    outcome: str
    by: str = "clinician"


@dataclass(frozen=True)
class FamilyAction:
    """The family took a step; ``step`` is a step id or its text."""

    at: datetime
    step: str
    by: str = "family"


@dataclass(frozen=True)
class TeachBackAnswer:
    """One teach-back cycle of one key point; ``result`` is correct, partly or not_yet."""

    at: datetime
    item: str
    result: str
    by: str = "family"

    def __post_init__(self) -> None:
        if self.result not in TEACH_BACK_POINTS:
            raise ValidationError(
                f"Field 'result' must be one of: {', '.join(TEACH_BACK_POINTS)}.", field="result"
            )


@dataclass(frozen=True)
class Said:
    at: datetime
    who: str
    text: str


@dataclass(frozen=True)
class Happened:
    """Anything else worth a line in the timeline, told as is (a prompt shown, the start)."""

    at: datetime
    who: str
    what: str
    key: str = ""  # what kind of thing, for a page that words it itself: prompt, started...
    text: str = ""  # its own words (a prompt's text, a person's name), not translated


DrillRecord = (
    ReadingRecord
    | AlertRaised
    | Acknowledged
    | Escalated
    | Resolved
    | FamilyAction
    | TeachBackAnswer
    | Said
    | Happened
)


@dataclass(frozen=True)
class Miss:
    """One expected response that did not happen. ``check`` names the kind of check."""

    check: str  # alert_rule, tier, acknowledged, over_escalation or family_step
    detail: str
    # What the check was about, for a page that words the miss in its own language: the rule
    # id, the tier, the highest tier reached, or the step's id.
    subject: str = ""


@dataclass(frozen=True)
class Accuracy:
    score_pct: float  # 0.0-100.0; 100.0 exactly when ``misses`` is empty
    checks: int
    passed: int
    misses: tuple[Miss, ...]


@dataclass(frozen=True)
class Comprehension:
    score: TeachBackScore | None  # None when there was nothing to teach back
    unasked: tuple[str, ...]  # expected items nobody asked; scored as not yet


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    offset_s: float  # from the start of the drill
    who: str
    what: str  # in English, for the API; ``record`` lets a page word it in its own language
    record: DrillRecord | None = field(default=None, compare=False)


@dataclass(frozen=True)
class DrillReport:
    scenario_id: str
    onset_at: datetime | None
    time_to_acknowledge_s: float | None
    expected_tier: int | None
    time_to_expected_tier_s: float | None
    accuracy: Accuracy
    comprehension: Comprehension
    timeline: tuple[TimelineEntry, ...]


def _in_order(records: Sequence[DrillRecord]) -> list[DrillRecord]:
    for record in records:
        require_aware(record.at, "at")
    # Stable: records with one timestamp keep the order they were logged in.
    return sorted(records, key=lambda r: r.at)


def onset_at(records: Sequence[DrillRecord]) -> datetime | None:
    """The first abnormal reading, else the first alert raised (a diary-led crisis)."""
    ordered = _in_order(records)
    abnormal = [r.at for r in ordered if isinstance(r, ReadingRecord) and r.abnormal]
    if abnormal:
        return abnormal[0]
    raised = [r.at for r in ordered if isinstance(r, AlertRaised)]
    return raised[0] if raised else None


def time_to_acknowledge_s(records: Sequence[DrillRecord]) -> float | None:
    """Seconds from the onset to the first acknowledgement at or after it, or None."""
    start = onset_at(records)
    if start is None:
        return None
    acks = [r.at for r in _in_order(records) if isinstance(r, Acknowledged) and r.at >= start]
    return (acks[0] - start).total_seconds() if acks else None


def tier_reached_at(records: Sequence[DrillRecord], tier: int) -> datetime | None:
    """When the alert first stood on ``tier`` or higher: a raise counts for tier 1."""
    for record in _in_order(records):
        if isinstance(record, AlertRaised) and tier <= 1:
            return record.at
        if isinstance(record, Escalated | Acknowledged) and record.tier >= tier:
            return record.at
    return None


def time_to_tier_s(records: Sequence[DrillRecord], tier: int) -> float | None:
    """Seconds from the onset to reaching ``tier``; None if either never happened."""
    start, reached = onset_at(records), tier_reached_at(records, tier)
    if start is None or reached is None:
        return None
    # A tier reached before the onset (a drill started mid-alert) counts as reached at once.
    return max(0.0, (reached - start).total_seconds())


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _step_taken(step: FamilyStep, records: Sequence[DrillRecord]) -> bool:
    names = {_normal(step.step_id), _normal(step.text)}
    return any(isinstance(r, FamilyAction) and _normal(r.step) in names for r in records)


def family_steps_for(scenario: Scenario, plan: CrisisPlan) -> tuple[FamilyStep, ...]:
    """The first steps the family should take: the patient's own plan for this crisis when
    it has one (ids ``plan_1``, ``plan_2``, ...), else the scenario's general steps."""
    for instruction in plan.instructions:
        if instruction.crisis is scenario.crisis and instruction.first_steps:
            return tuple(
                FamilyStep(f"plan_{index}", text)
                for index, text in enumerate(instruction.first_steps, start=1)
            )
    return scenario.expected.family_steps


def score_accuracy(
    expected: ExpectedResponse,
    records: Sequence[DrillRecord],
    family_steps: Sequence[FamilyStep] | None = None,
) -> Accuracy:
    """Tiers, alerts and actions taken against those expected; see the module docstring."""
    steps = expected.family_steps if family_steps is None else tuple(family_steps)
    raised = {r.rule_id for r in records if isinstance(r, AlertRaised)}
    results: list[tuple[bool, Miss]] = [
        (
            rule.value in raised,
            Miss("alert_rule", f"alert rule '{rule.value}' was not raised", rule.value),
        )
        for rule in expected.alert_rules
    ]
    for step in expected.escalation:
        reached = tier_reached_at(records, step.tier) is not None
        results.append((reached, Miss("tier", f"tier {step.tier} was not reached", str(step.tier))))
    highest = expected.tier
    if highest is not None:
        acknowledged = any(isinstance(r, Acknowledged) for r in records)
        results.append((acknowledged, Miss("acknowledged", "nobody acknowledged the alert")))
        tiers = [r.tier for r in records if isinstance(r, Escalated | Acknowledged)]
        top = max(tiers, default=highest)
        results.append(
            (
                top <= highest,
                Miss(
                    "over_escalation",
                    f"escalated to tier {top}; expected at most {highest}",
                    str(top),
                ),
            )
        )
    for family_step in steps:
        results.append(
            (
                _step_taken(family_step, records),
                Miss(
                    "family_step",
                    f"family step '{family_step.step_id}' was not taken: {family_step.text}",
                    family_step.step_id,
                ),
            )
        )
    passed = sum(1 for ok, _ in results if ok)
    checks = len(results)
    # Floored, not rounded: 999 of 1000 must not show as 100.0.
    score = 100.0 if checks == 0 else (1000 * passed // checks) / 10
    return Accuracy(score, checks, passed, tuple(miss for ok, miss in results if not ok))


def score_comprehension(
    questions: Sequence[TeachBackQuestion], records: Sequence[DrillRecord]
) -> Comprehension:
    """Teach-back answers scored with :func:`encounters.teach_back.score_teach_back`."""
    answers: dict[str, list[str]] = {}
    for record in _in_order(records):
        if isinstance(record, TeachBackAnswer):
            answers.setdefault(record.item, []).append(record.result)
    expected = {q.item for q in questions}
    # Expected items first, in the scenario's order; then any extra item the clinician asked.
    points = [(q.item, q.safety_critical) for q in questions]
    points += [(item, False) for item in answers if item not in expected]
    entries: list[dict[str, object]] = []
    for item, safety_critical in points:
        results = answers.get(item, [])
        entry: dict[str, object] = {
            "item": item,
            "result": results[-1] if results else "not_yet",
            "safety_critical": safety_critical,
        }
        if results:
            entry["attempts"] = min(len(results), TEACH_BACK_MAX_ATTEMPTS)
        entries.append(entry)
    unasked = tuple(q.item for q in questions if q.item not in answers)
    return Comprehension(score_teach_back(entries) if entries else None, unasked)


def _describe(record: DrillRecord) -> tuple[str, str]:
    if isinstance(record, ReadingRecord):
        flag = " (abnormal)" if record.abnormal else ""
        unit = f" {record.unit}" if record.unit else ""
        return "device", f"{record.kind} reading {record.value:g}{unit}{flag}"
    if isinstance(record, AlertRaised):
        return "system", f"alert raised by rule {record.rule_id}"
    if isinstance(record, Acknowledged):
        return record.by, f"acknowledged the alert at tier {record.tier}"
    if isinstance(record, Escalated):
        return "system", f"escalated to tier {record.tier}"
    if isinstance(record, Resolved):
        return record.by, f"resolved the alert: {record.outcome}"
    if isinstance(record, FamilyAction):
        return record.by, f"took the step: {record.step}"
    if isinstance(record, TeachBackAnswer):
        return record.by, f"teach-back '{record.item}': {record.result}"
    if isinstance(record, Happened):
        return record.who, record.what
    return record.who, f"said: {record.text}"


def build_timeline(
    records: Sequence[DrillRecord], started_at: datetime | None = None
) -> tuple[TimelineEntry, ...]:
    """Who did what when, in time order; offsets count from ``started_at`` or the first record."""
    ordered = _in_order(records)
    if not ordered:
        return ()
    start = started_at if started_at is not None else ordered[0].at
    require_aware(start, "started_at")
    timeline: list[TimelineEntry] = []
    for record in ordered:
        who, what = _describe(record)
        offset = (record.at - start).total_seconds()
        timeline.append(TimelineEntry(record.at, offset, who, what, record))
    return tuple(timeline)


def build_drill_report(
    scenario: Scenario,
    records: Sequence[DrillRecord],
    *,
    started_at: datetime | None = None,
    family_steps: Sequence[FamilyStep] | None = None,
) -> DrillReport:
    """Every measure of one drill. Pass ``family_steps_for(scenario, plan)`` to score the
    family against the patient's own crisis plan rather than the scenario's general steps."""
    expected_tier = scenario.expected.tier
    return DrillReport(
        scenario_id=scenario.scenario_id,
        onset_at=onset_at(records),
        time_to_acknowledge_s=time_to_acknowledge_s(records),
        expected_tier=expected_tier,
        time_to_expected_tier_s=(
            None if expected_tier is None else time_to_tier_s(records, expected_tier)
        ),
        accuracy=score_accuracy(scenario.expected, records, family_steps),
        comprehension=score_comprehension(scenario.teach_back, records),
        timeline=build_timeline(records, started_at),
    )

"""A drill's measures, from what was stored while it ran (issue 9).

The records ``encounters.drills.build_drill_report`` scores are read back from where each
thing was stored when it happened: readings by the drill's visit (abnormal against the
patient's own bands, as the live check judged them), alerts by ``drill_id`` (their append-
only history gives raised, escalated, acknowledged and resolved with their times), and
``drill_events`` for prompts, scripted diary entries, the family's steps, teach-back answers
and notes. Nothing is measured by a clock at report time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan
from encounters.detection import samples_of, vital_crossings
from encounters.drill_json import from_snapshot
from encounters.drills import (
    Acknowledged,
    AlertRaised,
    DrillRecord,
    DrillReport,
    Escalated,
    FamilyAction,
    Happened,
    ReadingRecord,
    Resolved,
    Said,
    TeachBackAnswer,
    build_drill_report,
)
from encounters.errors import ValidationError
from encounters.reading_types import Kind, Source
from encounters.readings import Reading
from encounters.scenarios import PromptEvent, Scenario
from encounters.scenarios.translated import ScenarioWords, scenario_in
from server.services.alerts import event_from_json
from server.services.careplans import current_plans
from server.store.between_visits import Alert
from server.store.drills import Drill, DrillEvent
from server.store.models import Reading as ReadingRow
from server.store.models import User

FAMILY = "family"


async def _names(s: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await s.execute(select(User.id, User.name).where(User.id.in_(ids)))).all()
    return {int(i): str(n) for i, n in rows}


def _who(names: dict[int, str], user_id: int | str | None, role: str | None) -> str:
    if user_id is not None and str(user_id).isdigit() and int(user_id) in names:
        return names[int(user_id)]
    return FAMILY if role == FAMILY else (role or "system")


def _readings(rows: list[ReadingRow], plan: CarePlan) -> list[DrillRecord]:
    records: list[DrillRecord] = []
    for row in rows:
        if row.value is None:
            continue
        reading = Reading(
            row.client_id,
            cast(Kind, row.kind),
            row.value,
            row.unit,
            cast(Source, row.source),
            row.taken_at,
            value2=row.value2,
        )
        try:
            abnormal = bool(vital_crossings(samples_of(reading), plan))
        except ValidationError:
            abnormal = False  # a band in another unit: the live check could not judge it either
        records.append(ReadingRecord(row.received_at, row.kind, row.value, abnormal, row.unit))
    return records


def _alert_records(alerts: list[Alert], names: dict[int, str]) -> list[DrillRecord]:
    records: list[DrillRecord] = []
    for alert in alerts:
        for event in (event_from_json(e) for e in alert.history):
            kind = event.kind.value
            if kind == "raised":
                records.append(AlertRaised(event.at, alert.rule_id))
            elif kind == "escalated" and event.tier is not None:
                records.append(Escalated(event.at, event.tier))
            elif kind == "acknowledged":
                records.append(
                    Acknowledged(
                        event.at, _who(names, event.actor_id, None), event.tier or alert.tier
                    )
                )
            elif kind == "resolved":
                outcome = event.outcome.value if event.outcome else ""
                records.append(Resolved(event.at, outcome, _who(names, event.actor_id, None)))
            elif kind == "reassigned":
                records.append(
                    Happened(
                        event.at,
                        _who(names, event.actor_id, None),
                        f"handed the alert to {_who(names, event.to_user_id, None)}",
                        "reassigned",
                        _who(names, event.to_user_id, None),
                    )
                )
    return records


def _event_record(row: DrillEvent, who: str) -> DrillRecord | None:
    data = row.data
    if row.kind == "family_step":
        return FamilyAction(row.at, str(data["step"]), who)
    if row.kind == "teach_back":
        return TeachBackAnswer(row.at, str(data["item"]), str(data["result"]), who)
    if row.kind == "said":
        return Said(row.at, who, str(data["text"]))
    if row.kind == "prompt":
        text = str(data["text"])
        return Happened(row.at, "script", f"prompt to the family: {text}", "prompt", text)
    if row.kind == "diary":
        scores = ", ".join(f"{k} {v}" for k, v in dict(data["scores"]).items())
        return Happened(row.at, "script", f"diary check-in: {scores}", "diary", scores)
    if row.kind in ("started", "finished", "cancelled"):
        return Happened(row.at, who, f"{row.kind} the drill", row.kind)
    return None


async def drill_records(s: AsyncSession, drill: Drill) -> list[DrillRecord]:
    """Everything that happened in the drill, as the scoring's records."""
    return (await records_by_drill(s, [drill]))[drill.id]


async def records_by_drill(
    s: AsyncSession, drills: Sequence[Drill]
) -> dict[int, list[DrillRecord]]:
    """``drill_records`` for several drills: each kind of row (plans, readings, alerts,
    events, names) for all of them in one query, so a trend over 60 drills costs what one
    report does."""
    if not drills:
        return {}
    drill_ids = [d.id for d in drills]
    drill_of_visit = {d.encounter_id: d.id for d in drills}
    plans = await current_plans(s, {d.patient_id for d in drills})
    readings: dict[int, list[ReadingRow]] = defaultdict(list)
    for reading in await s.scalars(
        select(ReadingRow)
        .where(ReadingRow.encounter_id.in_(drill_of_visit))
        .order_by(ReadingRow.received_at, ReadingRow.id)
    ):
        assert reading.encounter_id is not None
        readings[drill_of_visit[reading.encounter_id]].append(reading)
    alerts: dict[int, list[Alert]] = defaultdict(list)
    for alert in await s.scalars(
        select(Alert).where(Alert.drill_id.in_(drill_ids)).order_by(Alert.id)
    ):
        assert alert.drill_id is not None
        alerts[alert.drill_id].append(alert)
    events: dict[int, list[DrillEvent]] = defaultdict(list)
    for event in await s.scalars(
        select(DrillEvent)
        .where(DrillEvent.drill_id.in_(drill_ids))
        .order_by(DrillEvent.at, DrillEvent.id)
    ):
        events[event.drill_id].append(event)
    # Everyone named anywhere in these drills, in one lookup.
    ids: set[int] = {
        e.actor_user_id for rows in events.values() for e in rows if e.actor_user_id is not None
    }
    for alert in (a for rows in alerts.values() for a in rows):
        for entry in alert.history:
            for key in ("actor_id", "to_user_id"):
                if str(entry.get(key) or "").isdigit():
                    ids.add(int(entry[key]))
    names = await _names(s, ids)
    out: dict[int, list[DrillRecord]] = {}
    for drill in drills:
        plan = plans[drill.patient_id]
        records = _readings(readings[drill.id], plan) + _alert_records(alerts[drill.id], names)
        for row in events[drill.id]:
            record = _event_record(row, _who(names, row.actor_user_id, row.actor_role))
            if record is not None:
                records.append(record)
        out[drill.id] = records
    return out


async def report_json(s: AsyncSession, drill: Drill, language: str | None) -> dict[str, Any]:
    """The drill's measures, with each family step and teach-back item marked; the
    scenario's words in ``language`` (None: the English as authored)."""
    return _report_json(drill, await drill_records(s, drill), language)


async def reports_json(
    s: AsyncSession, drills: Sequence[Drill], language: str | None = None
) -> dict[int, dict[str, Any]]:
    """``report_json`` of each drill, by drill id, read in a fixed number of queries."""
    records = await records_by_drill(s, drills)
    return {d.id: _report_json(d, records[d.id], language) for d in drills}


def _report_json(drill: Drill, records: list[DrillRecord], language: str | None) -> dict[str, Any]:
    scenario, steps = from_snapshot(drill.scenario)
    words = scenario_in(language, scenario)
    report = build_drill_report(scenario, records, started_at=drill.started_at, family_steps=steps)
    answers = {r.item: r.result for r in records if isinstance(r, TeachBackAnswer)}
    missed = {m.subject for m in report.accuracy.misses if m.check == "family_step"}
    out = report_to_json(report)
    out["title"] = words.title
    out["family_steps"] = [
        {
            "id": step.step_id,
            "text": words.family_step(step.step_id, step.text),
            "taken": step.step_id not in missed,
        }
        for step in steps
    ]
    # ``item`` is the English question, the key an answer names; ``text`` is for reading.
    out["teach_back"] = [
        {
            "item": q.item,
            "text": words.question(q.item),
            "safety_critical": q.safety_critical,
            "result": answers.get(q.item, "not_yet"),
            "asked": q.item in answers,
        }
        for q in scenario.teach_back
    ]
    _timeline_in(out["timeline"], scenario, words)
    return out


def _timeline_in(timeline: list[dict[str, Any]], scenario: Scenario, words: ScenarioWords) -> None:
    """The scenario's words in the timeline in the reader's language: a prompt (stored as
    its English text) and a teach-back answer's question (``question``; ``item`` stays)."""
    prompts = {
        e.text: words.prompt(e.event_id, e.text)
        for e in scenario.events
        if isinstance(e, PromptEvent)
    }
    for row in timeline:
        event = row["event"]
        if event is None:
            continue
        if event["type"] == "TeachBackAnswer":
            event["question"] = words.question(event["item"])
        elif event["type"] == "Happened" and event.get("key") == "prompt":
            event["text"] = prompts.get(event["text"], event["text"])


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def record_to_json(record: DrillRecord | None) -> dict[str, Any] | None:
    """A timeline line's facts (``type`` and its fields), for a page to word itself."""
    if record is None:
        return None
    fields = {k: v for k, v in asdict(record).items() if k != "at"}
    return {"type": type(record).__name__, **fields}


def report_to_json(report: DrillReport) -> dict[str, Any]:
    comprehension = report.comprehension.score
    return {
        "scenario_id": report.scenario_id,
        "onset_at": _time(report.onset_at),
        "time_to_acknowledge_s": report.time_to_acknowledge_s,
        "expected_tier": report.expected_tier,
        "time_to_expected_tier_s": report.time_to_expected_tier_s,
        "accuracy": {
            "score_pct": report.accuracy.score_pct,
            "checks": report.accuracy.checks,
            "passed": report.accuracy.passed,
            "misses": [
                {"check": m.check, "detail": m.detail, "subject": m.subject}
                for m in report.accuracy.misses
            ],
        },
        "comprehension": {
            "score_pct": comprehension.comprehension_pct if comprehension else None,
            "points": comprehension.points if comprehension else None,
            "max_points": comprehension.max_points if comprehension else None,
            "mastery": comprehension.mastery if comprehension else None,
            "unasked": list(report.comprehension.unasked),
        },
        "timeline": [
            {
                "at": e.at.isoformat(),
                "offset_s": e.offset_s,
                "who": e.who,
                "what": e.what,
                "event": record_to_json(e.record),
            }
            for e in report.timeline
        ],
    }

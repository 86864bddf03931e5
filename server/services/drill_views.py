"""Reading a drill: who may see it, and how it reads to them (summary, detail, report),
with the shapes of setting one up and recording what people do. The API answers with
these shapes and the drill pages draw from them.

Every view is in the reader's language: the scenario's words go through
``scenario_in`` (the family's page and staff views alike), while ids, the stored copy of
the scenario and what people recorded stay the English as authored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.drill_json import from_snapshot
from encounters.scenarios.translated import ScenarioWords, scenario_in
from server.core.bounds import Id
from server.services import audit
from server.services.access import may, patient_for
from server.services.audit import Denied
from server.services.context import services
from server.services.drill_report import report_json
from server.services.drills import event_payload
from server.services.errors import ApiError, forbidden, not_found
from server.services.sessions import Principal
from server.store.between_visits import Alert
from server.store.drills import Drill, DrillEvent
from server.store.models import Patient, User


class DrillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: Id
    scenario_id: str = Field(min_length=1, max_length=80)
    # The clinician who takes the call; they must be on the patient's care team.
    clinician_id: Id
    duration_minutes: int = Field(default=60, ge=15, le=240)


class DrillActionBody(BaseModel):
    """Something a person did: the family took a step, answered a teach-back point, or
    anyone wrote a note for the timeline."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["family_step", "teach_back", "said"]
    step: str | None = Field(default=None, max_length=80)
    item: str | None = Field(default=None, max_length=300)
    result: Literal["correct", "partly", "not_yet"] | None = None
    text: str | None = Field(default=None, min_length=1, max_length=500)


class DrillOut(BaseModel):
    id: Id
    patient_id: Id
    patient_name: str | None
    encounter_id: Id
    clinician_id: Id
    clinician_name: str | None
    created_by: Id
    scenario_id: str
    # The scenario's words in the reader's language (English when it has no translation).
    title: str
    summary: str
    crisis: str
    duration_s: int
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    played: int
    total_events: int
    is_drill: bool = True


class DrillCreated(BaseModel):
    drill: DrillOut
    family_link: str
    visit_url: str


class DrillList(BaseModel):
    items: list[DrillOut]


class DrillDetail(BaseModel):
    drill: DrillOut
    family_steps: list[dict[str, Any]]
    teach_back: list[dict[str, Any]]
    events: list[dict[str, Any]]
    alerts: list[dict[str, Any]]


class FamilyDrillView(BaseModel):
    """What the family's page shows: the prompts so far and their plan's first steps."""

    drill_id: Id
    status: str
    title: str
    prompts: list[dict[str, Any]]
    family_steps: list[dict[str, Any]]
    is_drill: bool = True


def drill_words(drill: Drill, language: str | None) -> ScenarioWords:
    """The words of the scenario a drill stored, in ``language``."""
    return scenario_in(language, from_snapshot(drill.scenario)[0])


def family_steps_in(drill: Drill, words: ScenarioWords) -> list[dict[str, Any]]:
    """The drill's first steps (id and text), the text in the reader's language."""
    return [
        {**step, "text": words.family_step(step["id"], step["text"])}
        for step in drill.scenario["expected"]["family_steps"]
    ]


def event_in(row: DrillEvent, words: ScenarioWords) -> dict[str, Any]:
    """A recorded drill event as a reader sees it: a prompt's text in their language, and a
    teach-back answer with its ``question`` in their language (``item`` stays the key)."""
    payload = event_payload(row)
    if row.kind == "prompt":
        payload["text"] = words.prompt(str(payload.get("event_id", "")), payload["text"])
    elif row.kind == "teach_back":
        payload["question"] = words.question(payload["item"])
    return payload


def family_drill_view(
    drill: Drill, events: Sequence[DrillEvent], language: str | None
) -> FamilyDrillView:
    """The family's view in their language: the title, prompts and steps of a shipped
    scenario translated where a translation exists, the English as authored otherwise."""
    words = drill_words(drill, language)
    taken = {e.data["step"] for e in events if e.kind == "family_step"}
    prompts = [event_in(e, words) for e in events if e.kind == "prompt"]
    steps = [{**step, "taken": step["id"] in taken} for step in family_steps_in(drill, words)]
    return FamilyDrillView(
        drill_id=drill.id,
        status=drill.status,
        title=words.title,
        prompts=prompts,
        family_steps=steps,
    )


class DrillEventOut(BaseModel):
    event: dict[str, Any]


class DrillReportOut(BaseModel):
    drill: DrillOut
    report: dict[str, Any]


class TrendPoint(BaseModel):
    drill_id: Id
    patient_id: Id
    scenario_id: str
    title: str
    started_at: str
    time_to_acknowledge_s: float | None
    time_to_expected_tier_s: float | None
    accuracy_pct: float
    comprehension_pct: float | None


class DrillTrends(BaseModel):
    scope: Literal["team", "family"]
    patient_id: Id | None
    items: list[TrendPoint]


async def drill_for(s: AsyncSession, who: Principal, drill_id: int, action: str) -> Drill:
    """The drill, if ``who`` may do ``action`` to it; else a Denied that gets audited.
    The family reaches only the drill of the visit its link belongs to."""
    drill = await s.get(Drill, drill_id)

    def deny(base: ApiError) -> Denied:
        return Denied(
            base,
            action=action,
            resource_type="drill",
            resource_id=drill_id,
            patient_id=drill.patient_id if drill else None,
        )

    if not may(who, action):
        raise deny(forbidden())
    if drill is None:
        raise deny(not_found("That drill"))
    if who.role == "family":
        if who.encounter_id != drill.encounter_id:
            raise deny(not_found("That drill"))
    else:
        await patient_for(s, who, drill.patient_id, "patient.read_clinical")
    return drill


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def drill_out(s: AsyncSession, drill: Drill, language: str | None) -> DrillOut:
    patient = await s.get(Patient, drill.patient_id)
    clinician = await s.get(User, drill.clinician_id)
    return _drill_out(
        drill,
        patient.name if patient else None,
        clinician.name if clinician else None,
        language,
    )


async def drills_out(
    s: AsyncSession, drills: Sequence[Drill], language: str | None
) -> list[DrillOut]:
    """``drill_out`` for a list: the names of every drill's patient and clinician in one
    query each, not two lookups per drill."""
    patients = await _names(s, Patient, {d.patient_id for d in drills})
    clinicians = await _names(s, User, {d.clinician_id for d in drills})
    return [
        _drill_out(d, patients.get(d.patient_id), clinicians.get(d.clinician_id), language)
        for d in drills
    ]


async def _names(s: AsyncSession, model: type[Patient | User], ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await s.execute(select(model.id, model.name).where(model.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def _drill_out(
    drill: Drill, patient_name: str | None, clinician_name: str | None, language: str | None
) -> DrillOut:
    scenario, _ = from_snapshot(drill.scenario)
    words = scenario_in(language, scenario)
    return DrillOut(
        id=drill.id,
        patient_id=drill.patient_id,
        patient_name=patient_name,
        encounter_id=drill.encounter_id,
        clinician_id=drill.clinician_id,
        clinician_name=clinician_name,
        created_by=drill.created_by,
        scenario_id=drill.scenario_id,
        title=words.title,
        summary=words.summary,
        crisis=scenario.crisis.value,
        duration_s=scenario.duration_s,
        status=drill.status,
        created_at=drill.created_at.isoformat(),
        started_at=_time(drill.started_at),
        finished_at=_time(drill.finished_at),
        played=drill.next_event,
        total_events=len(scenario.events),
    )


async def drill_detail(s: AsyncSession, drill: Drill, language: str | None) -> DrillDetail:
    """The drill as it runs, in ``language``. A teach-back question keeps its English
    ``item`` (what an answer names) and shows ``text`` in the reader's language."""
    events = (
        await s.scalars(
            select(DrillEvent)
            .where(DrillEvent.drill_id == drill.id)
            .order_by(DrillEvent.at, DrillEvent.id)
        )
    ).all()
    alerts = (
        await s.scalars(select(Alert).where(Alert.drill_id == drill.id).order_by(Alert.id))
    ).all()
    words = drill_words(drill, language)
    return DrillDetail(
        drill=await drill_out(s, drill, language),
        family_steps=family_steps_in(drill, words),
        teach_back=[
            {**question, "text": words.question(question["item"])}
            for question in drill.scenario["teach_back"]
        ],
        events=[event_in(e, words) for e in events],
        alerts=[
            {
                "id": a.id,
                "rule_id": a.rule_id,
                "severity": a.severity,
                "summary": a.summary,
                "status": a.status,
                "tier": a.tier,
                "raised_at": a.raised_at.isoformat(),
                "acknowledged_at": _time(a.acknowledged_at),
                "is_drill": True,
            }
            for a in alerts
        ],
    )


async def read_report(
    request: web.Request, who: Principal, drill_id: int, language: str | None
) -> DrillReportOut:
    """The drill and its measures in ``language``, if ``who`` may read them; the read is
    audited."""
    async with services(request).db.begin() as s:
        drill = await drill_for(s, who, drill_id, "drill.read")
        out = DrillReportOut(
            drill=await drill_out(s, drill, language),
            report=await report_json(s, drill, language),
        )
        await audit.record(
            s,
            request,
            who,
            "read",
            "drill_report",
            drill.id,
            patient_id=drill.patient_id,
            encounter_id=drill.encounter_id,
        )
    return out

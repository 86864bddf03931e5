"""Bodies and answers of the drill API (``server/api/drills.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DrillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patient_id: int
    scenario_id: str = Field(min_length=1, max_length=80)
    # The clinician who takes the call; they must be on the patient's care team.
    clinician_id: int
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
    id: int
    patient_id: int
    patient_name: str | None
    encounter_id: int
    clinician_id: int
    clinician_name: str | None
    created_by: int
    scenario_id: str
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

    drill_id: int
    status: str
    title: str
    prompts: list[dict[str, Any]]
    family_steps: list[dict[str, Any]]
    is_drill: bool = True


class DrillEventOut(BaseModel):
    event: dict[str, Any]


class DrillReportOut(BaseModel):
    drill: DrillOut
    report: dict[str, Any]


class TrendPoint(BaseModel):
    drill_id: int
    patient_id: int
    scenario_id: str
    title: str
    started_at: str
    time_to_acknowledge_s: float | None
    time_to_expected_tier_s: float | None
    accuracy_pct: float
    comprehension_pct: float | None


class DrillTrends(BaseModel):
    scope: Literal["team", "family"]
    patient_id: int | None
    items: list[TrendPoint]

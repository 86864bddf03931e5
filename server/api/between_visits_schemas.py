"""Request and response shapes for care between visits (issue 8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from server.api.schemas import Body
from server.core.bounds import Id

Text500 = Annotated[str, Field(min_length=1, max_length=500)]


class CarePlanBody(Body):
    plan: dict[str, Any]
    # The version the editor started from; a save over a newer version is refused (409).
    base_version: Annotated[int, Field(ge=0)] | None = None


class ChangeOut(BaseModel):
    path: str
    old: Any
    new: Any


class CarePlanOut(BaseModel):
    patient_id: Id
    version: int
    plan: dict[str, Any]
    changes: list[ChangeOut]
    created_at: dt.datetime | None
    created_by: Id | None
    # Who saved it, by name (in the versions listing).
    created_by_name: str | None = None


class CarePlanVersions(BaseModel):
    items: list[CarePlanOut]


class DiaryLinkOut(BaseModel):
    diary_link: str
    diary_link_id: Id
    expires_at: dt.datetime
    # The link as a QR code (an SVG document) for the family's phone to scan; shown once.
    qr_svg: str | None = None
    # Links this one replaced (``?replace=true``), now revoked.
    revoked_link_ids: list[Id] = []


class DiaryLinkInfo(BaseModel):
    """A working diary link, without its secret (only its keyed hash is kept)."""

    id: Id
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    created_by_name: str | None


class DiaryLinkList(BaseModel):
    items: list[DiaryLinkInfo]


class DiaryBody(Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    entry: dict[str, Any]
    # Optional: a page that names its patient is refused if the link is another patient's.
    patient_id: Id | None = None


class DiaryStored(BaseModel):
    client_id: str
    status: Literal["stored", "duplicate"]


class AlertOut(BaseModel):
    id: Id
    patient_id: Id
    patient_name: str | None
    rule_id: str
    severity: str
    summary: str
    evidence: list[Any]
    status: str
    tier: int
    tier_label: str | None
    next_deadline: dt.datetime | None
    exhausted: bool
    assignee_id: Id | None
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    outcome: str | None
    history: list[dict[str, Any]]
    is_drill: bool
    drill_id: Id | None = None
    # The diary entries the alert quotes (in the queue listing; empty elsewhere).
    evidence_entries: list[dict[str, Any]] = []
    # The readings a vital-sign alert quotes: kind, value(s), unit and when (queue listing).
    evidence_readings: list[dict[str, Any]] = []
    # A family's message the alert quotes (its text, when it came, the red-flag words).
    evidence_messages: list[dict[str, Any]] = []
    # What the caller may do to it now (queue listing): the consoles show only these buttons.
    allowed: dict[str, bool] = {}
    # The patient's care team, by name, to hand the alert to (queue listing, coordinators).
    reassign_to: list[dict[str, Any]] = []


class AlertList(BaseModel):
    items: list[AlertOut]


class ResolveBody(Body):
    outcome: Annotated[str, Field(min_length=1, max_length=40)]
    note: Annotated[str, Field(max_length=2000)] | None = None


class ReassignBody(Body):
    to_user_id: Id
    reason: Text500


class SameDayVisitBody(Body):
    clinician_id: Id | None = None
    duration_minutes: Annotated[int, Field(ge=10, le=120)] = 30


class SameDayVisitOut(BaseModel):
    encounter_id: Id
    # The clinician's next free time today: now, or after the visits already booked.
    starts_at: dt.datetime
    ends_at: dt.datetime
    family_link: str
    family_link_id: Id


class FiguresOut(BaseModel):
    alerts_raised: int
    acknowledged: int
    resolved: int
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


class AlertFigures(BaseModel):
    today: FiguresOut
    last_30_days: FiguresOut

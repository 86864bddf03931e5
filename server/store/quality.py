"""What the monthly quality figures are made of, beyond the visits and alerts already stored.

- ``outcome_records``: an unplanned admission, an emergency department visit, an emergency
  call, a death (with the preferred place from the care plan beside the place of death) or a
  discharge from the service. Editable; each earlier version is kept in ``history``.
- ``survey_responses``: a family's answers to the satisfaction survey. Anonymous: the row
  names the care team and the day, never the visit, the patient, the link or the clinician.
  ``survey_receipts`` remembers that a visit link answered (or declined), so the survey is
  offered once; it holds no answers, so the two cannot be joined back.
- ``connection_events``: one row per trouble in a visit's connection (a failed join, a
  reconnection, a switch to sound only, a stretch of poor quality), no patient data.
- ``escalation_reviews``: the short review of an alert that passed a tier's deadline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from encounters.careplan import Place
from encounters.quality import ConnectionEventKind, OutcomeKind, ReviewCause
from server.store.models import Base, UtcDateTime, in_check

OUTCOME_KINDS = tuple(k.value for k in OutcomeKind)
PLACES = tuple(p.value for p in Place)
CONNECTION_KINDS = tuple(k.value for k in ConnectionEventKind)
REVIEW_CAUSES = tuple(c.value for c in ReviewCause)


class OutcomeRecord(Base):
    __tablename__ = "outcome_records"
    __table_args__ = (
        CheckConstraint(in_check("kind", OUTCOME_KINDS), name="kind"),
        Index("ix_outcome_records_patient_occurred", "patient_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(300))
    crisis_plan_used: Mapped[bool | None] = mapped_column(Boolean)
    place_of_death: Mapped[str | None] = mapped_column(String(20))
    # Copied from the care plan when the death is recorded: a later plan edit can't move it.
    preferred_place: Mapped[str | None] = mapped_column(String(20))
    discharge_reason: Mapped[str | None] = mapped_column(String(30))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Every earlier version: its fields, who changed it and when.
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_team_day", "care_team", "answered_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    care_team: Mapped[str] = mapped_column(String(200))
    answered_on: Mapped[dt.date] = mapped_column(Date)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(16))
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyReceipt(Base):
    __tablename__ = "survey_receipts"

    join_link_id: Mapped[int] = mapped_column(ForeignKey("join_links.id"), primary_key=True)
    answered: Mapped[bool] = mapped_column(Boolean)


class ConnectionEventRow(Base):
    __tablename__ = "connection_events"
    __table_args__ = (
        CheckConstraint(in_check("kind", CONNECTION_KINDS), name="kind"),
        Index("ix_connection_events_encounter", "encounter_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    # Whose connection: "clinician", "coordinator" or "family".
    role: Mapped[str] = mapped_column(String(20))
    seconds: Mapped[float | None] = mapped_column(Float)


class EscalationReview(Base):
    __tablename__ = "escalation_reviews"
    __table_args__ = (CheckConstraint(in_check("cause", REVIEW_CAUSES), name="cause"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    cause: Mapped[str] = mapped_column(String(20))
    what_happened: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    what_changes: Mapped[str] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)

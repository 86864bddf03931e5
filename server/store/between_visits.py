"""Tables for care between visits: care-plan versions, diary links and entries, alerts.

A care plan is never updated in place: every save is a new version row with the whole plan
and the field-level changes from the one before, so old versions stay readable. An alert's
escalation timer is a column (``next_deadline``), not a task in memory: the runner finds due
alerts with a query after any restart, and every change to an alert is a compare-and-set on
``revision``, so two runners (or a runner and a person acknowledging) never both apply.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, UtcDateTime


class CarePlanVersion(Base):
    __tablename__ = "care_plan_versions"
    __table_args__ = (
        UniqueConstraint("patient_id", "version", name="uq_care_plan_versions_patient_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    version: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DiaryLink(Base):
    """A family's long-lived link to the symptom diary of one patient (token hash only)."""

    __tablename__ = "diary_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The language chosen on the diary page; None: the device's, then the patient's.
    language: Mapped[str | None] = mapped_column(String(16))


class DiaryEntry(Base):
    """One check-in. ``client_id`` is chosen by the device: a resend is stored once."""

    __tablename__ = "diary_entries"
    __table_args__ = (
        UniqueConstraint("patient_id", "client_id", name="uq_diary_entries_client"),
        Index("ix_diary_entries_patient_recorded", "patient_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("diary_links.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    answered_by: Mapped[str] = mapped_column(String(10))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    worry: Mapped[str | None] = mapped_column(Text)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # The drill whose script wrote this entry; detection never mixes drill and real entries.
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drills.id"), index=True)


class Alert(Base):
    """A raised concern and its escalation state; ``history`` is the append-only event list
    that ``encounters.escalation.replay`` rebuilds the state from."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_deadline", "status", "next_deadline"),
        Index("ix_alerts_patient_status", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    rule_id: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    dedup_key: Mapped[str] = mapped_column(String(120))
    # Every reason's key when one alert stands for several (one diary entry, several rules).
    covers: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(20))
    tier: Mapped[int] = mapped_column(Integer)
    next_deadline: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    exhausted: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    # The ladder in effect when the alert was raised: a later care-plan edit does not move
    # an alert that is already climbing.
    ladder: Mapped[list[Any]] = mapped_column(JSON)
    history: Mapped[list[Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    # The drill it belongs to: its pushes go only to the drill's people, and its key never
    # covers (suppresses) a real alert or the other way round.
    drill_id: Mapped[int | None] = mapped_column(ForeignKey("drills.id"), index=True)

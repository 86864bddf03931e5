"""Tables for scheduling: what clinicians offer, reminder jobs, calendar feeds, changes.

Weekly hours are wall-clock minutes in the clinician's own zone (``users.time_zone``); every
instant is stored as aware UTC. Reminder jobs are rows, not timers, so a restart neither loses
one nor sends one twice (``server/jobs/reminders.py`` claims each with a conditional UPDATE).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import ENCOUNTER_KINDS, Base, UtcDateTime, in_check

REMINDER_KINDS = ("day_before", "hour_before")
REMINDER_CHANNELS = ("email", "sms")
# pending -> sending -> sent; or cancelled (visit cancelled), skipped (nothing to send it
# with, or the visit already began), failed (gave up after retries).
REMINDER_STATUSES = ("pending", "sending", "sent", "cancelled", "skipped", "failed")
CHANGE_ACTIONS = ("book", "reschedule", "cancel")
MINUTES_PER_DAY = 24 * 60


class ClinicianHours(Base):
    """One stretch of weekly working hours: weekday 0 (Monday) to 6, minutes after midnight.

    ``end_minute`` 1440 is midnight at the end of the day.
    """

    __tablename__ = "clinician_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="start_minute"),
        CheckConstraint("end_minute > start_minute AND end_minute <= 1440", name="end_minute"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class ClinicianTimeOff(Base):
    """Leave, training, a blocked afternoon: real time taken out of the weekly hours."""

    __tablename__ = "clinician_time_off"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    label: Mapped[str | None] = mapped_column(String(80))


class ClinicianKind(Base):
    """A visit kind the clinician does, with its default length."""

    __tablename__ = "clinician_kinds"
    __table_args__ = (
        CheckConstraint(in_check("kind", ENCOUNTER_KINDS), name="kind"),
        CheckConstraint("length_minutes > 0 AND length_minutes <= 240", name="length"),
    )

    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    length_minutes: Mapped[int] = mapped_column(Integer)


class ReminderJob(Base):
    """One reminder to one family contact for one visit, sent at most once."""

    __tablename__ = "reminder_jobs"
    __table_args__ = (
        UniqueConstraint("encounter_id", "which", "family_member_id", name="uq_reminder_jobs_once"),
        CheckConstraint(in_check("which", REMINDER_KINDS), name="which"),
        CheckConstraint(in_check("channel", REMINDER_CHANNELS), name="channel"),
        CheckConstraint(in_check("status", REMINDER_STATUSES), name="status"),
        Index("ix_reminder_jobs_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    family_member_id: Mapped[int] = mapped_column(ForeignKey("family_members.id"))
    which: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # An exception's class name, never a message (it could quote an address).
    last_error: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class CalendarFeed(Base):
    """A clinician's secret iCalendar URL. Only a keyed hash of its token is stored."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class EncounterChange(Base):
    """A visit's booking history: override reasons, moves and cancellations, with who and when.

    The reasons are free text, so they live here and never in the audit log.
    """

    __tablename__ = "encounter_changes"
    __table_args__ = (CheckConstraint(in_check("action", CHANGE_ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    old_starts_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    old_ends_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    new_starts_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    new_ends_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

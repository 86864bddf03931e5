"""Visit recordings (issue 20).

- ``recordings``: one row per recording of a visit: who started it, when it started and
  stopped and why, the files it wrote (``parts``: one sealed WebM per participant connection,
  named by a random token, never by an id), when its retention ends and when it was
  deleted. The files themselves live under ``HEARTH_RECORDINGS_DIR``, encrypted.
- ``recording_withdrawals``: a participant's withdrawal of the agreement to recording, with
  the role that withdrew it; it holds until the consent step is completed again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, UtcDateTime, in_check

STOP_REASONS = ("clinician", "withdrawn", "call_ended", "lost")


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint(in_check("stop_reason", STOP_REASONS), name="stop_reason"),
        Index("ix_recordings_encounter_id", "encounter_id"),
        Index("ix_recordings_delete_after", "delete_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    # Names the recording's files ({token}-{n}.webm.sealed); random, no patient data.
    token: Mapped[str] = mapped_column(String(40), unique=True)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    stop_reason: Mapped[str | None] = mapped_column(String(20))
    # [{"file", "role", "kinds", "offset_ms", "duration_ms", "bytes"}], set when it stops.
    parts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    delete_after: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RecordingWithdrawal(Base):
    __tablename__ = "recording_withdrawals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    withdrawn_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    role: Mapped[str] = mapped_column(String(20))

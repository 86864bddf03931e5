"""Tables for family education (issue 18): topics assigned to a patient's family, what the
family opened and asked, and each teach-back point as the family said it back.

The topics themselves are data files (``encounters/education``), named here by id; a point's
answers are one row each, so the history of a point across visits is a query, and the
carry-over to the next visit is computed from it, never stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, UtcDateTime


class EducationAssignment(Base):
    """A topic given to a patient's family, at a reading level, and what they did with it."""

    __tablename__ = "education_assignments"
    __table_args__ = (
        UniqueConstraint("patient_id", "topic_id", name="uq_education_assignments_topic"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    topic_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(10))
    assigned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The visit it was given in, when it was (the crisis-rehearsal step or the visit page).
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    first_opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_opened_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    open_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The family tapped "I have a question": the team asks at the next contact.
    question_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class EducationTeachBack(Base):
    """One teach-back point of one topic, as the family said it back at one sitting."""

    __tablename__ = "education_teach_back"
    __table_args__ = (
        Index("ix_education_teach_back_patient_topic", "patient_id", "topic_id", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    topic_id: Mapped[str] = mapped_column(String(64))
    point_id: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    # Answers given in a drill are practice: they count for the family's comprehension (that is
    # what a drill rehearses) and are marked, so a chart can tell them apart.
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

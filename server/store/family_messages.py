"""The thread between a patient's family and the care team (issue 18).

One row per message, either way. ``client_id`` is chosen by the sender's device, so a message
sent again after a lost answer (the family's offline queue) is stored once. ``read_at`` is when
the other side first read it: the team for a family's message, the family for the team's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.store.models import Base, UtcDateTime


class FamilyMessage(Base):
    __tablename__ = "family_messages"
    __table_args__ = (
        UniqueConstraint("patient_id", "client_id", name="uq_family_messages_client"),
        Index("ix_family_messages_patient_received", "patient_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    client_id: Mapped[str] = mapped_column(String(64))
    # "family" or "team".
    sender: Mapped[str] = mapped_column(String(10))
    # Who wrote it: a staff member, or the family through a diary link or a visit link.
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    diary_link_id: Mapped[int | None] = mapped_column(ForeignKey("diary_links.id"))
    join_link_id: Mapped[int | None] = mapped_column(ForeignKey("join_links.id"))
    # The name the family gave when joining a visit; None from the diary.
    author_name: Mapped[str | None] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    # When the sender wrote it (the device's clock, checked) and when Hearth had it.
    written_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    read_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Why it went on the ladder: the red-flag words found, and whether it came out of hours.
    red_flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))

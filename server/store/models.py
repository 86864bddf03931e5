"""SQLAlchemy 2 typed models. Rows, not domain objects: ``server/mapping.py`` converts.

Every time is stored as an aware UTC datetime (``UtcDateTime``), every relationship is
``lazy="raise"`` so a query says what it loads, and constraint names follow one convention
so Alembic migrations stay stable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from encounters.call_roles import LINK_ROLES

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STAFF_ROLES = ("clinician", "coordinator", "scheduler", "admin")
ENCOUNTER_KINDS = ("video_visit", "in_person", "pharmacy_review", "social_work")
ENCOUNTER_STATUSES = ("planned", "in_progress", "finished", "cancelled")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zones, so values are normalised to UTC before they are stored and
    given back their zone when read; a naive datetime is a programming error.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware UTC time")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def in_check(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A staff login. Families have no account: they come in through join links."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(in_check("role", STAFF_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The language the staff member chose for Hearth's pages; None: the browser's.
    language: Mapped[str | None] = mapped_column(String(16))


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    care_team: Mapped[CareTeam] = relationship(back_populates="patient", lazy="raise")
    family: Mapped[list[FamilyMember]] = relationship(back_populates="patient", lazy="raise")


class CareTeam(Base):
    """The people caring for one patient (FHIR CareTeam with ``subject`` = the patient)."""

    __tablename__ = "care_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    patient: Mapped[Patient] = relationship(back_populates="care_team", lazy="raise")
    members: Mapped[list[CareTeamMember]] = relationship(back_populates="care_team", lazy="raise")


class CareTeamMember(Base):
    __tablename__ = "care_team_members"

    care_team_id: Mapped[int] = mapped_column(ForeignKey("care_teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    care_team: Mapped[CareTeam] = relationship(back_populates="members", lazy="raise")
    user: Mapped[User] = relationship(lazy="raise")


class FamilyMember(Base):
    """A related person (FHIR RelatedPerson): family or a friend caring for the patient."""

    __tablename__ = "family_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    relationship_: Mapped[str] = mapped_column("relationship", String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    # The language this person reads (set by the team, or chosen on a link sent to them);
    # None: the patient's. Their reminders are written in it.
    language: Mapped[str | None] = mapped_column(String(16))

    patient: Mapped[Patient] = relationship(back_populates="family", lazy="raise")


class Encounter(Base):
    """One booked visit and, once it runs, its workflow state."""

    __tablename__ = "encounters"
    __table_args__ = (
        CheckConstraint(in_check("kind", ENCOUNTER_KINDS), name="kind"),
        CheckConstraint(in_check("status", ENCOUNTER_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_encounters_clinician_starts", "clinician_id", "starts_at"),
        Index("ix_encounters_patient_starts", "patient_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    template: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship(lazy="raise")
    clinician: Mapped[User] = relationship(foreign_keys=[clinician_id], lazy="raise")


class JoinLink(Base):
    """A family link to one encounter. Only a keyed hash of the token is stored."""

    __tablename__ = "join_links"
    __table_args__ = (CheckConstraint(in_check("role", LINK_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # The family member a reminder sent this link to, if any: a language chosen on the
    # link's pages is theirs, and their next reminders are written in it.
    family_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_members.id"))
    # The language chosen on the link's pages; None: the device's, then the patient's.
    language: Mapped[str | None] = mapped_column(String(16))
    # Whom the link brings in (encounters.call_roles): the family, or an interpreter or a
    # clinician from outside the care team, who come into the call only.
    role: Mapped[str] = mapped_column(String(20), default="family", server_default="family")

    encounter: Mapped[Encounter] = relationship(lazy="raise")


class Session(Base):
    """A server-side login session (staff) or family session (from a join link).

    The cookie carries a random id; only its keyed hash is stored, so a copy of the
    database does not let anyone take over a session.
    """

    __tablename__ = "sessions"
    __table_args__ = (CheckConstraint(in_check("kind", ("staff", "family")), name="kind"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    join_link_id: Mapped[int | None] = mapped_column(ForeignKey("join_links.id"), index=True)
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    display_name: Mapped[str | None] = mapped_column(String(80))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    address: Mapped[str | None] = mapped_column(String(64))


class CallParticipant(Base):
    """Who was in a visit's call: one row per person, written when first admitted (a host on
    joining), with the name and the role the call showed: a staff role for the care team, or
    the role of the link they came in on (``family``, ``interpreter``, ``guest_clinician``).
    The visit note lists them."""

    __tablename__ = "call_participants"
    __table_args__ = (Index("ix_call_participants_encounter", "encounter_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("join_links.id"))
    first_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """Append-only record of who read or changed what. Never holds clinical values.

    UPDATE and DELETE are refused by a database trigger (see the initial migration), TRUNCATE
    too on PostgreSQL. Each row is chained to the one before it by ``prev_hash`` and
    ``row_hash`` (``server/store/audit_chain.py``): write rows only through
    ``server.services.audit``, which chains them.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_patient", "patient_id", "id"),
        Index("ix_audit_events_actor", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_link_id: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer)
    encounter_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    request_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class Reading(Base):
    """A device or manual reading: an Observation (kind, value, UCUM unit, LOINC code).

    A special value from a device (NaN, NRes, ±INF) is stored with ``value`` NULL and the
    reason in ``absent_reason``, never as a number. ``client_id`` is the id the sender chose;
    one message can carry several readings (an oximeter's SpO2 and pulse), hence the
    uniqueness on (patient, client id, kind): a resend is stored once.
    """

    __tablename__ = "readings"
    __table_args__ = (
        UniqueConstraint("patient_id", "client_id", "kind", name="uq_readings_client"),
        Index("ix_readings_patient_kind_taken", "patient_id", "kind", "taken_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[float | None] = mapped_column(Float)
    value2: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    loinc: Mapped[str] = mapped_column(String(20))
    absent_reason: Mapped[str | None] = mapped_column(String(30))
    # A blood pressure's diastolic (value2) has its own reason; absent_reason is value's.
    absent_reason2: Mapped[str | None] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20))
    device_model: Mapped[str | None] = mapped_column(String(120))
    device_id: Mapped[str | None] = mapped_column(String(120))
    taken_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    time_source: Mapped[str] = mapped_column(String(20))
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_by_link_id: Mapped[int | None] = mapped_column(ForeignKey("join_links.id"))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)

"""Request and response shapes. Unknown fields are refused (no mass assignment)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.core.bounds import AwareTime, Id
from server.store.models import ENCOUNTER_KINDS, STAFF_ROLES

StaffRole = Literal["clinician", "coordinator", "scheduler", "admin"]
EncounterKind = Literal["video_visit", "in_person", "pharmacy_review", "social_work"]
assert set(StaffRole.__args__) == set(STAFF_ROLES)  # type: ignore[attr-defined]
assert set(EncounterKind.__args__) == set(ENCOUNTER_KINDS)  # type: ignore[attr-defined]

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone such as Europe/London") from exc
    return value


def _language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise ValueError("must be a language tag such as en or pt-BR")
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("must be a phone number of digits, spaces and + ( ) - .")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value.lower()


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]
Language = Annotated[str, Field(max_length=16), AfterValidator(_language)]
Phone = Annotated[str, Field(max_length=40), AfterValidator(_phone)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- sessions -----------------------------------------------------------------------------
class LoginBody(Body):
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class SessionOut(BaseModel):
    # "guest": someone who came in on an interpreter's or guest clinician's link (the call only).
    kind: Literal["staff", "family", "guest"]
    role: str
    user_id: Id | None
    name: str | None
    encounter_id: Id | None
    csrf_token: str
    expires_at: dt.datetime
    idle_minutes: int | None


# -- users --------------------------------------------------------------------------------
class UserCreate(Body):
    email: Email
    name: Name
    role: StaffRole
    password: Annotated[str, Field(min_length=1, max_length=256)]
    time_zone: TimeZone = "UTC"
    phone: Phone | None = None
    # The patients whose care teams a clinician or coordinator joins.
    care_team_patient_ids: Annotated[list[Id], Field(max_length=500)] = []


class UserUpdate(Body):
    name: Name | None = None
    role: StaffRole | None = None
    active: bool | None = None
    time_zone: TimeZone | None = None
    phone: Phone | None = None
    # Exactly these patients' care teams (replacing the ones before); absent: unchanged.
    care_team_patient_ids: Annotated[list[Id], Field(max_length=500)] | None = None


class UserOut(BaseModel):
    id: Id
    email: str
    name: str
    role: str
    active: bool
    time_zone: str
    phone: str | None
    # Shown to admins only: the patients whose care teams this person is on.
    care_team_patient_ids: list[Id] | None = None


class PasswordResetOut(BaseModel):
    user: UserOut
    # The new password, shown this once: only its hash is kept.
    password: str


class UserList(BaseModel):
    items: list[UserOut]


# -- patients -----------------------------------------------------------------------------
class PatientCreate(Body):
    name: Name
    birth_date: dt.date
    care_team: Annotated[list[Id], Field(min_length=1, max_length=50)]
    time_zone: TimeZone = "UTC"
    language: Language = "en"


class FamilyCreate(Body):
    name: Name
    relationship: Annotated[str, Field(min_length=1, max_length=60)]
    email: Email | None = None
    phone: Phone | None = None
    # The language they read, if not the patient's: their pages and reminders use it.
    language: Language | None = None


class FamilyOut(BaseModel):
    id: Id
    name: str
    relationship: str
    email: str | None
    phone: str | None
    language: str | None = None


class TeamMemberOut(BaseModel):
    id: Id
    name: str
    role: str


class PatientOut(BaseModel):
    id: Id
    name: str
    birth_date: dt.date
    time_zone: str
    language: str
    care_team: list[TeamMemberOut]
    family: list[FamilyOut]


class PatientSummary(BaseModel):
    id: Id
    name: str
    time_zone: str
    language: str


class PatientList(BaseModel):
    items: list[PatientSummary]


# -- encounters and links ----------------------------------------------------------------
class EncounterCreate(Body):
    patient_id: Id
    clinician_id: Id
    starts_at: AwareTime
    duration_minutes: Annotated[int, Field(ge=5, le=480)]
    kind: EncounterKind
    template: Annotated[str, Field(min_length=1, max_length=80)] = "home_palliative_visit"
    # Books outside the clinician's working hours or in their time off; never over a clash.
    override_reason: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class EncounterOut(BaseModel):
    id: Id
    patient_id: Id
    patient_name: str | None
    clinician_id: Id
    clinician_name: str
    kind: str
    template: str
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration_minutes: int
    is_drill: bool
    state: dict[str, object] | None = None
    comparison: dict[str, object] | None = None  # clinicians: symptom flags vs. last visit
    # Who is in the visit's room now ({"waiting", "in_call"}); clinical roles, in lists.
    live: dict[str, int] | None = None
    # The family's reminders of this visit, in lists: which, by what, when, and whether sent.
    reminders: list[ReminderOut] | None = None


class ReminderOut(BaseModel):
    which: str
    channel: str
    due_at: dt.datetime
    status: str
    sent_at: dt.datetime | None


class EncounterCreated(EncounterOut):
    family_link: str | None
    family_link_id: Id | None
    family_link_expires_at: dt.datetime | None


class EncounterList(BaseModel):
    items: list[EncounterOut]


# Whom a visit link brings in (encounters.call_roles.LinkRole).
LinkRoleName = Literal["family", "interpreter", "guest_clinician"]


class LinkBody(Body):
    # Without a body (or a role) it is the family's link, as before roles existed.
    role: LinkRoleName = "family"


class LinkOut(BaseModel):
    # The link's address; the name stays ``family_link`` whatever the role (contract).
    family_link: str
    family_link_id: Id
    expires_at: dt.datetime
    role: LinkRoleName = "family"


class LinkInfo(BaseModel):
    id: Id
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    status: Literal["active", "expired", "revoked"]
    role: LinkRoleName = "family"


class LinkList(BaseModel):
    items: list[LinkInfo]


class JoinBody(Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    display_name: Annotated[str, Field(min_length=1, max_length=80)]


class JoinOut(BaseModel):
    encounter_id: Id
    csrf_token: str


# -- audit --------------------------------------------------------------------------------
class AuditItem(BaseModel):
    id: Id
    at: dt.datetime
    actor_id: Id | None
    link_id: Id | None
    role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: Id | None
    encounter_id: Id | None
    address: str | None
    outcome: str
    # Who acted and about whom, by name, for people reading the trail.
    actor_name: str | None = None
    patient_name: str | None = None


class AuditPage(BaseModel):
    items: list[AuditItem]
    next: str | None
    # Every action the log holds, to filter by.
    actions: list[str] = []


class AuditVerification(BaseModel):
    """The audit log's hash chain checked from its first row: ``intact``, or the first row at
    which it fails (``broken_at``) and why."""

    intact: bool
    rows: int
    last_id: int | None
    last_hash: str | None
    broken_at: int | None
    reason: str | None


class Health(BaseModel):
    status: str
    database: str


class Ready(Health):
    redis: Literal["ok", "unavailable", "not_configured"]

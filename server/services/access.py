"""Who may do what to which record: one table of roles, one object check.

Function level: ``PERMISSIONS`` says which roles may attempt an
action at all. Object level: clinicians and coordinators reach only patients of a
care team they are on; schedulers and admins reach every patient's booking details but no
clinical content; a family session reaches its own encounter only. A record the caller may
not see answers 404, exactly like one that does not exist, so nobody can probe ids.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.services.audit import Denied
from server.services.errors import ApiError, forbidden, not_found
from server.services.sessions import Principal
from server.store.models import CareTeam, CareTeamMember, Encounter, Patient

CLINICAL = frozenset({"clinician", "coordinator"})
BOOKING = frozenset({"scheduler", "admin"})
STAFF = CLINICAL | BOOKING

PERMISSIONS: dict[str, frozenset[str]] = {
    "patient.create": STAFF,
    "patient.read": STAFF,
    "patient.read_clinical": CLINICAL,
    "patient.list": STAFF,
    "family.add": STAFF,
    "encounter.create": STAFF,
    "encounter.read": STAFF | {"family"},
    "encounter.read_clinical": CLINICAL,
    "encounter.list": STAFF,
    # Walking the visit's steps: the clinical team, and the family for the steps addressed
    # to them (the workflow checks each step's "who").
    "encounter.event": CLINICAL | {"family"},
    "link.issue": STAFF,
    "link.revoke": STAFF,
    "link.list": STAFF,
    # Between visits (issue 8): the care team reads and edits the care plan, issues diary
    # links and answers alerts; only coordinators hand an alert to someone else.
    "careplan.read": CLINICAL,
    "careplan.write": CLINICAL,
    "diary_link.issue": CLINICAL,
    "diary_link.revoke": CLINICAL,
    "alert.read": CLINICAL,
    "alert.act": CLINICAL,
    "alert.reassign": frozenset({"coordinator"}),
    # Mock crisis drills (issue 9): coordinators set them up and run them; the care team
    # reads them and records what happened; the family records the steps it took.
    "drill.run": frozenset({"coordinator"}),
    "drill.read": CLINICAL,
    "drill.act": CLINICAL | {"family"},
    # The visit note (issue 15): the care team writes the narrative, signs it once, and
    # adds addenda after the sign-off.
    "note.write": CLINICAL,
    "note.sign": CLINICAL,
    # Family education (issue 18): the care team gives topics and records teach-back.
    "education.read": CLINICAL,
    "education.assign": CLINICAL,
    "education.teach_back": CLINICAL,
    # Messages with the family (issue 18): the care team reads the thread and answers.
    "message.read": CLINICAL,
    "message.write": CLINICAL,
    # Quality improvement (issue 19): the care team records outcomes; coordinators (the
    # team leads) read the figures and review missed escalations; a family answers the
    # survey of its own visit.
    "outcome.read": CLINICAL,
    "outcome.write": CLINICAL,
    "quality.read": frozenset({"coordinator"}),
    "escalation_review.write": frozenset({"coordinator"}),
    "survey.answer": frozenset({"family"}),
    # Recording a visit (issue 20): the care team starts and stops it, lists and plays it.
    # Withdrawing the agreement is open to everyone in the call (services/recordings.py).
    "recording.control": CLINICAL,
    "recording.read": CLINICAL,
    # Pages a role uses (server/services/navigation.py): the API checks its own permissions
    # above; these say only whose navigation shows the page.
    "schedule.book": frozenset({"coordinator", "scheduler"}),
    "availability.own": frozenset({"clinician"}),
    "availability.manage": BOOKING,
    "calendar.own": frozenset({"clinician"}),
    "audit.read": frozenset({"admin"}),
    "user.create": frozenset({"admin"}),
    "user.update": frozenset({"admin"}),
    "user.list": STAFF,
}

# Roles whose reach is limited to the care teams they are on.
TEAM_SCOPED = CLINICAL


def may(who: Principal, action: str) -> bool:
    return who.role in PERMISSIONS[action]


async def is_on_care_team(s: AsyncSession, user_id: int, patient_id: int) -> bool:
    found = await s.scalar(
        select(CareTeamMember.user_id)
        .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
        .where(CareTeam.patient_id == patient_id, CareTeamMember.user_id == user_id)
    )
    return found is not None


async def my_patient_ids(s: AsyncSession, who: Principal) -> list[int]:
    """The patients of every care team ``who`` is on."""
    return list(
        (
            await s.scalars(
                select(CareTeam.patient_id)
                .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
                .where(CareTeamMember.user_id == who.user_id)
            )
        ).all()
    )


async def can_reach_patient(s: AsyncSession, who: Principal, patient_id: int) -> bool:
    if who.role in TEAM_SCOPED:
        return who.user_id is not None and await is_on_care_team(s, who.user_id, patient_id)
    return who.role in BOOKING


async def patient_for(s: AsyncSession, who: Principal, patient_id: int, action: str) -> Patient:
    """The patient, if ``who`` may do ``action`` to them; else a Denied that gets audited."""

    def deny(base: ApiError) -> Denied:
        return Denied(
            base,
            action=action,
            resource_type="patient",
            resource_id=patient_id,
            patient_id=patient_id,
        )

    if not may(who, action):
        raise deny(forbidden())
    patient = await s.get(Patient, patient_id)
    if patient is None or not await can_reach_patient(s, who, patient_id):
        raise deny(not_found("That patient"))
    return patient


async def encounter_for(
    s: AsyncSession, who: Principal, encounter_id: int, action: str
) -> Encounter:
    """The encounter, if ``who`` may do ``action`` to it; else a Denied that gets audited."""
    encounter = await s.get(Encounter, encounter_id)
    patient_id = encounter.patient_id if encounter else None

    def deny(base: ApiError) -> Denied:
        return Denied(
            base,
            action=action,
            resource_type="encounter",
            resource_id=encounter_id,
            patient_id=patient_id,
            encounter_id=encounter_id,
        )

    if not may(who, action):
        raise deny(forbidden())
    if encounter is None:
        raise deny(not_found("That visit"))
    if who.role == "family":
        reachable = who.encounter_id == encounter.id
    else:
        reachable = await can_reach_patient(s, who, encounter.patient_id)
    if not reachable:
        raise deny(not_found("That visit"))
    return encounter


# Who may change a clinician's hours or calendar feed besides the clinician themself.
MANAGERS = frozenset({"scheduler", "admin"})


def may_manage(who: Principal, clinician_id: int) -> bool:
    return who.role in MANAGERS or who.user_id == clinician_id

"""Staff accounts: creating, changing, disabling them, resetting their passwords and the care
teams they are on (API and CLI share this)."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import hash_password, password_problem
from server.services.errors import ApiError, not_found
from server.store.models import CareTeam, CareTeamMember, Patient, User


async def create_user(
    s: AsyncSession,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    now: dt.datetime,
    time_zone: str = "UTC",
    phone: str | None = None,
) -> User:
    problem = password_problem(password)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    email = email.strip().lower()
    if await s.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ApiError(
            409, "email_taken", "A staff login with this email already exists.", field="email"
        )
    # Hashing takes tens of milliseconds of CPU by design; keep it off the event loop.
    password_hash = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=password_hash,
        active=True,
        time_zone=time_zone,
        phone=phone,
        created_at=now,
    )
    s.add(user)
    await s.flush()
    return user


# Fields of a staff login an admin may change; email stays the login's identity.
CHANGEABLE = ("name", "role", "active", "time_zone", "phone")
# A password an admin hands over once: 16 random URL-safe characters (96 bits), above the
# 12-character minimum and short enough to read out over the phone.
ONE_TIME_PASSWORD_BYTES = 12
# Only the roles whose reach is limited to their care teams are put on care teams.
TEAM_ROLES = frozenset({"clinician", "coordinator"})


@dataclass(frozen=True)
class CareTeamChange:
    """One care team a person joined or left: for the audit trail of that patient."""

    care_team_id: int
    patient_id: int
    joined: bool


async def user_or_404(s: AsyncSession, user_id: int) -> User:
    user = await s.get(User, user_id)
    if user is None:
        raise not_found("That staff login")
    return user


async def update_user(
    s: AsyncSession, *, admin_id: int | None, user_id: int, changes: dict[str, Any]
) -> tuple[User, list[str]]:
    """Apply an admin's changes to a staff login; the names of the fields that changed.

    An admin cannot disable their own login or take away their own admin role: the last
    admin doing so would leave nobody able to undo it.
    """
    user = await user_or_404(s, user_id)
    wanted = {k: v for k, v in changes.items() if k in CHANGEABLE and v is not None}
    if user.id == admin_id and (
        wanted.get("active") is False or wanted.get("role", "admin") != "admin"
    ):
        raise ApiError(
            409,
            "own_login",
            "You cannot disable your own login or take away your own admin role.",
            field="active" if "active" in wanted else "role",
        )
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if "name" in changed:
        user.name = user.name.strip()
    await s.flush()
    return user, sorted(changed)


def one_time_password() -> str:
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


async def reset_password(s: AsyncSession, user_id: int) -> tuple[User, str]:
    """Give a staff login a new random password, returned once for the admin to hand over.
    Only its Argon2 hash is kept; the caller ends the login's sessions."""
    user = await user_or_404(s, user_id)
    password = one_time_password()
    user.password_hash = await asyncio.get_running_loop().run_in_executor(
        None, hash_password, password
    )
    await s.flush()
    return user, password


async def care_team_patients(s: AsyncSession, user_ids: list[int]) -> dict[int, list[int]]:
    """For each user, the patients whose care team they are on (by patient id, sorted)."""
    found: dict[int, list[int]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    rows = await s.execute(
        select(CareTeamMember.user_id, CareTeam.patient_id)
        .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
        .where(CareTeamMember.user_id.in_(user_ids))
        .order_by(CareTeam.patient_id)
    )
    for uid, patient_id in rows:
        found[uid].append(patient_id)
    return found


async def set_care_teams(
    s: AsyncSession, user: User, patient_ids: list[int]
) -> list[CareTeamChange]:
    """Put a clinician or coordinator on exactly these patients' care teams; what changed."""
    wanted = sorted(set(patient_ids))
    if wanted and user.role not in TEAM_ROLES:
        raise ApiError(
            422,
            "not_team_role",
            "Only clinicians and coordinators are on care teams.",
            field="care_team_patient_ids",
        )
    teams = {
        t.patient_id: t
        for t in (await s.scalars(select(CareTeam).where(CareTeam.patient_id.in_(wanted)))).all()
    }
    known = set((await s.scalars(select(Patient.id).where(Patient.id.in_(wanted)))).all())
    missing = [pid for pid in wanted if pid not in known]
    if missing:
        raise ApiError(
            422,
            "unknown_patient",
            f"{len(missing)} of the chosen patients no longer exist.",
            field="care_team_patient_ids",
        )
    for pid in wanted:
        if pid not in teams:
            teams[pid] = CareTeam(patient_id=pid, name="Care team")
            s.add(teams[pid])
    await s.flush()
    current = {
        m.care_team_id: m
        for m in (
            await s.scalars(select(CareTeamMember).where(CareTeamMember.user_id == user.id))
        ).all()
    }
    wanted_team_ids = {teams[pid].id for pid in wanted}
    changes: list[CareTeamChange] = []
    for team_id, member in current.items():
        if team_id not in wanted_team_ids:
            team = await s.get(CareTeam, team_id)
            await s.delete(member)
            if team is not None:
                changes.append(CareTeamChange(team_id, team.patient_id, joined=False))
    for pid in wanted:
        if teams[pid].id not in current:
            s.add(CareTeamMember(care_team_id=teams[pid].id, user_id=user.id))
            changes.append(CareTeamChange(teams[pid].id, pid, joined=True))
    await s.flush()
    return changes

"""Staff accounts: ``/api/users``."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import PasswordResetOut, UserCreate, UserList, UserOut, UserUpdate
from server.edge.auth import staff
from server.services import audit
from server.services.access import PERMISSIONS
from server.services.accounts import (
    CareTeamChange,
    care_team_patients,
    create_user,
    reset_password,
    set_care_teams,
    update_user,
)
from server.services.context import services
from server.services.live import LIVE
from server.services.sessions import Principal
from server.store.models import User


def user_out(user: User, teams: list[int] | None = None) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        time_zone=user.time_zone,
        phone=user.phone,
        care_team_patient_ids=teams,
    )


async def _audit_team_changes(
    s: AsyncSession,
    request: web.Request,
    who: Principal,
    user_id: int,
    changes: list[CareTeamChange],
) -> None:
    """Joining or leaving a care team changes who reaches that patient: audited on the
    patient's own trail."""
    for change in changes:
        await audit.record(
            s,
            request,
            who,
            "join" if change.joined else "leave",
            "care_team",
            change.care_team_id,
            patient_id=change.patient_id,
            detail=f"user {user_id}",
        )


@api(
    "GET",
    "/api/users",
    summary="Staff, optionally of one role (to pick a clinician or a team)",
    tag="users",
    response=UserList,
    auth="staff",
    query=(("role", "string", "clinician, coordinator, scheduler or admin"),),
    errors=(401, 403),
)
async def list_users(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["user.list"])
    query = select(User).order_by(User.name)
    role = request.query.get("role")
    if role:
        query = query.where(User.role == role)
    is_admin = who.role in PERMISSIONS["user.update"]
    if not is_admin:
        query = query.where(User.active.is_(True))
    async with services(request).db.begin() as s:
        users = (await s.scalars(query.limit(500))).all()
        # Who is on which care team is for the admin who manages it.
        teams = await care_team_patients(s, [u.id for u in users]) if is_admin else {}
    return respond(UserList(items=[user_out(u, teams.get(u.id)) for u in users]))


@api(
    "POST",
    "/api/users",
    summary="Create a staff login (admin)",
    tag="users",
    body=UserCreate,
    response=UserOut,
    status=201,
    auth="admin",
    errors=(401, 403, 409, 422),
)
async def add_user(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["user.create"])
    body = await parse_body(request, UserCreate)
    svc = services(request)
    async with svc.db.begin() as s:
        user = await create_user(
            s,
            email=body.email,
            name=body.name,
            role=body.role,
            password=body.password,
            now=svc.clock.now(),
            time_zone=body.time_zone,
            phone=body.phone,
        )
        await audit.record(s, request, who, "create", "user", user.id)
        changes = await set_care_teams(s, user, body.care_team_patient_ids)
        await _audit_team_changes(s, request, who, user.id, changes)
        teams = (await care_team_patients(s, [user.id]))[user.id]
    return respond(user_out(user, teams), 201)


@api(
    "PATCH",
    "/api/users/{user_id}",
    summary="Change or disable a staff login, or the care teams it is on (admin)",
    tag="users",
    body=UserUpdate,
    response=UserOut,
    auth="admin",
    errors=(401, 403, 404, 409, 422),
)
async def update_user_route(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["user.update"])
    user_id = int_param(request, "user_id")
    body = await parse_body(request, UserUpdate)
    svc = services(request)
    async with svc.db.begin() as s:
        user, changed = await update_user(
            s, admin_id=who.user_id, user_id=user_id, changes=body.model_dump(exclude_unset=True)
        )
        team_changes: list[CareTeamChange] = []
        if body.care_team_patient_ids is not None:
            team_changes = await set_care_teams(s, user, body.care_team_patient_ids)
            if team_changes:
                changed.append("care_teams")
        ends_sessions = ("active" in changed and not user.active) or "role" in changed
        if ends_sessions:
            # Disabling an account or changing its role ends its sessions at once, not at expiry.
            await svc.sessions.end_for_user(s, user.id)
        await audit.record(
            s, request, who, "update", "user", user.id, detail=",".join(sorted(changed))
        )
        await _audit_team_changes(s, request, who, user.id, team_changes)
        teams = (await care_team_patients(s, [user.id]))[user.id]
    if ends_sessions:
        await request.app[LIVE].expel(
            lambda caller: caller.user_id == user_id, "Your account was changed; sign in again."
        )
    return respond(user_out(user, teams))


@api(
    "POST",
    "/api/users/{user_id}/password-reset",
    summary="Give a staff login a new random password, shown once (admin)",
    tag="users",
    response=PasswordResetOut,
    auth="admin",
    errors=(401, 403, 404),
)
async def reset_user_password(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["user.update"])
    user_id = int_param(request, "user_id")
    svc = services(request)
    async with svc.db.begin() as s:
        user, password = await reset_password(s, user_id)
        # Whoever knew the old password is signed out everywhere.
        await svc.sessions.end_for_user(s, user.id)
        await audit.record(s, request, who, "reset_password", "user", user.id)
        teams = (await care_team_patients(s, [user.id]))[user.id]
    await request.app[LIVE].expel(
        lambda caller: caller.user_id == user_id, "Your password was reset; sign in again."
    )
    return respond(PasswordResetOut(user=user_out(user, teams), password=password))

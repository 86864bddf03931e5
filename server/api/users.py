"""Staff accounts: ``/api/users``."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import UserCreate, UserList, UserOut, UserUpdate
from server.edge.auth import staff
from server.services import audit
from server.services.access import PERMISSIONS
from server.services.accounts import create_user
from server.services.context import services
from server.services.errors import not_found
from server.services.live import LIVE
from server.store.models import User


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        time_zone=user.time_zone,
        phone=user.phone,
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
    if who.role != "admin":
        query = query.where(User.active.is_(True))
    async with services(request).db.begin() as s:
        users = (await s.scalars(query.limit(500))).all()
    return respond(UserList(items=[user_out(u) for u in users]))


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
    return respond(user_out(user), 201)


@api(
    "PATCH",
    "/api/users/{user_id}",
    summary="Change or disable a staff login (admin)",
    tag="users",
    body=UserUpdate,
    response=UserOut,
    auth="admin",
    errors=(401, 403, 404, 422),
)
async def update_user(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["user.update"])
    user_id = int_param(request, "user_id")
    body = await parse_body(request, UserUpdate)
    svc = services(request)
    async with svc.db.begin() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise not_found("That staff login")
        changes = body.model_dump(exclude_unset=True)
        for name, value in changes.items():
            if value is not None:
                setattr(user, name, value)
        if body.active is False or "role" in changes:
            # Disabling an account or changing its role ends its sessions at once, not at expiry.
            await svc.sessions.end_for_user(s, user.id)
        await audit.record(
            s, request, who, "update", "user", user.id, detail=",".join(sorted(changes))
        )
    if body.active is False or "role" in changes:
        await request.app[LIVE].expel(
            lambda caller: caller.user_id == user_id, "Your account was changed; sign in again."
        )
    return respond(user_out(user))

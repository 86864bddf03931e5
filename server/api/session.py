"""Logging in and out: ``/api/session``."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import select

from server.api.registry import api, parse_body, respond
from server.api.schemas import LoginBody, SessionOut
from server.core.crypto import verify_password
from server.edge.auth import principal, set_session_cookie
from server.services import audit
from server.services.context import services
from server.services.errors import ApiError
from server.services.ratelimit import login_limits
from server.services.sessions import COOKIE_NAME, Principal
from server.store.models import User


def session_out(request: web.Request, who: Principal) -> SessionOut:
    settings = services(request).settings
    return SessionOut(
        kind=who.kind,
        role=who.role,
        user_id=who.user_id,
        name=who.name,
        encounter_id=who.encounter_id,
        csrf_token=who.csrf_token,
        expires_at=who.expires_at,
        idle_minutes=settings.session_idle_minutes if who.is_staff else None,
    )


@api(
    "POST",
    "/api/session",
    summary="Log in with email and password",
    tag="session",
    body=LoginBody,
    response=SessionOut,
    auth="none",
    errors=(401, 422, 429),
)
async def login(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, LoginBody)
    svc = services(request)
    now = svc.clock.now()
    email = body.email.strip().lower()
    # Counted before the password is checked, so parallel guesses cannot all be verified;
    # given back below if it was the right password.
    limits = login_limits(email, request.remote)
    attempt = await svc.attempts.reserve(limits, now)
    if attempt.retry_after is not None:
        async with svc.db.begin() as s:
            await audit.record(s, request, None, "login", "session", outcome=audit.RATE_LIMITED)
        minutes = max(1, round(attempt.retry_after / 60))
        raise ApiError(
            429,
            "rate_limited",
            f"Too many failed attempts. Please wait {minutes} minute(s) and try again.",
            headers={"Retry-After": str(attempt.retry_after)},
        )
    async with svc.db.begin() as s:
        user = await s.scalar(select(User).where(User.email == email))
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, user.password_hash if user else None, body.password
        )
        if not ok or user is None or not user.active:
            # The reserved attempt stays counted: it was a failure.
            await audit.record(
                s,
                request,
                audit.Actor(
                    user.id if user else None,
                    None,
                    user.role if user else None,
                    request.remote,
                    None,
                ),
                "login",
                "session",
                outcome="failure",
            )
            failed = True
        else:
            failed = False
            old = request.cookies.get(COOKIE_NAME)
            if old:
                await svc.sessions.end(s, svc.sessions.hash(old))
            new = await svc.sessions.create_staff(s, user, now=now, address=request.remote)
            await audit.record(s, request, new.principal, "login", "session", outcome="success")
    if not failed:
        # The right password: this attempt does not count, and this address's earlier
        # mistypes for the account are forgiven. Other addresses' failures still count.
        await svc.attempts.release(attempt)
        await svc.attempts.clear(limits[0][0])
    if failed:
        raise ApiError(
            401, "bad_credentials", "That email and password do not match a staff login."
        )
    response = respond(session_out(request, new.principal))
    set_session_cookie(
        request, response, new.cookie_value, max_age=svc.settings.session_max_hours * 3600
    )
    return response


@api(
    "GET",
    "/api/session",
    summary="The current session and its CSRF token",
    tag="session",
    response=SessionOut,
    errors=(401,),
)
async def current(request: web.Request) -> web.StreamResponse:
    return respond(session_out(request, principal(request)))


@api("DELETE", "/api/session", summary="Log out", tag="session", status=204, errors=(401, 403))
async def logout(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    svc = services(request)
    async with svc.db.begin() as s:
        await svc.sessions.end(s, who.session_hash)
        await audit.record(s, request, who, "logout", "session")
    response = web.Response(status=204)
    response.del_cookie(COOKIE_NAME, path="/")
    return response

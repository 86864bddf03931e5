"""Who is asking, checked once per request: session cookie, idle timeout, CSRF, Origin."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.crypto import same
from server.services.context import services
from server.services.errors import ApiError, forbidden, unauthenticated
from server.services.sessions import COOKIE_NAME, Principal

PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
SESSION_PROBLEM: web.RequestKey[str] = web.RequestKey("session_problem", str)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Creating a session cannot require the token of a session that does not exist yet; the
# Origin check still guards these two against cross-site login.
CSRF_EXEMPT = frozenset({("POST", "/api/session"), ("POST", "/api/join")})


def client_address(request: web.Request) -> str | None:
    return request.remote


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    svc = services(request)
    unsafe = request.method in UNSAFE_METHODS
    origin = request.headers.get("Origin")
    if unsafe and origin is not None and origin.rstrip("/") not in svc.settings.origins:
        raise ApiError(403, "bad_origin", "Requests from this web site are not accepted.")
    request[PRINCIPAL] = None
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie and not request.path.startswith("/static/"):
        async with svc.db.begin() as s:
            loaded = await svc.sessions.load(s, cookie, now=svc.clock.now())
        if loaded == "expired":
            request[SESSION_PROBLEM] = "expired"
        elif loaded is not None:
            request[PRINCIPAL] = loaded
            if unsafe and (request.method, request.path) not in CSRF_EXEMPT:
                token = request.headers.get("X-CSRF-Token", "")
                if not token or not same(token, loaded.csrf_token):
                    raise ApiError(
                        403,
                        "csrf_failed",
                        "This request is missing its security token. "
                        "Reload the page and try again.",
                    )
    response = await handler(request)
    if request.get(SESSION_PROBLEM) == "expired" and request[PRINCIPAL] is None:
        response.del_cookie(COOKIE_NAME, path="/")
    return response


def principal(request: web.Request) -> Principal:
    """The caller, or 401 (saying whether the session expired)."""
    who: Principal | None = request.get(PRINCIPAL)
    if who is None:
        if request.get(SESSION_PROBLEM) == "expired":
            raise unauthenticated("session_expired", "Your session has ended. Please log in again.")
        raise unauthenticated()
    return who


def staff(request: web.Request, roles: Iterable[str] | None = None) -> Principal:
    """A logged-in staff member, optionally of one of ``roles``; else 401 or 403."""
    who = principal(request)
    if not who.is_staff:
        raise forbidden("This needs a staff login.")
    if roles is not None and who.role not in set(roles):
        raise forbidden()
    return who


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, value: str, max_age: int | None
) -> None:
    settings = services(request).settings
    response.set_cookie(
        COOKIE_NAME,
        value,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.is_https,
        max_age=max_age,
    )

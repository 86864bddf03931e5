"""Who is asking, checked once per request: client address, session cookie, idle timeout,
CSRF, Origin."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.crypto import same
from server.core.settings import IPNetwork
from server.services.context import services
from server.services.errors import ApiError, forbidden, unauthenticated
from server.services.sessions import COOKIE_NAME, Principal

PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
SESSION_PROBLEM: web.RequestKey[str] = web.RequestKey("session_problem", str)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Creating a session cannot require the token of a session that does not exist yet; the
# Origin check still guards these two against cross-site login.
CSRF_EXEMPT = frozenset({("POST", "/api/session"), ("POST", "/api/join")})


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it (``[::1]:443`` and ``10.0.0.1:443`` lose the port);
    IPv4 mapped into IPv6 becomes plain IPv4. None when it is not an address."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def forwarded_client(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]
) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the
    rightmost X-Forwarded-For address that is not a trusted proxy.

    Each proxy appends the address it was reached from, so reading from the right, every
    address up to the first untrusted one was written by a proxy we trust; anything to its
    left was written by the client and may be forged. If every address is a trusted proxy,
    the leftmost is the answer; an entry that is not an address stops the walk at the last
    trusted hop.
    """
    peer_ip = _ip(peer) if peer else None
    if peer_ip is None or not any(peer_ip in net for net in trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break
        client = ip
        if not any(ip in net for net in trusted):
            break
    return str(client)


def client_address(request: web.Request) -> str | None:
    """Who sent this request, believing X-Forwarded-For only from HEARTH_TRUSTED_PROXIES.

    ``forwarded_address`` calls this once per request and hands everything after it a request
    whose ``remote`` is the answer: handlers, rate limits, sessions and the audit log read
    ``request.remote``. (Asking again on that request would walk the header a second time.)
    """
    return forwarded_client(
        request.remote,
        request.headers.getall("X-Forwarded-For", ()),
        services(request).settings.trusted_proxy_networks,
    )


@web.middleware
async def forwarded_address(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: replace the peer address by the client's when a trusted proxy forwarded."""
    address = client_address(request)
    if address is not None and address != request.remote:
        request = request.clone(remote=address)
    return await handler(request)


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

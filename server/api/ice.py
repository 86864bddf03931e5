"""``GET /api/ice-servers``: the ICE servers for this session's peer connections, with its own
time-limited TURN credential; the visit pages call it before the credential runs out."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel

from server.api.registry import api
from server.edge.auth import principal
from server.services.context import services
from server.services.ice import ice_servers_for


class IceServerOut(BaseModel):
    """One RTCIceServer, as a browser's RTCPeerConnection takes it."""

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class IceServersOut(BaseModel):
    ice_servers: list[IceServerOut]
    # When the TURN credential above stops working; absent when there is none to renew.
    expires_at: dt.datetime | None = None


@api(
    "GET",
    "/api/ice-servers",
    summary="ICE servers for this session's peer connections, with a fresh TURN credential",
    tag="visits",
    response=IceServersOut,
    errors=(401, 403),
)
async def get_ice_servers(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    svc = services(request)
    found = ice_servers_for(svc.settings, who, svc.clock.now())
    out = IceServersOut.model_validate(
        {"ice_servers": found.servers, "expires_at": found.expires_at}
    )
    # Absent rather than null: a browser reads a null username as the text "null".
    response = web.json_response(out.model_dump(mode="json", exclude_none=True))
    # A credential is this session's own: no cache may keep it or hand it to another.
    response.headers["Cache-Control"] = "no-store"
    return response

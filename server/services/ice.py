"""The ICE servers a browser's peer connection uses, with its own time-limited TURN credential.

Only the people who take part in a visit get them: a clinician or coordinator signed in, or a
family session. Each session has its own TURN username, ``<expiry>:<opaque id>``, where the
opaque id is a keyed hash of the session (so the TURN server's logs can be tied to a session by
whoever holds the server's secret, and to nobody's name, patient or user id by anyone else).
The credential is valid for ``HEARTH_TURN_CREDENTIAL_MINUTES``; a page asks for a fresh one
before it runs out, so a long visit keeps a working TURN credential. The shared secret itself
never leaves the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from server.core.crypto import keyed_hash
from server.core.settings import Settings
from server.core.turn import turn_password, turn_username
from server.services.access import CLINICAL
from server.services.errors import ApiError
from server.services.sessions import Principal

# Long enough that two sessions never share one (2**80), short enough for a log line.
OPAQUE_ID_HEX = 20


@dataclass(frozen=True)
class IceServers:
    servers: list[dict[str, Any]]
    expires_at: dt.datetime | None  # when the TURN credential in ``servers`` stops working


def may_use_turn(who: Principal) -> bool:
    """Someone who takes part in visits: a family session, a clinician or a coordinator."""
    return who.kind in ("family", "guest") or (who.is_staff and who.role in CLINICAL)


def turn_opaque_id(settings: Settings, who: Principal) -> str:
    assert settings.secret_key is not None
    return keyed_hash(settings.secret_key, f"turn:{who.session_hash}")[:OPAQUE_ID_HEX]


def ice_servers_for(settings: Settings, who: Principal, now: dt.datetime) -> IceServers:
    """The configured ICE servers, plus TURN with this session's own credential when set up.

    Refused (403) for a session that takes part in no visit (a scheduler, an admin).
    """
    if not may_use_turn(who):
        raise ApiError(403, "forbidden", "Only the people in a visit need its media servers.")
    servers = [dict(server) for server in settings.ice_server_list]
    urls = settings.turn_url_list
    if not urls or not settings.turn_secret:
        return IceServers(servers, None)
    expires_at = now + dt.timedelta(minutes=settings.turn_credential_minutes)
    username = turn_username(expires_at, turn_opaque_id(settings, who))
    servers.append(
        {
            "urls": list(urls),
            "username": username,
            "credential": turn_password(settings.turn_secret, username),
        }
    )
    return IceServers(servers, expires_at.replace(microsecond=0))

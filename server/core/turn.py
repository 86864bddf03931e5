"""Time-limited TURN credentials: coturn's shared-secret scheme (``use-auth-secret``).

The TURN server and Hearth share one secret and nothing else. Hearth hands a browser

    username   = "<expiry as Unix time>:<opaque id>"
    credential = base64(HMAC-SHA1(secret, username))

and the TURN server, recomputing the HMAC from the username it is given, accepts the pair until
the expiry the username names. No per-user state on the TURN server, and a credential that
leaks stops working by itself (draft-uberti-behave-turn-rest-00, as coturn implements it).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac


def turn_username(expires_at: dt.datetime, opaque_id: str) -> str:
    """The username of a credential valid until ``expires_at`` (whole seconds, rounded down)."""
    if ":" in opaque_id:
        raise ValueError("the opaque id of a TURN username cannot contain ':'")
    return f"{int(expires_at.timestamp())}:{opaque_id}"


def turn_password(secret: str, username: str) -> str:
    """The credential the TURN server expects for ``username`` under the shared secret."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")

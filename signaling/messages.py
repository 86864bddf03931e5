"""Reading fields out of client messages, with errors that name the field."""

from __future__ import annotations

from typing import Any

from signaling.errors import SignalingError

# The largest whole number a message may carry. Ids are the server's INTEGER columns (signed
# 32 bits on PostgreSQL): a larger one names nothing, and a database refuses to compare with it.
MAX_INT = 2**31 - 1


def require_field(data: Any, key: str, kind: type) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise SignalingError("bad_request", f"The message needs a {key!r} field.")
    value = data[key]
    if kind is int and (
        isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT
    ):
        raise SignalingError(
            "bad_request", f"The field {key!r} must be a whole number from 0 to {MAX_INT}."
        )
    if not isinstance(value, kind):
        raise SignalingError("bad_request", f"The field {key!r} must be a {kind.__name__}.")
    return value


def require_sdp(data: Any, expected_type: str) -> str:
    sdp: str = require_field(data, "sdp", str)
    if data.get("type") != expected_type:
        raise SignalingError("bad_request", f"The description's type must be {expected_type!r}.")
    return sdp

"""Signalling errors: each becomes an ``{"error", "code"}`` acknowledgement, with any details
the caller can act on beside them (for example when a waiting room opens)."""

from __future__ import annotations

import datetime as dt


class SignalingError(Exception):
    def __init__(self, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def ack(self) -> dict[str, str]:
        return {**self.details, "error": self.message, "code": self.code}


class LobbyNotOpenError(SignalingError):
    """The caller may enter this visit, but not yet: its waiting room opens at ``opens_at``.

    Raised by a ``Gate`` from ``room_role``. The ack carries ``opens_at`` as an ISO 8601 time
    in UTC, for the page to say in the family's own words and time zone when to come back.
    """

    def __init__(self, opens_at: dt.datetime) -> None:
        at = opens_at.astimezone(dt.UTC).replace(microsecond=0)
        super().__init__(
            "too_early",
            "The waiting room for this visit is not open yet.",
            opens_at=at.isoformat().replace("+00:00", "Z"),
        )
        self.opens_at = opens_at

"""Signalling errors: each becomes an ``{"error", "code"}`` acknowledgement."""

from __future__ import annotations


class SignalingError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def ack(self) -> dict[str, str]:
        return {"error": self.message, "code": self.code}

"""Errors a use case refuses with: an HTTP-style status, a sentence a person can read and
a machine code. ``server.edge.errors`` turns them (and every other exception) into responses."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError


class ApiError(Exception):
    """An error with an HTTP status, a human sentence and a machine slug."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.field = field


def not_found(what: str = "That record") -> ApiError:
    # Denied and nonexistent look the same, so nobody can probe which ids exist.
    return ApiError(404, "not_found", f"{what} was not found.")


def forbidden(message: str = "Your role may not do this.") -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthenticated(code: str = "not_logged_in", message: str = "Please log in.") -> ApiError:
    return ApiError(401, code, message)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if field:
        body["field"] = field
    return body


def describe_validation(exc: PydanticValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    kind = first.get("type", "")
    if kind == "extra_forbidden":
        return f"The field {loc!r} is not accepted here.", loc
    if kind == "missing":
        return f"The field {loc!r} is required.", loc
    message = first.get("msg", "is invalid")
    return (
        f"The field {loc!r} is invalid: {message}." if loc else f"Invalid request: {message}."
    ), loc or None

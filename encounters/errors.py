"""The domain's error base class.

Messages say what failed, the offending value where it is not patient data, and
what was expected. ``code`` is a short slug the API returns beside the message.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the clinical domain refused a value or an event."""

    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


class ValidationError(DomainError):
    """A value is malformed or out of range (HTTP 422)."""

    code = "invalid_value"


class ConflictError(DomainError):
    """An event is not allowed in the current state (HTTP 409)."""

    code = "conflict"


class DataFileError(DomainError):
    """A data file (template, instrument, scenario) is malformed.

    Carries the file name and, where known, the line, so the author can fix it.
    """

    code = "bad_data_file"

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line

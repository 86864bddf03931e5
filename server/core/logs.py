"""Logging set-up: context ids on every record, never patient data.

Handlers log ids (request, encounter, peer) and never names, dates of birth, notes,
tokens or reading values; ``tests/integration/test_no_phi_in_logs.py`` checks this.
"""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
encounter_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "encounter_id", default=None
)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.encounter_id = encounter_id_var.get() or "-"
        return True


# Libraries that log statement parameters (patient names, dates of birth) at DEBUG: held at
# WARNING whatever level an operator picks for everything else.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")


def protect_logs() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s enc=%(encounter_id)s] %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    protect_logs()
    # aiohttp's access log prints the full path, and a family path carries the join token
    # that must never reach a log: Hearth writes its own access line without it.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

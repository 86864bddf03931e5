"""Shared test set-up: the strict-services switch and the fake clock."""

from __future__ import annotations

import datetime as dt
import os

import pytest

# In CI a test that cannot reach a service it needs (PostgreSQL, Chromium) must fail,
# not skip: a green run that skipped the database tests proves nothing.
STRICT = os.environ.get("CI") == "true" or os.environ.get("HEARTH_STRICT_SERVICES") == "1"


def missing_service(reason: str) -> None:
    if STRICT:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **kwargs: float) -> None:
        self._now += dt.timedelta(**kwargs)

    def set(self, now: dt.datetime) -> None:
        self._now = now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))

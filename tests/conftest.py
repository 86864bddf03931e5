"""Shared test set-up: the strict-services switch, the Hypothesis profiles and the fake clock."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, settings

# In CI a test that cannot reach a service it needs (PostgreSQL, Chromium) must fail,
# not skip: a green run that skipped the database tests proves nothing.
STRICT = os.environ.get("CI") == "true" or os.environ.get("HEARTH_STRICT_SERVICES") == "1"

# The pytest-xdist worker this process is ("gw0", "gw1", ...), or "main" when run without it:
# part of the name of anything a worker must not share (databases, Redis channels).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# Property tests: few examples while developing, many in CI. A test sets only what it must
# (deadline=None where an example may be slow), never max_examples, so the profile decides.
# Timing checks are off: the suite runs in parallel on shared cores, where a stalled example
# says nothing about the code.
settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(
    os.environ.get("HEARTH_HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI") == "true" else "dev")
)


def missing_service(reason: str) -> None:
    if STRICT:
        pytest.fail(f"required service missing in CI: {reason}")
    pytest.skip(reason)


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In strict runs any skip fails the run, whichever way it was skipped. Under xdist the
    controller sees every worker's reports, so it decides; the workers do not."""
    if STRICT and _skipped and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STRICT and _skipped and not hasattr(terminalreporter.config, "workerinput"):
        terminalreporter.write_line(
            f"strict services: {len(_skipped)} skipped test(s) fail this run: "
            + ", ".join(_skipped[:10]),
            red=True,
        )


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

"""Real headless Chromium (Debian's) driven by Playwright against a running Hearth.

Debian's Chromium with Playwright's client, fake camera and microphone, loopback ICE
(docs/testing.md). The server runs in-process on a free port with the
real clock, on a fresh SQLite file per test.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import update

from server.app.factory import create_app
from server.core.clock import SystemClock
from server.core.settings import Settings
from server.services.context import SERVICES
from server.store.migrate import upgrade
from server.store.models import User
from tests.builders import World
from tests.conftest import missing_service

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
# Every wait in a browser test has a bound: a hung page fails the test, it does not stall.
# Wait with locators and expect(), not page.wait_for_function(): Hearth's CSP forbids eval,
# which wait_for_function needs, and the tests must run under the real CSP.
TIMEOUT_MS = 15_000


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def daytime_zone(now: dt.datetime) -> str:
    """A zone where it is between 03:00 and 19:00 now, so a visit an hour or two away and the
    first free slot both fall on the same local day."""
    for zone in (
        "UTC",
        "America/New_York",
        "America/Los_Angeles",
        "Pacific/Honolulu",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Europe/Berlin",
    ):
        if 3 <= now.astimezone(ZoneInfo(zone)).hour < 19:
            return zone
    raise AssertionError("some zone always has daytime")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run one after another on one xdist worker (`--dist loadgroup`) while the
    other workers take the rest: two Chromiums with fake camera streams on two cores starve
    each other's pages into timeouts."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(autouse=True)
def grouped_under_xdist(request: pytest.FixtureRequest) -> None:
    """A pytest or xdist upgrade that breaks the grouping fails the browser tests, rather than
    silently running them side by side (see the pytest pin in pyproject.toml)."""
    if getattr(request.config.option, "loadgroup", False) and "@" not in request.node.nodeid:
        pytest.fail("--dist loadgroup did not put this browser test in the e2e group")


@pytest.fixture(scope="session")
def e2e_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _bound_socket() -> socket.socket:
    """A socket on a free loopback port, kept bound until the server listens on it: a port
    only looked up and let go could be taken by another xdist worker in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class LiveServer:
    url: str
    app: web.Application
    world: World


class _Client:
    """The bits of aiohttp's TestClient that World and Agent use, for a live server."""

    def __init__(self, app: web.Application, base: str) -> None:
        self.app = app
        self._base = base

    def make_url(self, path: str) -> str:
        return self._base + path


@pytest.fixture
def scenarios_dir() -> Path | None:
    """Extra drill scenarios for the live server (HEARTH_SCENARIOS_DIR); a test module that
    needs a quick scenario overrides this fixture."""
    return None


@pytest.fixture
async def live_server(
    tmp_path: Path, e2e_template: Path, scenarios_dir: Path | None
) -> AsyncIterator[LiveServer]:
    db_path = tmp_path / "hearth.db"
    shutil.copy(e2e_template, db_path)
    sock = _bound_socket()
    port = int(sock.getsockname()[1])
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=f"sqlite:///{db_path}",
        secret_key="e2e-secret-key",
        demo=True,  # the family page offers the simulator in demo mode
        public_url=url,
        var_dir=str(tmp_path / "var"),
        port=port,
        clinic_phone="+44 20 7946 0000",
        scenarios_dir=str(scenarios_dir) if scenarios_dir else None,
        media_workers="0",  # media in the test's process, on its loopback ICE
    )
    app = create_app(settings, clock=SystemClock())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    client = _Client(app, url)
    world = await World.build(client, app[SERVICES].db, _NowClock())
    # Staff pages show "today" in the user's zone; the seeded visits (20 minutes away) must
    # fall on it whatever the hour the tests run at.
    zone = daytime_zone(dt.datetime.now(dt.UTC))
    async with app[SERVICES].db.begin() as s:
        await s.execute(update(User).values(time_zone=zone))
    try:
        yield LiveServer(url, app, world)
    finally:
        await world.close()
        await runner.cleanup()


class _NowClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        missing_service("Chromium: apt-get install chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def new_page(browser: Any) -> AsyncIterator[Any]:
    """Opens pages in separate contexts: each is a different person with their own cookies."""
    contexts: list[Any] = []

    async def open_page(**options: Any) -> Any:
        context = await browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server gathers 127.0.0.1, which Chromium uses with --allow-loopback-in-peer-
    connection (docs/testing.md, "WebRTC on loopback")."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])

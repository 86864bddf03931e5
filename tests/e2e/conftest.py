"""Real headless Chromium (Debian's) driven by Playwright against a running Hearth.

Debian's Chromium with Playwright's client, fake camera and microphone, loopback ICE
(docs/testing.md). The server runs in-process on a free port with the
real clock, on a fresh SQLite file per test. One Chromium serves all of a worker's browser
tests (starting one costs seconds); each test's people get their own browser contexts, with
their own cookies, storage and service workers, closed when the test ends.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import expect
from sqlalchemy import update

from server.app.factory import create_app
from server.core.clock import SystemClock
from server.core.settings import Settings
from server.services.context import SERVICES
from server.store.migrate import upgrade
from server.store.models import User
from tests.builders import World, cheap_password_hashing
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
# expect() has a bound of its own (5 s unless told), which a loaded CI machine can exceed
# while a page waits for its socket or its peer connection: the same bound as every other wait.
expect.set_options(timeout=TIMEOUT_MS)


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
    """Browser tests that hold calls run one after another on one xdist worker (`--dist
    loadgroup`) while the other workers take the rest: two Chromiums with fake camera streams
    on two cores starve each other's pages into timeouts. Modules marked ``no_media`` open
    no call; they form a second group, with its own Chromium, beside the calls."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            group = "e2e-pages" if item.get_closest_marker("no_media") else "e2e"
            item.add_marker(pytest.mark.xdist_group(group))
            # On the worker's one event loop, where its one Chromium lives (`chromium`).
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


@pytest.fixture(autouse=True)
def grouped_under_xdist(request: pytest.FixtureRequest) -> None:
    """A pytest or xdist upgrade that breaks the grouping fails the browser tests, rather than
    silently running them side by side (see the pytest pin in pyproject.toml)."""
    if getattr(request.config.option, "loadgroup", False) and "@" not in request.node.nodeid:
        pytest.fail("--dist loadgroup did not put this browser test in the e2e group")


@pytest.fixture(autouse=True)
def cheap_passwords() -> Iterator[None]:
    """See ``cheap_password_hashing``. Per test: a session fixture would stay in force for
    the unit tests a worker runs afterwards, one of which checks the real parameters."""
    with cheap_password_hashing():
        yield


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


@pytest_asyncio.fixture(loop_scope="session")
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


def small_camera(path: Path) -> Path:
    """A 160x120 clip for Chromium's fake camera (YUV4MPEG2, which it loops): its own
    pattern is 640x480, and every page in a call encodes its camera and decodes everyone
    else's in software. Each frame is a different shade, so the video keeps changing."""
    width, height, count = 160, 120, 15
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(count):
            out.write(b"FRAME\n")
            out.write(bytes([60 + 8 * n]) * (width * height))  # luma
            out.write(bytes([90]) * (width * height // 4))  # blue difference
            out.write(bytes([170]) * (width * height // 4))  # red difference
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """Playwright and one headless Chromium for the whole run (see ``browser``)."""
    path = chromium_path()
    if path is None:
        missing_service("Chromium: apt-get install chromium")
    from playwright.async_api import async_playwright

    camera = small_camera(tmp_path_factory.mktemp("camera") / "camera.y4m")
    async with async_playwright() as pw:
        running = _Chromium(pw, path, [*FLAGS, f"--use-file-for-fake-video-capture={camera}"])
        try:
            yield running
        finally:
            await running.close()


class _Chromium:
    def __init__(self, pw: Any, path: str, flags: list[str]) -> None:
        self.pw, self.path, self.flags, self.browser = pw, path, flags, None

    async def connected(self) -> Any:
        """The running Chromium, started again if an earlier test left it crashed."""
        if self.browser is None or not self.browser.is_connected():
            self.browser = await self.pw.chromium.launch(
                executable_path=self.path, headless=True, args=self.flags
            )
        return self.browser

    async def close(self) -> None:
        if self.browser is not None and self.browser.is_connected():
            await self.browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: _Chromium) -> AsyncIterator[Any]:
    """The shared Chromium. A test opens contexts in it and closes them (``new_page`` does);
    a context left open by a failed test is closed here, so the next test starts clean."""
    running = await chromium.connected()
    before = set(running.contexts)
    yield running
    for context in running.contexts:
        if context not in before:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
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

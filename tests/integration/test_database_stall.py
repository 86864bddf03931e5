"""A PostgreSQL server that stops answering gives a 503 within 5 s, and Hearth recovers once
it answers again. Between the app and PostgreSQL runs a TCP relay that can be frozen: it keeps
every connection open and accepts new ones, but forwards no byte, as a stalled server or a
network that drops packets silently does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from server.core.settings import Settings
from tests.builders import World

# PostgreSQL only: SQLite has no connection to stall. (Without PostgreSQL these tests skip,
# or fail in CI, as every PostgreSQL variant does.)
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

# What the issue asks for; the default HEARTH_DATABASE_TIMEOUT_SECONDS (4) stays under it.
LIMIT_S = 5.0


class FreezableRelay:
    """Forwards TCP between clients and ``upstream`` until frozen; while frozen it holds
    what it reads, and passes it on once thawed."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self.writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self.flowing.wait()
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def close(self) -> None:
        self.thaw()
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        if self.server is not None:
            await self.server.wait_closed()


@pytest.fixture
async def relay(database_url: str) -> AsyncIterator[tuple[FreezableRelay, str]]:
    url = make_url(database_url)
    relay = FreezableRelay(url.host or "127.0.0.1", url.port or 5432)
    port = await relay.start()
    yield relay, url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    await relay.close()


@pytest.fixture
def settings(relay: tuple[FreezableRelay, str], tmp_path: Path) -> Settings:
    """The app reaches PostgreSQL through the relay, with the default time limits."""
    return Settings(
        database_url=relay[1],
        secret_key="test-secret-key-not-for-production",
        public_url="http://hearth.test",
        var_dir=str(tmp_path / "var"),
        media_workers="0",
    )


@pytest.mark.parametrize("connection", ["pooled", "new"])
async def test_a_stalled_database_gives_503_within_5_s_and_then_recovers(
    client, world: World, db, relay, connection: str
) -> None:
    freezer, _url = relay
    nurse = await world.agent("clin_a")
    status, _body = await nurse.call("GET", "/api/patients")
    assert status == 200
    if connection == "new":
        # No idle connection left: the request has to connect through the stalled relay.
        await db.engine.dispose()
    freezer.freeze()
    started = time.monotonic()
    status, body = await nurse.call("GET", "/api/patients")
    elapsed = time.monotonic() - started
    freezer.thaw()
    assert status == 503, body
    assert body["code"] == "database_unavailable"
    assert elapsed < LIMIT_S, f"503 after {elapsed:.2f} s"
    # Answering again: the next request works, on a connection that is not stuck.
    started = time.monotonic()
    status, body = await nurse.call("GET", "/api/patients")
    assert status == 200, body
    assert time.monotonic() - started < LIMIT_S


async def test_a_statement_stalled_midway_fails_within_the_limit(
    client, world: World, db, relay
) -> None:
    # The connection is dropped, not rolled back: a ROLLBACK on it would wait as long again.
    freezer, _url = relay

    async def slow_statement() -> None:
        async with db.begin() as s:
            await s.execute(text("SELECT pg_sleep(0.5)"))

    started = time.monotonic()
    task = asyncio.create_task(slow_statement())
    await asyncio.sleep(0.2)
    freezer.freeze()
    with pytest.raises(TimeoutError):
        await task
    elapsed = time.monotonic() - started
    freezer.thaw()
    assert elapsed < LIMIT_S, f"gave up after {elapsed:.2f} s"
    async with db.begin() as s:
        assert await s.scalar(text("SELECT 1")) == 1


async def test_postgresql_itself_stops_a_statement_over_the_limit(client, world: World, db) -> None:
    async with db.begin() as s:
        limit = await s.scalar(text("SHOW statement_timeout"))
    assert limit == "4s"

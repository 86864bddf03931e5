"""The app on a real database: SQLite always, PostgreSQL when HEARTH_TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from server.app.factory import create_app
from server.core.settings import Settings
from server.services.context import SERVICES
from server.store.db import Database, to_async_url
from server.store.migrate import upgrade
from server.store.models import Base
from tests.builders import World, cheap_password_hashing, close_open_agents
from tests.conftest import WORKER, FakeClock, missing_service

PG_URL = os.environ.get("HEARTH_TEST_DATABASE_URL")
TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]
EMPTY_POSTGRES = (
    "DO $$ DECLARE s record; BEGIN "
    + " ".join(f'DELETE FROM "{table}";' for table in TABLES)
    + " FOR s IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
    + " LOOP EXECUTE format('ALTER SEQUENCE %I RESTART', s.sequencename); END LOOP; END $$"
)


async def _admin_execute(url: str, *statements: str) -> None:
    """Run ``statements`` in turn on one connection, each committed at once."""
    engine = create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: isolation for the price of a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _drop_leftovers(url: str) -> None:
    """Drop what killed runs on this machine left behind: databases named after a test
    process that is gone (hearth_test_<worker>_<pid>_<random>) and that nobody is using."""
    if make_url(url).host not in (None, "127.0.0.1", "localhost", "::1"):
        return  # another machine's process ids mean nothing here
    engine = create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            names = await conn.scalars(
                text(r"SELECT datname FROM pg_database WHERE datname LIKE 'hearth\_test\_%'")
            )
            for name in names.all():
                parts = name.split("_")
                if len(parts) != 5 or not parts[3].isdigit() or _alive(int(parts[3])):
                    continue
                with contextlib.suppress(DBAPIError):  # in use after all, or just dropped
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run, migrated from empty to head. Each xdist
    worker has its own, named after its process (so parallel runs on one server never meet,
    and a later run can tell a killed run's leftovers from a live run's database)."""
    if not PG_URL:
        yield None
        return
    name = f"hearth_test_{WORKER}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_drop_leftovers(PG_URL))
        asyncio.run(_admin_execute(PG_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - reported as a missing service
        pytest.fail(f"cannot create a test database at HEARTH_TEST_DATABASE_URL: {exc}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_admin_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def cheap_passwords() -> Iterator[None]:
    """See ``cheap_password_hashing``. Per test: a session fixture would stay in force for
    the unit tests a worker runs afterwards, one of which checks the real parameters."""
    with cheap_password_hashing():
        yield


@pytest.fixture(scope="session", autouse=True)
def own_redis_channel() -> Iterator[str]:
    """Socket.IO's Redis manager publishes on one channel, "socketio" unless told otherwise,
    and Redis pub/sub ignores the database number: every app node of every worker, and of any
    other run on the same Redis, would hear every other's emits. Each worker gets its own."""
    channel = f"hearth-test-{WORKER}-{uuid.uuid4().hex[:10]}"
    init = socketio.AsyncRedisManager.__init__

    def own_channel(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) < 2:
            kwargs.setdefault("channel", channel)
        init(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socketio.AsyncRedisManager, "__init__", own_channel)
        yield channel


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "hearth.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    if url is None:
        missing_service("PostgreSQL: set HEARTH_TEST_DATABASE_URL")
    # Emptied with DELETE, and the sequences restarted, in one round trip: on tables this
    # small that takes milliseconds where TRUNCATE takes a few hundred (it makes new files for
    # every table), and it runs before each of several hundred tests. The audit table refuses
    # both (its triggers), so the reset runs with this connection's triggers (foreign keys
    # too) off, which only a superuser may ask (the test server's postgres).
    asyncio.run(_admin_execute(url, "SET session_replication_role = replica", EMPTY_POSTGRES))
    yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
        public_url="http://hearth.test",
        var_dir=str(tmp_path / "var"),
        clinic_phone="+44 20 7946 0000",
        media_workers="0",  # media in the test's process (test_media_workers.py: the pool)
        # The suite runs several servers and databases on two shared cores, where a write can
        # wait behind others' commits (the audit chain's lock) for longer than production's
        # 4 s. The time limits themselves are tested at their default in
        # test_database_stall.py, which makes its own settings.
        database_timeout_seconds=15,
    )


@pytest.fixture
async def client(aiohttp_client, settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    app = create_app(settings, clock=clock)
    # As in production (server/app/cli.py): aiohttp's own access log prints full paths, which
    # for a family link hold the token; Hearth logs route templates instead.
    server = TestServer(app)
    await server.start_server(access_log=None)
    return await aiohttp_client(server)


@pytest.fixture
async def db(client) -> Database:  # type: ignore[no-untyped-def]
    return client.app[SERVICES].db


@pytest.fixture
async def world(client, db: Database, clock: FakeClock) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    """A small clinic: two care teams, their patients, a visit each, one staff of each role."""
    built = await World.build(client, db, clock)
    yield built
    await built.close()


@pytest.fixture(autouse=True)
async def close_agents() -> AsyncIterator[None]:
    """Agents a test made itself (a second node's, a restarted app's) are closed with it."""
    yield
    await close_open_agents()


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """ICE on 127.0.0.1 only (docs/testing.md, "WebRTC on loopback"): aioice skips loopback by
    default, which leaves a sandbox with only `lo` without a single candidate."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])

"""The database: URL translation, engine set-up and the unit-of-work helper."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import event, exc, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.core.settings import Settings
from server.store.audit_chain import HOLDS_WRITE_LOCK
from server.store.group_commit import GroupCommit

# How long one statement may run, and how long Hearth waits to connect, for a free pooled
# connection or for any answer (HEARTH_DATABASE_TIMEOUT_SECONDS). Its default is under 5 s,
# so that a stalled PostgreSQL gives a 503 within 5 s rather than a hung request.
DEFAULT_TIMEOUT_S: float = Settings.database_timeout_seconds


class DatabaseUnavailableError(Exception):
    """The database did not answer; the API turns this into a 503."""


class DatabaseFault(enum.Enum):
    """What a database error means for the request that met it."""

    CONFLICT = "conflict"  # a constraint refused the change: another write came first
    BAD_VALUE = "bad_value"  # a value the database cannot hold (out of range, wrong kind)
    UNAVAILABLE = "unavailable"  # not answering, too slow, or failing for its own reasons


# SQLSTATE classes (the first two characters) of PostgreSQL's errors.
_SQLSTATE_FAULTS = {"23": DatabaseFault.CONFLICT, "22": DatabaseFault.BAD_VALUE}


def database_fault(error: BaseException) -> DatabaseFault | None:
    """What ``error`` means if it came from the database or its driver; None if it did not.

    asyncpg's errors reach SQLAlchemy mostly as its generic ``Error``, so PostgreSQL's SQLSTATE
    decides where SQLAlchemy's class does not: 23 integrity, 22 data. Everything else from the
    database (connection lost, timeouts, statement_timeout's 57014, too many connections,
    serialization failures, and bugs in a query alike) is reported as unavailable: the client
    can do nothing about it but try again later.
    """
    if isinstance(error, exc.IntegrityError):
        return DatabaseFault.CONFLICT
    if isinstance(error, exc.DataError):
        return DatabaseFault.BAD_VALUE
    if isinstance(error, exc.DBAPIError):
        sqlstate = sqlstate_of(error) or ""
        return _SQLSTATE_FAULTS.get(sqlstate[:2], DatabaseFault.UNAVAILABLE)
    if isinstance(
        error,
        DatabaseUnavailableError
        | exc.TimeoutError  # no pooled connection came free within pool_timeout
        | exc.DisconnectionError
        | ConnectionError
        | TimeoutError,  # asyncpg's connect timeout and command_timeout
    ):
        return DatabaseFault.UNAVAILABLE
    return None


def is_item_fault(error: BaseException) -> bool:
    """Whether a batch that failed with ``error`` may have failed for one item's sake (a
    conflict or a value the database refused), so that its items are worth writing again one
    by one; not when the database is unavailable, which fails them all alike."""
    return database_fault(error) in (DatabaseFault.CONFLICT, DatabaseFault.BAD_VALUE)


def sqlstate_of(error: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE code of a database error, when it has one: safe to log, since it
    names the kind of error and never the data."""
    orig = getattr(error, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def to_async_url(url: str) -> str:
    """Turn a URL as SQLAlchemy writes it into one with Hearth's async driver.

    ``sqlite:///var/x.db`` → ``sqlite+aiosqlite:///var/x.db``;
    ``postgresql://u@h/db`` (or ``postgres://``) → ``postgresql+asyncpg://u@h/db``.
    """
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off: it cannot begin IMMEDIATE and
    # it breaks SAVEPOINT. Hearth emits BEGIN itself (_begin_immediate, _begin_deferred).
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the writer; synchronous=FULL makes an acknowledged write
    # survive a power cut or kill -9; foreign keys are off by default
    # in SQLite; busy_timeout waits for the writer instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_reader(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A reader that tried to write would become the second writer this design avoids.
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    # The write lock is taken when the unit of work begins, not at its first write. A
    # transaction that starts reading and then writes (every audited request does) fails at
    # once with SQLITE_BUSY, without waiting, when another connection committed in between;
    # begun IMMEDIATE, it waits its turn instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    # The audit chain then needs no statement of its own to take the lock.
    conn.info[HOLDS_WRITE_LOCK] = True


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


# A unit of work on SQLite waits this long for the one writer connection before the request
# is answered "database not answering" (503). Units hold it for milliseconds; this covers a
# long queue of them, and the database's own busy_timeout covers another process.
SQLITE_WRITER_WAIT_S = 30.0
# Connections for units that only read, beside the writer (WAL lets them).
SQLITE_READERS = 4


def _drop_stalled_connection(context: ExceptionContext) -> None:
    # asyncpg's command_timeout fired: the server or the network has stalled. The connection
    # is thrown away rather than rolled back, since a ROLLBACK on it would wait as long again.
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


def _cut_stalled_connection(
    dbapi_connection: Any, _record: Any, error: BaseException | None
) -> None:
    # A connection given up on for not answering in time (a statement, or the pool's
    # pre-ping) is cut at once: SQLAlchemy would first try a polite close, which waits up to
    # 2 s more for the server that has just failed to answer.
    if isinstance(error, TimeoutError):
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None:
            driver.terminate()


def create_engine(url: str, *, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> AsyncEngine:
    """The engine for ``url``. ``timeout_s`` bounds every wait on PostgreSQL: connecting, a
    free pooled connection, the pre-ping and each statement (asyncpg's command_timeout and
    the server's statement_timeout). None lifts the statement limit, for migrations, which
    may rewrite a large table; the waits for a connection keep the default.

    Bound parameters never appear in an error's text (``hide_parameters``): they are patient
    data, and an error is logged."""
    async_url = to_async_url(url)
    _ensure_sqlite_dir(async_url)
    if async_url.startswith("sqlite"):
        return _sqlite_engine(async_url, writer=True)
    wait_s = timeout_s or DEFAULT_TIMEOUT_S
    connect_args: dict[str, Any] = {"timeout": wait_s}
    if timeout_s is not None:
        # The pre-ping runs with the command_timeout too: a stalled server fails it in time.
        connect_args["command_timeout"] = timeout_s
        connect_args["server_settings"] = {"statement_timeout": str(round(timeout_s * 1000))}
    engine = create_async_engine(
        async_url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=wait_s,
        hide_parameters=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "handle_error", _drop_stalled_connection)
    event.listen(engine.sync_engine, "invalidate", _cut_stalled_connection)
    return engine


def _sqlite_engine(async_url: str, *, writer: bool) -> AsyncEngine:
    """SQLite has one writer at a time. Hearth's writer engine is one connection, every unit
    of work begun IMMEDIATE on it, so writers queue in the pool (first come, first served)
    instead of colliding in the database; readers have connections of their own."""
    engine = create_async_engine(
        async_url,
        connect_args={"timeout": 5},
        hide_parameters=True,
        pool_size=1 if writer else SQLITE_READERS,
        max_overflow=0,
        pool_timeout=SQLITE_WRITER_WAIT_S,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if writer:
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    else:
        event.listen(engine.sync_engine, "connect", _sqlite_reader)
        event.listen(engine.sync_engine, "begin", _begin_deferred)
    return engine


BatcherT = TypeVar("BatcherT", bound="GroupCommit[Any, Any]")


class Database:
    """Owns the engine and hands out units of work."""

    def __init__(self, url: str, *, timeout_s: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self.engine = create_engine(url, timeout_s=timeout_s)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Units that only read: on SQLite beside the one writer, on PostgreSQL the same pool.
        self.read_engine = (
            _sqlite_engine(to_async_url(url), writer=False)
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._batchers: dict[str, GroupCommit[Any, Any]] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any exception."""
        async with self.sessionmaker.begin() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads (and writes no audit row): it never waits for the
        writer."""
        async with self._read_sessions.begin() as session:
            yield session

    def batcher(self, name: str, make: Callable[[], BatcherT]) -> BatcherT:
        """This database's group-commit batcher called ``name``, made on first use; one per
        process, shared by every caller, drained when the database is disposed."""
        found = self._batchers.get(name)
        if found is None:
            found = self._batchers[name] = make()
        return cast(BatcherT, found)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        for batcher in self._batchers.values():
            await batcher.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()

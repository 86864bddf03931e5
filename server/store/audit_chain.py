"""The audit log's hash chain: each row carries an HMAC of its own fields and of the row
before it, so that a row edited, deleted, inserted or forged after the fact shows.

Why a keyed hash and not a plain one: anyone who can write to the database can also compute
SHA-256, so a plain chain only asks a forger to recompute the hashes from the forged row on.
An HMAC under a key the database does not hold (``HEARTH_AUDIT_KEY``, else one derived from
``HEARTH_SECRET_KEY``) cannot be recomputed without the key.

Order: the chain runs in id order. Rows are appended at commit, in one short critical section:
on PostgreSQL a transaction-scoped advisory lock serialises every writer on every app node
until the commit; on SQLite the database's single write lock does, taken before the last
hash is read. Inside it: read the last row's hash (one read by the primary key), hash the
new rows in turn, insert them, commit. Ids are assigned inside the section, so id order is
chain order.

What the chain cannot show by itself: rows cut from the end (the rest still links up).
``verify`` therefore takes an anchor, a row id and hash recorded earlier outside the database,
and checks that row is still there with that hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from server.store.models import AuditEvent

# The row fields the hash covers, in this order, with the Python type each is stored as.
# Not the id: a row's place is fixed by its link to the row before it.
CHAIN_FIELDS: tuple[tuple[str, type], ...] = (
    ("at", dt.datetime),
    ("actor_id", int),
    ("actor_link_id", int),
    ("role", str),
    ("action", str),
    ("resource_type", str),
    ("resource_id", str),
    ("patient_id", int),
    ("encounter_id", int),
    ("address", str),
    ("user_agent", str),
    ("outcome", str),
    ("request_id", str),
    ("detail", str),
)
# The first row's prev_hash.
GENESIS = "0" * 64
# Labels the hashed message: a future change of serialisation gets a new version.
_VERSION = b"hearth-audit-row-v1\n"

# The advisory lock every PostgreSQL writer of audit rows takes ("hearthAu" as a bigint).
ADVISORY_LOCK_ID = int.from_bytes(b"hearthAu", "big")

# Rows per INSERT: 16 values a row keeps one statement far below the 32,766 parameters that
# SQLite and PostgreSQL (asyncpg) each allow.
ROWS_PER_INSERT = 1000
# Rows verify reads per query.
VERIFY_BATCH = 2000

# Set in a SQLite connection's info by a connection whose every transaction begins
# IMMEDIATE (Hearth's writer, server.store.db): it holds the write lock from its first statement.
HOLDS_WRITE_LOCK = "hearth.holds_write_lock"

_TABLE = cast(Table, AuditEvent.__table__)
_KEY = "hearth.audit_key"
_PENDING = "hearth.audit_pending"


def _normalise(values: Mapping[Any, Any]) -> dict[str, Any]:
    """The row's chained fields as the database will give them back."""
    out: dict[str, Any] = {}
    for name, kind in CHAIN_FIELDS:
        value = values.get(name)
        if value is None:
            out[name] = None
        elif kind is dt.datetime:
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                raise ValueError(f"audit field {name} must be an aware datetime")
            out[name] = value.astimezone(dt.UTC)
        else:
            out[name] = kind(value)
    return out


def canonical(values: Mapping[Any, Any]) -> bytes:
    """One serialisation of a row's fields: a JSON array in CHAIN_FIELDS order, times in UTC
    to the microsecond (what both databases keep), pure ASCII."""
    parts: list[Any] = []
    for name, _kind in CHAIN_FIELDS:
        value = values.get(name)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts.append(value)
    return json.dumps(parts, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def row_hash(key: bytes, values: Mapping[Any, Any], prev_hash: str) -> str:
    """HMAC-SHA256 under ``key`` of the row's fields and the hash of the row before it."""
    # UTF-8, not ASCII: a forged prev_hash may hold anything, and must fail, not crash.
    message = _VERSION + prev_hash.encode() + b"\n" + canonical(values)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def chain(key: bytes, rows: Iterable[Mapping[Any, Any]], prev_hash: str) -> list[dict[str, Any]]:
    """``rows`` with their ``prev_hash`` and ``row_hash``, linked in order after ``prev_hash``."""
    linked = []
    for values in rows:
        row = _normalise(values)
        row["prev_hash"] = prev_hash
        row["row_hash"] = prev_hash = row_hash(key, row, prev_hash)
        linked.append(row)
    return linked


# -- writing ------------------------------------------------------------------------------


def use_key(sessionmaker: Any, key: bytes) -> None:
    """Sessions made by ``sessionmaker`` (a Database's) chain their audit rows under ``key``."""
    sessionmaker.configure(info={_KEY: key})


def queue(session: AsyncSession, rows: Iterable[Mapping[Any, Any]]) -> None:
    """Add audit rows to the session's transaction: they are chained and inserted when it
    commits, and dropped with it if it rolls back."""
    info = session.sync_session.info
    if _KEY not in info:
        raise RuntimeError(
            "this database session has no audit chain key: call "
            "server.store.audit_chain.use_key on its Database's sessionmaker"
        )
    info.setdefault(_PENDING, []).extend(_normalise(r) for r in rows)


def _take_write_lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
    elif session.connection().info.get(HOLDS_WRITE_LOCK):
        # Hearth's SQLite writer began this transaction IMMEDIATE: it holds the lock already.
        return
    else:
        # SQLite: a write that changes nothing takes the database's write lock, which another
        # writer waits for (busy_timeout) until this transaction ends. Without it the read
        # below could run before another connection's commit and fork the chain.
        session.execute(text("UPDATE audit_events SET id = id WHERE 0"))


def last_hash(session: Session) -> str:
    stored = session.execute(
        select(_TABLE.c.row_hash).order_by(_TABLE.c.id.desc()).limit(1)
    ).scalar()
    return stored or GENESIS


def append(session: Session, key: bytes, rows: list[dict[str, Any]]) -> None:
    """Chain ``rows`` after the last row and insert them. Call inside the transaction that
    then commits at once: the lock taken here is held until then."""
    _take_write_lock(session)
    linked = chain(key, rows, last_hash(session))
    for start in range(0, len(linked), ROWS_PER_INSERT):
        # Parameters beside one statement, not a VALUES list rendered into it: the statement
        # is compiled once and cached, where a rendered list of 100 rows was compiled afresh
        # at every commit (an eighth of the server's CPU at 1,000 readings a second). The
        # rows go in in list order, so ids still follow the chain.
        session.execute(insert(_TABLE), linked[start : start + ROWS_PER_INSERT])


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A savepoint whose rollback also drops the audit rows queued inside it: they describe
    work that is no longer there."""
    pending = session.sync_session.info.setdefault(_PENDING, [])
    mark = len(pending)
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        del pending[mark:]
        raise


@event.listens_for(Session, "before_commit")
def _write_queued(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    # The transaction's other changes first, so that the lock below covers only the audit
    # insert and the commit.
    session.flush()
    append(session, session.info[_KEY], rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_queued(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# -- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first row at which the chain does not hold, and why."""

    row_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    rows: int
    last_id: int | None
    last_hash: str | None
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _problem(
    key: bytes, row: Mapping[Any, Any], expected_prev: str, prev_id: int | None
) -> str | None:
    if row["row_hash"] is None or row["prev_hash"] is None:
        return "it has no hash: it was inserted around the chain, not by Hearth"
    fields_match = _same(row_hash(key, row, row["prev_hash"]), row["row_hash"])
    link_matches = row["prev_hash"] == expected_prev
    before = f"row {prev_id}" if prev_id is not None else "the start of the log"
    if not fields_match and link_matches:
        return (
            "its hash does not match its fields: it was edited after it was written, "
            "or forged without the key"
        )
    if not fields_match:
        return (
            f"neither its hash nor its link to {before} matches: it was forged or inserted "
            "without the key"
        )
    if link_matches:
        return None
    if prev_id is None:
        return "it links to a row that is not there: the rows before it were deleted"
    return (
        f"it links to a row other than {before}: rows between them were deleted "
        "(or this row was copied or moved here)"
    )


async def verify(
    session: AsyncSession, key: bytes, *, anchor: tuple[int, str] | None = None
) -> ChainReport:
    """Walk the log in id order and check every row's hash and link; stop at the first row
    that does not hold. ``anchor`` (id, row_hash), recorded earlier, must still be there."""
    table = _TABLE
    columns = [table.c.id, table.c.prev_hash, table.c.row_hash] + [
        table.c[name] for name, _kind in CHAIN_FIELDS
    ]
    count, prev_id, expected_prev = 0, None, GENESIS
    last_id: int | None = None
    while True:
        query = select(*columns).order_by(table.c.id).limit(VERIFY_BATCH)
        if last_id is not None:
            query = query.where(table.c.id > last_id)
        batch = (await session.execute(query)).mappings().all()
        if not batch:
            break
        for row in batch:
            reason = _problem(key, row, expected_prev, prev_id)
            if reason is not None:
                return ChainReport(count, prev_id, expected_prev, Break(row["id"], reason))
            count += 1
            prev_id, expected_prev = row["id"], row["row_hash"]
        last_id = batch[-1]["id"]
    head_hash = expected_prev if prev_id is not None else None
    if anchor is not None:
        anchor_id, anchor_hash = anchor
        stored = (
            await session.execute(select(table.c.row_hash).where(table.c.id == anchor_id))
        ).scalar()
        if stored is None:
            return ChainReport(
                count,
                prev_id,
                head_hash,
                Break(anchor_id, "the anchor row is gone: rows were cut from the log"),
            )
        if not _same(stored, anchor_hash):
            return ChainReport(
                count,
                prev_id,
                head_hash,
                Break(anchor_id, "the anchor row's hash has changed: the log was rewritten"),
            )
    return ChainReport(count, prev_id, head_hash, None)

"""The audit log's hash chain, attacked the way someone with the database but not the key
would: edit a row, delete one, forge one, cut the end off, truncate the table. Each time
``hearth audit verify`` names the first row that no longer holds. And anonymous probes of
token pages cannot grow the log without bound."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from server.app.cli import verify_audit_log
from server.core.crypto import audit_chain_key
from server.core.settings import Settings
from server.services import audit
from server.services.context import SERVICES
from server.services.ratelimit import Attempt, Limit
from server.store import audit_chain
from server.store.audit_chain import ChainReport
from server.store.db import Database, to_async_url
from server.store.migrate import alembic_config, upgrade
from server.store.models import AuditEvent
from tests.builders import World
from tests.conftest import WORKER, FakeClock, missing_service
from tests.integration.conftest import PG_URL, _admin_execute

CHAIN_REVISION = "0007"


async def _ids(db: Database) -> list[int]:
    async with db.begin() as s:
        return list((await s.scalars(select(AuditEvent.id).order_by(AuditEvent.id))).all())


async def _some_rows(world: World, n: int = 6) -> list[int]:
    clinician = await world.agent("clin_a")
    for _ in range(n):
        status, _ = await clinician.call("GET", f"/api/patients/{world.patients['a'].id}")
        assert status == 200
    return await _ids(world.db)


async def _as_owner(url: str, statements: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Change audit rows as the table's owner would: switch the append-only trigger off
    (PostgreSQL: the owner may; SQLite: any writer may drop a trigger), change, switch it
    back on."""
    engine = create_async_engine(to_async_url(url))
    postgres = engine.dialect.name == "postgresql"
    try:
        async with engine.begin() as conn:
            if postgres:
                await conn.execute(
                    text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
                )
            else:
                await conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
                await conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            for statement, params in statements:
                await conn.execute(text(statement), params)
            if postgres:
                await conn.execute(
                    text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
                )
    finally:
        await engine.dispose()


def _broken(report: ChainReport) -> tuple[int, str]:
    assert report.broken is not None, report
    return report.broken.row_id, report.broken.reason


async def test_an_untouched_log_verifies(client, world, settings) -> None:
    ids = await _some_rows(world)
    report = await verify_audit_log(settings)
    assert report.intact
    # verify_audit_log's own reading is not audited; the rows are all there were.
    assert (report.rows, report.last_id) == (len(ids), ids[-1])
    admin = await world.agent("admin")
    status, body = await admin.call("GET", "/api/audit/verify")
    assert status == 200
    assert body["intact"] is True and body["broken_at"] is None
    # The admin's login and the verification itself are rows too, chained like the rest.
    assert body["rows"] >= len(ids) + 1
    status, _ = await (await world.agent("clin_a")).call("GET", "/api/audit/verify")
    assert status == 403
    assert (await verify_audit_log(settings)).intact


async def test_an_edited_row_is_named(client, world, settings, database_url) -> None:
    ids = await _some_rows(world)
    target = ids[len(ids) // 2]
    await _as_owner(
        database_url,
        [("UPDATE audit_events SET actor_id = 999 WHERE id = :id", {"id": target})],
    )
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == target and "edited" in reason
    admin = await world.agent("admin")
    status, body = await admin.call("GET", "/api/audit/verify")
    assert (status, body["intact"], body["broken_at"]) == (200, False, target)


async def test_an_edit_that_also_rewrites_the_hash_is_named(
    client, world, settings, database_url
) -> None:
    """The forger recomputes the row's hash, but without the key: as a plain SHA-256, or an
    HMAC under a guessed key. Either way the row no longer verifies."""
    ids = await _some_rows(world)
    target = ids[2]
    await _as_owner(
        database_url,
        [
            (
                "UPDATE audit_events SET outcome = 'success', row_hash = :h WHERE id = :id",
                {"id": target, "h": audit_chain.row_hash(b"a guessed key", {}, "0" * 64)},
            )
        ],
    )
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == target and "edited" in reason


async def test_a_deleted_row_names_the_row_after_it(client, world, settings, database_url) -> None:
    ids = await _some_rows(world)
    gone = ids[3]
    await _as_owner(database_url, [("DELETE FROM audit_events WHERE id = :id", {"id": gone})])
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == ids[4] and f"row {ids[2]}" in reason and "deleted" in reason


async def test_deleting_the_first_rows_is_seen(client, world, settings, database_url) -> None:
    ids = await _some_rows(world)
    await _as_owner(database_url, [("DELETE FROM audit_events WHERE id <= :id", {"id": ids[1]})])
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == ids[2] and "deleted" in reason


async def _forge(url: str, row_id: int | None, prev_hash: str, row_hash: str) -> None:
    columns = "at, action, resource_type, outcome, prev_hash, row_hash"
    values = ":at, 'read', 'patient', 'success', :prev, :hash"
    if row_id is not None:
        columns, values = "id, " + columns, ":id, " + values
    await _as_owner(
        url,
        [
            (
                f"INSERT INTO audit_events ({columns}) VALUES ({values})",
                {
                    "id": row_id,
                    "at": dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
                    "prev": prev_hash,
                    "hash": row_hash,
                },
            )
        ],
    )


async def test_a_forged_row_at_the_end_is_named(client, world, settings, database_url) -> None:
    await _some_rows(world)
    head = await verify_audit_log(settings)
    assert head.last_hash is not None
    # Linked correctly to the real last row; its own hash made up.
    await _forge(database_url, None, head.last_hash, "ab" * 32)
    ids = await _ids(world.db)
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == ids[-1] and "forged" in reason


async def test_a_row_forged_in_place_of_a_deleted_one_is_named(
    client, world, settings, database_url
) -> None:
    ids = await _some_rows(world)
    target = ids[3]
    async with world.db.begin() as s:
        prev = await s.scalar(select(AuditEvent.row_hash).where(AuditEvent.id == ids[2]))
    await _as_owner(database_url, [("DELETE FROM audit_events WHERE id = :id", {"id": target})])
    await _forge(database_url, target, prev or "", "cd" * 32)
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == target and "forged" in reason


async def test_a_row_inserted_with_a_made_up_link_is_named(
    client, world, settings, database_url
) -> None:
    ids = await _some_rows(world)
    await _as_owner(database_url, [("DELETE FROM audit_events WHERE id = :id", {"id": ids[1]})])
    # Not even hexadecimal: verify names the row rather than stumbling on it.
    await _forge(database_url, ids[1], "é" * 64, "ff" * 32)
    row_id, reason = _broken(await verify_audit_log(settings))
    assert row_id == ids[1] and "neither its hash nor its link" in reason


async def test_cutting_rows_from_the_end_shows_against_an_anchor(
    client, world, settings, database_url
) -> None:
    ids = await _some_rows(world)
    earlier = await verify_audit_log(settings)
    assert earlier.intact and earlier.last_id == ids[-1] and earlier.last_hash
    anchor = (earlier.last_id, earlier.last_hash)
    assert (await verify_audit_log(settings, anchor)).intact
    await _as_owner(database_url, [("DELETE FROM audit_events WHERE id >= :id", {"id": ids[-2]})])
    # What is left still links up: only the anchor, kept elsewhere, shows the cut.
    assert (await verify_audit_log(settings)).intact
    row_id, reason = _broken(await verify_audit_log(settings, anchor))
    assert row_id == ids[-1] and "cut" in reason


async def test_emptying_the_log_is_refused_and_shows_against_an_anchor(
    client, world, settings, database_url
) -> None:
    ids = await _some_rows(world)
    anchor_report = await verify_audit_log(settings)
    assert anchor_report.last_id is not None and anchor_report.last_hash is not None
    anchor = (anchor_report.last_id, anchor_report.last_hash)
    postgres = database_url.startswith("postgresql")
    # PostgreSQL: TRUNCATE, which no row trigger sees, is refused too, even for the table's
    # owner with the row trigger switched off. SQLite has no TRUNCATE; DELETE is refused.
    attempts = (
        ["TRUNCATE audit_events", "TRUNCATE audit_events RESTART IDENTITY CASCADE"]
        if postgres
        else ["DELETE FROM audit_events"]
    )
    engine = create_async_engine(to_async_url(database_url))
    try:
        for statement in attempts:
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    if postgres:
                        await conn.execute(
                            text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
                        )
                    await conn.execute(text(statement))
    finally:
        await engine.dispose()
    assert await _ids(world.db) == ids
    assert (await verify_audit_log(settings, anchor)).intact

    # Done anyway, around the triggers (SQLite's can be dropped by any writer, which is why the
    # chain exists): an empty log links up, and only the anchor shows what was lost.
    await _as_owner(database_url, [("DELETE FROM audit_events", {})])
    assert await _ids(world.db) == []
    assert (await verify_audit_log(settings)).intact
    row_id, reason = _broken(await verify_audit_log(settings, anchor))
    assert row_id == ids[-1] and "cut" in reason


async def test_concurrent_writers_on_two_nodes_keep_one_chain(
    client, world, settings, database_url, clock
) -> None:
    """Two app nodes (two engines, two pools) writing at once: the lock (PostgreSQL's
    advisory lock, SQLite's write lock) keeps every row linked to the one before it."""
    key = audit_chain_key(settings.audit_key, settings.secret_key)
    assert key is not None
    limit = settings.database_timeout_seconds
    nodes = [Database(database_url, timeout_s=limit), Database(database_url, timeout_s=limit)]
    for node in nodes:
        audit_chain.use_key(node.sessionmaker, key)
    actor = audit.Actor(None, None, "system", None, None)

    async def write(node: Database, n: int) -> None:
        async with node.begin() as s:
            await audit.record_event(s, clock.now(), actor, "read", "test", n)
            await asyncio.sleep(0)
            await audit.record_event(s, clock.now(), actor, "read", "test", n)

    try:
        await asyncio.gather(*(write(nodes[n % 2], n) for n in range(40)))
    finally:
        for node in nodes:
            await node.dispose()
    report = await verify_audit_log(settings)
    assert report.intact, report.broken
    async with world.db.begin() as s:
        written = await s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.resource_type == "test")
        )
    assert written == 80


async def test_rows_of_a_rolled_back_transaction_are_not_written(client, world, settings) -> None:
    before = await _ids(world.db)
    with pytest.raises(RuntimeError):
        async with world.db.begin() as s:
            await audit.record_event(
                s,
                dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                audit.Actor(None, None, "system", None, None),
                "read",
                "test",
            )
            raise RuntimeError("the work failed")
    assert await _ids(world.db) == before
    assert (await verify_audit_log(settings)).intact


def _hearth(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATABASE_URL": settings.database_url,
            "HEARTH_SECRET_KEY": settings.secret_key or "",
            "HEARTH_VAR_DIR": settings.var_dir,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


async def test_the_command_exits_1_naming_the_first_broken_row(
    client, world, settings, database_url
) -> None:
    ids = await _some_rows(world)
    done = await asyncio.to_thread(_hearth, ["audit", "verify"], settings)
    assert done.returncode == 0, done.stderr
    assert f"{len(ids)} rows, chain intact" in done.stdout
    anchor = re.search(r"--anchor (\d+:[0-9a-f]{64})", done.stdout)
    assert anchor and anchor.group(1).startswith(f"{ids[-1]}:")
    await _as_owner(
        database_url,
        [("UPDATE audit_events SET patient_id = NULL WHERE id = :id", {"id": ids[1]})],
    )
    done = await asyncio.to_thread(_hearth, ["audit", "verify"], settings)
    assert done.returncode == 1
    assert f"chain broken at row {ids[1]}: its hash does not match its fields" in done.stdout
    done = await asyncio.to_thread(
        _hearth, ["audit", "verify", "--anchor", "12:not-a-hash"], settings
    )
    assert done.returncode == 2 and "--anchor" in done.stderr


class FakeAttemptsNeverRefused:
    """A throttle that lets every attempt through (``server.services.ratelimit.Attempts``)."""

    async def reserve(self, limits: Sequence[tuple[str, Limit]], now: dt.datetime) -> Attempt:
        return Attempt(tuple(key for key, _ in limits), "never-refused")

    async def release(self, attempt: Attempt) -> None:
        return None

    async def clear(self, key: str) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_anonymous_probes_of_token_pages_add_a_bounded_number_of_rows(
    client, world, db, clock: FakeClock
) -> None:
    async def probe_rows() -> list[str]:
        async with db.begin() as s:
            rows = await s.scalars(
                select(AuditEvent.detail)
                .where(AuditEvent.detail.like("unknown%"))
                .order_by(AuditEvent.id)
            )
            return [r or "" for r in rows]

    # The link throttle would stop this address after ten probes a minute; what is measured here
    # is the audit log's own bound, so every probe must reach the lookup.
    client.app[SERVICES].attempts = FakeAttemptsNeverRefused()
    stranger = await world.agent()
    for n in range(100):
        status, _ = await stranger.call("GET", f"/join/not-a-real-token-{n:04d}")
        assert status == 404
        status, _ = await stranger.call("GET", f"/diary/not-a-real-token-{n:04d}")
        assert status == 404
    for n in range(20):
        status, _ = await stranger.call(
            "POST", "/api/join", {"token": f"not-a-real-token-{n}", "display_name": "X"}
        )
        assert status in (401, 429)
    assert await probe_rows() == ["unknown"]

    # The next window: one row more, which says how many went unrecorded before it.
    clock.advance(minutes=11)
    status, _ = await stranger.call("GET", "/join/not-a-real-token-again")
    assert status == 404
    rows = await probe_rows()
    assert len(rows) == 2
    counted = re.fullmatch(r"unknown; (\d+) earlier from this address not recorded singly", rows[1])
    assert counted and int(counted.group(1)) >= 199

    # A link that exists but no longer works is still audited every time: it names a record.
    family = await world.agent()
    for _ in range(3):
        status, _ = await family.call("GET", f"/join/{world.tokens['a']}")
        assert status == 200
    async with db.begin() as s:
        opened = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "open", AuditEvent.actor_link_id == world.link_ids["a"])
        )
    assert opened == 3


# -- the migration that chains the rows already there --------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_URL:
        missing_service("PostgreSQL: set HEARTH_TEST_DATABASE_URL")
    from sqlalchemy.engine import make_url

    name = f"hearth_chain_{WORKER}_{os.getpid()}"
    asyncio.run(_admin_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin_execute(PG_URL, f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _old_rows(url: str, n: int) -> None:
    engine = create_async_engine(to_async_url(url))
    try:
        async with engine.begin() as conn:
            for i in range(n):
                await conn.execute(
                    text(
                        "INSERT INTO audit_events (at, actor_id, action, resource_type, "
                        "resource_id, outcome, detail) VALUES (:at, :actor, 'read', 'patient', "
                        ":rid, 'success', :detail)"
                    ),
                    {
                        "at": dt.datetime(2025, 1, 1, 8, 0, i, 123456, tzinfo=dt.UTC)
                        if url.startswith("postgresql")
                        else f"2025-01-01 08:00:{i:02d}.123456",
                        "actor": i,
                        "rid": str(i),
                        "detail": None if i % 2 else "née ☃",
                    },
                )
    finally:
        await engine.dispose()


def test_the_migration_chains_the_rows_already_there(empty_database_url: str) -> None:
    url = empty_database_url
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision(CHAIN_REVISION)
    assert before is not None and isinstance(before.down_revision, str)
    upgrade(url, before.down_revision)
    asyncio.run(_old_rows(url, 5))
    # Without a key the rows cannot be chained: the upgrade stops before changing anything.
    with pytest.raises(RuntimeError, match="HEARTH_AUDIT_KEY"):
        upgrade(url)
    settings = Settings(database_url=url, secret_key="the server's secret")
    upgrade(url, audit_key=audit_chain_key(None, settings.secret_key))

    async def check() -> None:
        report = await verify_audit_log(settings)
        assert report.intact and report.rows == 5
        # New rows chain on after the migrated ones.
        db = Database(url)
        audit_chain.use_key(db.sessionmaker, audit_chain_key(None, settings.secret_key) or b"")
        try:
            async with db.begin() as s:
                await audit.record_event(
                    s,
                    dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    audit.Actor(None, None, "system", None, None),
                    "read",
                    "test",
                )
        finally:
            await db.dispose()
        report = await verify_audit_log(settings)
        assert report.intact and report.rows == 6
        # Under another key nothing verifies: the key is what a forger lacks.
        other = Settings(database_url=url, secret_key="another secret")
        assert _broken(await verify_audit_log(other))[0] == 1

    asyncio.run(check())


# -- the database role of docs/security.md --------------------------------------------------

SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _role_sql(names: dict[str, str]) -> list[list[str]]:
    """The three SQL blocks of the role set-up in docs/security.md, statement by statement,
    with this test's own role and database names."""
    text_ = SECURITY_MD.read_text()
    section = text_[text_.index("### A database role for the app") :]
    section = section[: section.index("\n## ")]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 3
    out = []
    for block in blocks:
        for old, new in names.items():
            block = re.sub(rf"\b{old}\b", new, block)
        out.append([s.strip() for s in block.split(";") if s.strip()])
    return out


def test_the_documented_app_role_can_only_add_and_read_audit_rows(tmp_path: Path) -> None:
    if not PG_URL:
        missing_service("PostgreSQL: set HEARTH_TEST_DATABASE_URL")
    from sqlalchemy.engine import make_url

    suffix = f"{WORKER}_{os.getpid()}"
    names = {
        "hearth_owner": f"hearth_owner_{suffix}",
        "hearth_app": f"hearth_app_{suffix}",
        "hearth": f"hearth_roles_{suffix}",
    }
    once, in_database, after_upgrade = _role_sql(names)
    base = make_url(PG_URL)

    def url(user: str | None = None) -> str:
        u = base.set(database=names["hearth"])
        if user is not None:
            u = u.set(username=names[user], password=None)
        return u.render_as_string(hide_password=False)

    def cleanup() -> None:
        asyncio.run(
            _admin_execute(
                PG_URL or "",
                f'DROP DATABASE IF EXISTS "{names["hearth"]}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{names["hearth_app"]}"',
                f'DROP ROLE IF EXISTS "{names["hearth_owner"]}"',
            )
        )

    cleanup()
    try:
        asyncio.run(_admin_execute(PG_URL, *once))
        asyncio.run(_admin_execute(url(), *in_database))
        key = b"the audit key of this test"
        upgrade(url("hearth_owner"), audit_key=key)
        asyncio.run(_admin_execute(url("hearth_owner"), *after_upgrade))

        async def as_app() -> None:
            db = Database(url("hearth_app"))
            audit_chain.use_key(db.sessionmaker, key)
            try:
                async with db.begin() as s:
                    await audit.record_event(
                        s,
                        dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                        audit.Actor(None, None, "system", None, None),
                        "read",
                        "test",
                    )
                async with db.begin() as s:
                    report = await audit_chain.verify(s, key)
                assert report.intact and report.rows == 1
                for statement in (
                    "UPDATE audit_events SET outcome = 'x'",
                    "DELETE FROM audit_events",
                    "TRUNCATE audit_events",
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
                    "DROP TRIGGER audit_events_no_truncate ON audit_events",
                    "ALTER TABLE audit_events ADD COLUMN x integer",
                    "SELECT setval('audit_events_id_seq', 1)",
                    "UPDATE alembic_version SET version_num = 'x'",
                    "CREATE TABLE audit_events_copy (id integer)",
                ):
                    with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                        async with db.begin() as s:
                            await s.execute(text(statement))
            finally:
                await db.dispose()

        asyncio.run(as_app())
    finally:
        cleanup()


async def test_sign_ins_refused_for_too_many_attempts_add_a_bounded_number_of_rows(
    client, world, db, clock: FakeClock
) -> None:
    async def refusals() -> list[str]:
        async with db.begin() as s:
            rows = await s.scalars(
                select(AuditEvent.detail)
                .where(AuditEvent.action == "login", AuditEvent.outcome == "rate_limited")
                .order_by(AuditEvent.id)
            )
            return [r or "" for r in rows]

    guesser = await world.agent()
    codes = []
    for n in range(40):
        status, body = await guesser.call(
            "POST", "/api/session", {"email": "clin_a@hearth.test", "password": f"guess-{n}"}
        )
        codes.append(body["code"])
    assert codes.count("rate_limited") >= 25, codes  # the limit is a handful of tries
    assert await refusals() == [""]

    # The next window: one row more, which says how many went unrecorded before it.
    clock.advance(minutes=11)
    for n in range(40):
        status, body = await guesser.call(
            "POST", "/api/session", {"email": "clin_a@hearth.test", "password": f"again-{n}"}
        )
        if body["code"] == "rate_limited":
            break
    rows = await refusals()
    assert len(rows) == 2
    counted = re.fullmatch(r"(\d+) earlier from this address not recorded singly", rows[1])
    assert counted and int(counted.group(1)) >= 24
    # Each failed password is still audited on its own: it names an account.
    async with db.begin() as s:
        failures = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "login", AuditEvent.outcome == "failure")
        )
    assert failures is not None and failures >= 5

"""Issue 17: the demo survives use. Each run has a real visit happening now (never a finished
or drill one), the demo nurse has working hours so the scheduler can book at once, the logins
printed work on every run, and a port already in use gives one clear line."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from server.app.demo import seed_demo
from server.core.crypto import verify_password
from server.core.settings import Settings
from server.store.db import Database
from server.store.models import Encounter, User
from tests.conftest import FakeClock

HEARTH = [sys.executable, "-m", "server"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
            "HEARTH_VAR_DIR": str(tmp_path / "var"),
            **extra,
        }
    )
    return env


def test_a_port_in_use_gives_one_clear_line_and_no_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*HEARTH, "serve", "--demo"],
            env=_env(tmp_path, HEARTH_PORT=str(port)),  # the environment's port, no flag
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stdout == ""  # no "Hearth demo is running" banner
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f"port {port} is already in use" in lines[0]
    assert "Traceback" not in done.stderr


def _settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="demo-test-secret",
        demo=True,
        var_dir=str(var_dir),
        public_url="http://127.0.0.1:8080",
    )


async def test_each_run_has_a_real_visit_happening_now(
    client, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    settings = _settings(database_url, tmp_path / "var")
    first = await seed_demo(settings, clock)
    db = Database(database_url)
    try:

        async def visit(encounter_id: int) -> Encounter:
            async with db.begin() as s:
                found = await s.get(Encounter, encounter_id)
                assert found is not None
                return found

        now = clock.now()
        seen = await visit(first.encounter_id)
        assert seen.starts_at <= now < seen.ends_at
        assert not seen.is_drill and seen.status == "planned"
        again = await seed_demo(settings, clock)
        assert again.encounter_id == first.encounter_id  # still happening: kept

        # Finished: the next run makes a new one, happening now.
        async with db.begin() as s:
            await s.execute(
                update(Encounter)
                .where(Encounter.id == first.encounter_id)
                .values(status="finished")
            )
        after_finish = await seed_demo(settings, clock)
        assert after_finish.encounter_id != first.encounter_id
        fresh = await visit(after_finish.encounter_id)
        assert fresh.starts_at <= now < fresh.ends_at and fresh.status == "planned"

        # A drill happening now is not the demo's visit, nor one nearly over, nor one later on.
        async with db.begin() as s:
            await s.execute(
                update(Encounter)
                .where(Encounter.id == after_finish.encounter_id)
                .values(is_drill=True)
            )
        after_drill = await seed_demo(settings, clock)
        assert after_drill.encounter_id != after_finish.encounter_id
        assert not (await visit(after_drill.encounter_id)).is_drill
        clock.advance(minutes=50)
        later = await seed_demo(settings, clock)
        assert later.encounter_id != after_drill.encounter_id
        moved = await visit(later.encounter_id)
        assert moved.starts_at <= clock.now() < moved.ends_at - dt.timedelta(minutes=20)
    finally:
        await db.dispose()


async def test_logins_work_on_every_run_and_the_scheduler_can_book_at_once(
    client, database_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    first = await seed_demo(_settings(database_url, tmp_path / "var"), clock)
    # Another run on the same database with another var directory (and so other passwords).
    other = await seed_demo(_settings(database_url, tmp_path / "elsewhere"), clock)
    assert dict((e, p) for _, e, p in other.logins) != dict((e, p) for _, e, p in first.logins)
    second = await seed_demo(_settings(database_url, tmp_path / "var"), clock)
    assert second.logins == first.logins
    db = Database(database_url)
    try:
        async with db.begin() as s:
            for _, email, password in second.logins:
                user = await s.scalar(select(User).where(User.email == email))
                assert user is not None and verify_password(user.password_hash, password), email
    finally:
        await db.dispose()

    # Signing in through the API with the printed login works, and the scheduler finds
    # free times for the demo nurse straight away.
    scheduler = next(login for login in second.logins if login[0] == "scheduler")
    response = await client.post(
        "/api/session", json={"email": scheduler[1], "password": scheduler[2]}
    )
    assert response.status == 200, await response.text()
    session = await response.json()
    db = Database(database_url)
    try:
        async with db.begin() as s:
            patient_id = await s.scalar(
                select(Encounter.patient_id).where(Encounter.id == second.encounter_id)
            )
    finally:
        await db.dispose()
    slots = await client.get(
        f"/api/slots?kind=video_visit&patient_id={patient_id}",
        headers={"X-CSRF-Token": session.get("csrf_token", "")},
    )
    assert slots.status == 200, await slots.text()
    found = await slots.json()
    nurse = [c for c in found["clinicians"] if "demo nurse" in c["name"]]
    assert nurse and nurse[0]["slots"], found

"""The `hearth` command and the migrations, as an operator uses them."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from server.app.cli import main
from server.store.db import Database
from server.store.migrate import current_revision, head_revision
from server.store.models import Base

HEARTH = [sys.executable, "-m", "server"]


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        HEARTH + args, input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _in_process(
    args: list[str], env: dict[str, str], stdin: str, monkeypatch: pytest.MonkeyPatch
) -> subprocess.CompletedProcess[str]:
    """The same command through ``main`` in this process: for the refusals, once the command
    itself has been run as an operator runs it (each Python start costs a second or more of
    CPU, which the suite's two cores pay for)."""
    for name in [n for n in os.environ if n.startswith("HEARTH_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit_:  # argparse's refusals
            code = int(exit_.code or 0)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATABASE_URL": database_url,
            "HEARTH_VAR_DIR": str(tmp_path / "var"),
            "HEARTH_SECRET_KEY": "cli-test-secret",
        }
    )
    return env


async def test_migrations_reach_head_and_match_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert await current_revision(db.engine) == head_revision(database_url)
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert diff == []
    finally:
        await db.dispose()


def test_user_add_creates_a_login_and_prints_its_id(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(database_url, tmp_path)
    done = _run(
        [
            "user",
            "add",
            "--role",
            "clinician",
            "--email",
            "Nurse@Example.org",
            "--name",
            "A Nurse",
            "--password-stdin",
        ],
        env,
        "a long enough password\n",
    )
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert isinstance(first["id"], int)
    again = _in_process(
        [
            "user",
            "add",
            "--role",
            "clinician",
            "--email",
            "nurse@example.org",
            "--name",
            "A Nurse",
            "--password-stdin",
        ],
        env,
        "a long enough password\n",
        monkeypatch,
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = _in_process(
        [
            "user",
            "add",
            "--role",
            "admin",
            "--email",
            "b@example.org",
            "--name",
            "B",
            "--password-stdin",
        ],
        env,
        "short\n",
        monkeypatch,
    )
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    bad_role = _in_process(
        [
            "user",
            "add",
            "--role",
            "family",
            "--email",
            "c@example.org",
            "--name",
            "C",
            "--password-stdin",
        ],
        env,
        "a long enough password\n",
        monkeypatch,
    )
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr


def test_db_upgrade_is_idempotent(database_url: str, tmp_path: Path) -> None:
    done = _run(["db", "upgrade"], _env(database_url, tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["database"] == "upgraded"


def test_serve_refuses_without_a_secret_outside_demo_mode(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path}/x.db", tmp_path)
    del env["HEARTH_SECRET_KEY"]
    done = _run(["serve", "--port", "1"], env)
    assert done.returncode == 2 and "HEARTH_SECRET_KEY" in done.stderr


def test_serve_refuses_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    done = _run(["serve", "--port", "1"], _env(f"sqlite:///{tmp_path}/empty.db", tmp_path))
    assert done.returncode == 2 and "hearth db upgrade" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_demo_prints_working_links_and_is_idempotent(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path}/demo.db", tmp_path)
    del env["HEARTH_SECRET_KEY"]
    links = []
    for _ in range(2):
        port = _free_port()
        proc = subprocess.Popen(
            HEARTH + ["serve", "--demo", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            output = ""
            deadline = time.monotonic() + 30
            while "/join/" not in output and time.monotonic() < deadline:
                line = proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    break
                output += line
            link = re.search(r"(http://\S+/join/\S+)", output)
            assert link, output
            links.append(link.group(1))
            assert "clinician@hearth.example" in output and "password:" in output
            for _ in range(50):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                        assert json.load(r) == {"status": "ok", "database": "ok"}
                    break
                except OSError:
                    time.sleep(0.2)
            with urllib.request.urlopen(link.group(1)) as r:
                assert r.status == 200
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)
    assert links[0] != links[1]
    counts = asyncio.run(_count_demo(f"sqlite:///{tmp_path}/demo.db"))
    assert counts == (4, 1, 1)


async def _count_demo(url: str) -> tuple[int, int, int]:
    from sqlalchemy import func, select

    from server.store.models import Encounter, Patient, User

    db = Database(url)
    try:
        async with db.begin() as s:
            return (
                await s.scalar(select(func.count()).select_from(User)),
                await s.scalar(select(func.count()).select_from(Patient)),
                await s.scalar(select(func.count()).select_from(Encounter)),
            )
    finally:
        await db.dispose()


def test_serve_freezes_what_start_up_built(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up's objects are moved out of the garbage collector's view once the app has
    started: a full collection walking them all paused the server for about 90 ms."""
    import gc

    import aiohttp.web

    import server.core.logs
    from server.app import cli

    started: list[int] = []

    def run_app(app: Any, *, sock: socket.socket, **_: Any) -> None:
        sock.close()

        async def start() -> None:
            runner = aiohttp.web.AppRunner(app)
            await runner.setup()  # the app's start-up, as run_app does it
            started.append(gc.get_freeze_count())
            await runner.cleanup()

        asyncio.run(start())

    monkeypatch.setattr(aiohttp.web, "run_app", run_app)
    monkeypatch.setattr(server.core.logs, "configure_logging", lambda: None)
    env = _env(database_url, tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    gc.unfreeze()
    try:
        assert cli.main(["serve", "--port", "0"]) == 0
    finally:
        gc.unfreeze()
    assert started and started[0] > 10_000

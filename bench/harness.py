"""What the benchmarks share: a real server in a subprocess, and a care team to load it with."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import resource
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from server.core.crypto import hash_password
from server.store.migrate import upgrade
from server.store.models import CareTeam, CareTeamMember, Patient, User

PASSWORD = "bench password for hearth"
SECRET = "bench-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


async def wait_healthy(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            try:
                async with http.get(f"{base}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become healthy")


async def migrate(url: str) -> None:
    # Alembic runs its own event loop: migrate from a thread.
    await asyncio.get_running_loop().run_in_executor(None, upgrade, url)


def local_base() -> str:
    """The address of a server yet to start, on a free loopback port."""
    return f"http://127.0.0.1:{free_port()}"


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (a server's media workers), those alive now."""
    total = 0.0
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        total = process_cpu_s(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    total += tree_cpu_s(int(child))
    return total


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """The server's CPU (its process and its media workers) and the bench's own over a
    window, in % of one core: a bench whose own figure nears 100 measures itself, not
    Hearth."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start()

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._own = own_cpu_s()
        self._server = tree_cpu_s(self.server_pid) if self.server_pid else 0.0

    def figures(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        out = {"bench_cpu_pct": round(100 * (own_cpu_s() - self._own) / wall, 1)}
        if self.server_pid:
            server = tree_cpu_s(self.server_pid) - self._server
            out["server_cpu_pct"] = round(100 * server / wall, 1)
        return out


@contextlib.asynccontextmanager
async def scratch_database(url: str | None) -> AsyncIterator[str | None]:
    """For a PostgreSQL URL, a fresh database on that server for this run, dropped after it
    (a second run, or a test run using the same server, never meets this one's rows); any
    other URL (or None) as given."""
    if not url or not url.startswith(("postgresql:", "postgres:")):
        yield url
        return
    server = make_url(url.replace("postgres://", "postgresql://", 1))
    name = f"hearth_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(
        server.set(drivername="postgresql+asyncpg"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await engine.dispose()


@contextlib.asynccontextmanager
async def hearth_server(url: str, base: str, var_dir: str) -> AsyncIterator[int]:
    """Hearth serving ``url``'s database at ``base``, healthy before the block runs; the
    block gets the server's process id."""
    env = {
        **os.environ,
        "HEARTH_SECRET_KEY": SECRET,
        "HEARTH_PUBLIC_URL": base,
        "HEARTH_DATABASE_URL": url,
        "HEARTH_VAR_DIR": var_dir,
    }
    server = start_server(int(base.rsplit(":", 1)[1]), env, Path(var_dir) / "server.log")
    try:
        await wait_healthy(base)
        yield server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()  # a server that will not stop must not outlive its bench
            server.wait()


async def seed_team(
    s: AsyncSession, *, email: str, role: str, patients: int, now: dt.datetime
) -> tuple[User, list[Patient]]:
    """One staff member on the care team of ``patients`` new patients."""
    user = User(
        email=email,
        name=f"Bench {role}",
        role=role,
        password_hash=hash_password(PASSWORD),
        active=True,
        time_zone="UTC",
        created_at=now,
    )
    s.add(user)
    await s.flush()
    made = []
    for i in range(patients):
        patient = Patient(
            name=f"Bench {i}",
            birth_date=dt.date(1940, 1, 1),
            time_zone="UTC",
            language="en",
            created_at=now,
        )
        s.add(patient)
        await s.flush()
        team = CareTeam(patient_id=patient.id, name="t")
        s.add(team)
        await s.flush()
        s.add(CareTeamMember(care_team_id=team.id, user_id=user.id))
        made.append(patient)
    await s.flush()
    return user, made

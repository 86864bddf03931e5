"""What the benchmarks share: a real server in a subprocess, and a care team to load it with."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

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


@contextlib.asynccontextmanager
async def hearth_server(url: str, base: str, var_dir: str) -> AsyncIterator[None]:
    """Hearth serving ``url``'s database at ``base``, healthy before the block runs."""
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
        yield
    finally:
        server.terminate()
        server.wait(timeout=15)


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

"""Diary entry to coordinator: the time from a diary entry's arrival to its alert reaching a
connected coordinator's console socket.

Runs a real Hearth server in a subprocess (SQLite, or PostgreSQL with --database-url), seeds
``--patients`` patients on one coordinator's care teams, each with a diary link, connects the
coordinator's Socket.IO client (as the /alerts page does) and has every family post check-ins
spread over ``--seconds``: one round that crosses the moderate threshold, one the severe
threshold, so each entry raises one alert. The clock starts when the entry's request is sent
(an upper bound on "arrival": it includes the HTTP request) and stops when the coordinator's
socket receives the alert. Prints one JSON line: patients, alerts, p50_ms, p99_ms.

    .venv/bin/python bench/alerts.py --patients 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid

import aiohttp
import socketio
from harness import (
    PASSWORD,
    SECRET,
    CpuMeter,
    hearth_server,
    local_base,
    migrate,
    scratch_database,
    seed_team,
)

from server.core.settings import Settings
from server.services.diary import issue_diary_link
from server.store.db import Database

ROUNDS = ((5, "moderate"), (9, "high"))


async def seed(url: str, base: str, patients: int) -> dict[int, str]:
    settings = Settings(database_url=url, secret_key=SECRET, public_url=base)
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    tokens: dict[int, str] = {}
    async with db.begin() as s:
        _, made = await seed_team(
            s, email="coord@bench.test", role="coordinator", patients=patients, now=now
        )
        for patient in made:
            token, _ = await issue_diary_link(s, settings, patient.id, by=None, now=now)
            tokens[patient.id] = token
    await db.dispose()
    return tokens


async def measure(
    base: str, tokens: dict[int, str], seconds: float
) -> tuple[list[float], dict[int, int]]:
    sent_at: dict[tuple[int, str], float] = {}
    latencies: list[float] = []
    all_in = asyncio.Event()
    expected = len(tokens) * len(ROUNDS)
    refused: dict[int, int] = {}

    async def on_alert(data: dict[str, object]) -> None:
        key = (int(data["patient_id"]), str(data["severity"]))  # type: ignore[call-overload]
        started = sent_at.pop(key, None)
        if started is not None:
            latencies.append((time.perf_counter() - started) * 1000)
            if len(latencies) + sum(refused.values()) >= expected:
                all_in.set()

    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    await http.post(f"{base}/api/session", json={"email": "coord@bench.test", "password": PASSWORD})
    cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    console = socketio.AsyncClient(reconnection=False)
    console.on("alert", on_alert, namespace="/visit")
    await console.connect(
        base,
        headers={"Origin": base, "Cookie": cookie},
        namespaces=["/visit"],
        transports=["websocket"],
    )
    # Each family from a loopback address of its own, as families are on their own networks:
    # the link throttle counts per address, and 200 families behind one address would be
    # throttled as one guesser.
    families = {
        pid: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.{1 + n // 250}.{1 + n % 250}", 0))
        )
        for n, pid in enumerate(tokens)
    }

    async def post(patient_id: int, token: str, score: int, severity: str, delay: float) -> None:
        await asyncio.sleep(delay)
        body = {
            "token": token,
            "entry": {
                "client_id": uuid.uuid4().hex,
                "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
                "items": {"pain": score},
            },
        }
        sent_at[(patient_id, severity)] = time.perf_counter()
        async with families[patient_id].post(f"{base}/api/diary", json=body) as r:
            if r.status != 201:
                refused[r.status] = refused.get(r.status, 0) + 1
                sent_at.pop((patient_id, severity), None)

    try:
        for score, severity in ROUNDS:
            # Spread each round evenly over the time given: 200 families checking in at once
            # is a burst no clinic sees; spread, it is a busy morning.
            await asyncio.gather(
                *(
                    post(pid, tok, score, severity, random.uniform(0, seconds / len(ROUNDS)))
                    for pid, tok in tokens.items()
                )
            )
        if len(latencies) + sum(refused.values()) < expected:
            await asyncio.wait_for(all_in.wait(), 60)
    finally:
        await console.disconnect()
        for family in families.values():
            await family.close()
        await http.close()
    return sorted(latencies), refused


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    async with scratch_database(args.database_url) as given:
        with tempfile.TemporaryDirectory() as tmp:
            url = given or f"sqlite:///{tmp}/bench.db"
            await migrate(url)
            base = local_base()
            tokens = await seed(url, base, args.patients)
            async with hearth_server(url, base, tmp) as server_pid:
                meter = CpuMeter(server_pid)
                lat, refused = await measure(base, tokens, args.seconds)
                cpu = meter.figures()
    print(
        json.dumps(
            {
                "patients": args.patients,
                "database": "postgresql" if url.startswith("postgres") else "sqlite",
                "alerts": len(lat),
                "p50_ms": round(statistics.median(lat), 1),
                # Nearest rank, as the response figures count it.
                "p99_ms": round(lat[max(0, -(-99 * len(lat) // 100) - 1)], 1),
                # Entries answered with anything but 201 (a 503 under lock contention, say).
                "refused": refused,
                **cpu,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())

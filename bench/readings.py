"""Readings through the whole path: family peer → data channel → commit → clinician socket.

Runs a real Hearth server in a subprocess (SQLite, or PostgreSQL with --database-url) and,
in this process, one aiortc family peer (data channel only) and one clinician Socket.IO
client per visit. Prints JSON lines:

- latency: with every visit streaming one reading a second, the time from the family peer
  sending a reading to the clinician's socket receiving it, median and 99th percentile;
- throughput (measured after latency, so that its backlog is not counted as latency):
  readings acknowledged (after commit) per second, each family sending at the per-participant
  limit on a fixed schedule, whatever the acknowledgements do; beside it the readings offered,
  how many were nacked or never answered, and how long the answers took;
- store: the storing service alone, in this process, no network.

    .venv/bin/python bench/readings.py --visits 50 --seconds 20
    .venv/bin/python bench/readings.py --visits 50 --throughput-visits 100 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid

import aiohttp
import aioice.ice
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
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
from server.services.links import issue_link
from server.store.db import Database
from server.store.models import Encounter

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

# Visits set up at once (joins, offers; the log-ins one after the other).
SETUP_AT_ONCE = 5
LOGINS = asyncio.Lock()


async def seed(url: str, base: str, visits: int) -> list[tuple[int, str]]:
    settings = Settings(database_url=url, secret_key=SECRET, public_url=base)
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    tokens = []
    async with db.begin() as s:
        nurse, patients = await seed_team(
            s, email="nurse@bench.test", role="clinician", patients=visits, now=now
        )
        for patient in patients:
            encounter = Encounter(
                patient_id=patient.id,
                clinician_id=nurse.id,
                kind="video_visit",
                template="home_palliative_visit",
                status="planned",
                starts_at=now,
                ends_at=now + dt.timedelta(hours=2),
                is_drill=False,
                created_at=now,
            )
            s.add(encounter)
            await s.flush()
            token, _ = await issue_link(s, settings, encounter, created_by=None, now=now)
            tokens.append((encounter.id, token))
    await db.dispose()
    return tokens


class Visit:
    def __init__(self, base: str, encounter_id: int, token: str) -> None:
        self.base, self.encounter_id, self.token = base, encounter_id, token
        self.sent_at: dict[str, float] = {}  # popped when the clinician's socket has it
        self.answer_at: dict[str, float] = {}  # popped when the family peer has the answer
        self.latencies: list[float] = []
        self.acks = 0
        self.nacks = 0
        self.offered = 0
        self.unanswered: set[str] = set()  # sent, neither acked nor nacked yet
        self.answer_ms: list[float] = []  # sending a reading -> its ack or nack
        self.late_ms: list[float] = []  # how late the generator sent, against its schedule

    async def _socket(self, http: aiohttp.ClientSession) -> socketio.AsyncClient:
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.base,
            headers={"Origin": self.base, "Cookie": cookie},
            namespaces=["/visit"],
            transports=["websocket"],
        )
        return client

    async def start(self) -> None:
        self.nurse_http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        # One log-in at a time: the log-in throttle counts attempts in flight as failures
        # until they succeed, so ten at once would be refused.
        async with LOGINS:
            await self.nurse_http.post(
                f"{self.base}/api/session",
                json={"email": "nurse@bench.test", "password": PASSWORD},
            )
        self.nurse = await self._socket(self.nurse_http)
        self.nurse.on("reading", self.on_reading, namespace="/visit")
        await self.nurse.call("join", {"encounter_id": self.encounter_id}, namespace="/visit")
        self.family_http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        await self.family_http.post(
            f"{self.base}/api/join", json={"token": self.token, "display_name": "Family"}
        )
        self.family = await self._socket(self.family_http)
        reply = await self.family.call(
            "join", {"encounter_id": self.encounter_id}, namespace="/visit"
        )
        await self.nurse.call(
            "admit", {"participant_id": reply["participant_id"]}, namespace="/visit"
        )
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = self.pc.createDataChannel("readings")
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.channel.on("message", self.on_reply)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.family.call(
            "offer",
            {"sdp": self.pc.localDescription.sdp, "type": "offer"},
            namespace="/visit",
            timeout=30,
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(opened.wait(), 30)

    def send(self, value: int) -> None:
        rid = str(uuid.uuid4())
        self.offered += 1
        self.unanswered.add(rid)
        self.sent_at[rid] = self.answer_at[rid] = time.perf_counter()
        self.channel.send(
            json.dumps(
                {
                    "id": rid,
                    "kind": "heart_rate",
                    "value": value,
                    "unit": "/min",
                    "taken_at": dt.datetime.now(dt.UTC).isoformat(),
                    "source": "simulator",
                }
            )
        )

    def on_reply(self, message: str) -> None:
        reply = json.loads(message)
        rid = reply.get("ack") or reply.get("nack")
        if rid in self.unanswered:
            self.unanswered.discard(rid)
            self.answer_ms.append((time.perf_counter() - self.answer_at.pop(rid)) * 1000)
        if "ack" in reply:
            self.acks += 1
        else:
            self.nacks += 1

    async def on_reading(self, reading: dict) -> None:  # type: ignore[type-arg]
        sent = self.sent_at.pop(reading["id"], None)
        if sent is not None:
            self.latencies.append((time.perf_counter() - sent) * 1000)

    async def close(self) -> None:
        """Closes what ``start`` opened, also when it stopped half-way."""
        if hasattr(self, "pc"):
            await self.pc.close()
        for name in ("nurse", "family"):
            if hasattr(self, name):
                await getattr(self, name).disconnect()
        for name in ("nurse_http", "family_http"):
            if hasattr(self, name):
                await getattr(self, name).close()


# The per-participant limit (server/realtime/wiring.py READINGS_PER_S): a family sending
# faster is answered with rate_limited nacks instead of being stored.
CAP_PER_S = 10.0


async def throughput(visits: list[Visit], seconds: float) -> dict[str, float]:
    """Every family sends at the cap on a fixed schedule for ``seconds`` (a slow answer never
    slows the sender: the readings offered are the families', not the server's pace), then
    up to 5 s more for the last answers. Accepted: readings acknowledged after commit."""
    before = [(v.acks, v.nacks) for v in visits]
    for v in visits:
        v.unanswered.clear()
        v.answer_ms.clear()
        v.late_ms.clear()

    async def pump(visit: Visit, offset: float) -> None:
        await asyncio.sleep(offset)
        start = time.perf_counter()
        for n in range(int(seconds * CAP_PER_S)):
            due = start + n / CAP_PER_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            visit.late_ms.append((time.perf_counter() - due) * 1000)
            visit.send(70)

    offered_before = sum(v.offered for v in visits)
    started = time.perf_counter()
    await asyncio.gather(*(pump(v, i / CAP_PER_S / len(visits)) for i, v in enumerate(visits)))
    elapsed = time.perf_counter() - started
    for _ in range(50):
        if not any(v.unanswered for v in visits):
            break
        await asyncio.sleep(0.1)
    acks = sum(v.acks - a for v, (a, _) in zip(visits, before, strict=True))
    nacks = sum(v.nacks - n for v, (_, n) in zip(visits, before, strict=True))
    return {
        "readings_per_s": round(acks / elapsed, 1),
        "offered": sum(v.offered for v in visits) - offered_before,
        "offered_per_s": round((sum(v.offered for v in visits) - offered_before) / elapsed, 1),
        "accepted": acks,
        "nacked": nacks,
        "unanswered": sum(len(v.unanswered) for v in visits),
        # A server that keeps up answers within milliseconds; one that falls behind answers
        # everything in the end, seconds late.
        "answer_p50_ms": percentile([x for v in visits for x in v.answer_ms], 0.5),
        "answer_p99_ms": percentile([x for v in visits for x in v.answer_ms], 0.99),
        # The generator's own lateness against its schedule: high, and it is the bench (or
        # the machine) that could not offer the load, not Hearth that refused it.
        "send_late_p99_ms": percentile([x for v in visits for x in v.late_ms], 0.99),
    }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, -(-int(q * 100) * len(ordered) // 100) - 1)], 1)


async def latency(visits: list[Visit], seconds: float) -> list[float]:
    for v in visits:
        v.latencies.clear()
        v.sent_at.clear()

    async def stream(visit: Visit, offset: float) -> None:
        await asyncio.sleep(offset)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            visit.send(72)
            await asyncio.sleep(1.0)

    await asyncio.gather(*(stream(v, i / len(visits)) for i, v in enumerate(visits)))
    await asyncio.sleep(2)
    return sorted(x for v in visits for x in v.latencies)


async def store_rate(
    url: str, encounter_id: int, seconds: float, workers: int
) -> tuple[float, dict[str, float]]:
    """Readings validated and committed per second by the storing service alone, no network:
    the ceiling the data channel path works under, with ``workers`` messages in flight (a
    busy node's many visits). The service runs in this process: its CPU is the bench's."""
    from server.core.clock import SystemClock
    from server.core.crypto import audit_chain_key
    from server.services.readings import Enterer, accept_message
    from server.store import audit_chain

    db = Database(url)
    # Each stored batch writes an audit row, chained under the server's key.
    audit_chain.use_key(db.sessionmaker, audit_chain_key(None, SECRET) or b"")
    stop = time.perf_counter() + seconds
    done = 0

    async def work() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            text = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "kind": "spo2",
                    "value": 95,
                    "unit": "%",
                    "taken_at": dt.datetime.now(dt.UTC).isoformat(),
                    "source": "simulator",
                }
            )
            outcome = await accept_message(
                db,
                SystemClock(),
                encounter_id=encounter_id,
                who=Enterer(None, None, "family"),
                text=text,
            )
            done += "ack" in outcome.reply

    started = time.perf_counter()
    meter = CpuMeter(None)
    await asyncio.gather(*(work() for _ in range(workers)))
    rate = done / (time.perf_counter() - started)
    cpu = meter.figures()
    await db.dispose()
    return rate, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--throughput-visits", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument(
        "--store-workers", type=int, default=64, help="messages in flight in the store measure"
    )
    args = parser.parse_args()
    async with scratch_database(args.database_url) as given:
        with tempfile.TemporaryDirectory() as tmp:
            url = given or f"sqlite:///{tmp}/bench.db"
            await migrate(url)
            base = local_base()
            tokens = await seed(url, base, max(args.visits, args.throughput_visits))
            async with hearth_server(url, base, tmp) as server_pid:
                visits = [Visit(base, eid, token) for eid, token in tokens]
                ready = 0

                async def start(n: int) -> None:
                    nonlocal ready
                    # On a loaded machine a socket's handshake may fail: set the visit up afresh.
                    for attempt in range(3):
                        try:
                            await asyncio.wait_for(visits[n].start(), 120)
                            break
                        except (TimeoutError, OSError, socketio.exceptions.ConnectionError):
                            if attempt == 2:
                                raise
                            await visits[n].close()
                            visits[n] = Visit(base, *tokens[n])
                    ready += 1
                    print(f"visit {ready} ready", file=sys.stderr, flush=True)

                # A few at a time: a hundred visits one by one take minutes to set up.
                for first in range(0, len(visits), SETUP_AT_ONCE):
                    await asyncio.gather(
                        *(start(n) for n in range(first, min(first + SETUP_AT_ONCE, len(visits))))
                    )
                db_kind = "postgresql" if url.startswith("postgres") else "sqlite"
                # The gentle load first: a backlog the throughput run left behind would
                # otherwise be measured as latency.
                meter = CpuMeter(server_pid)
                lat = await latency(visits[: args.visits], args.seconds)
                latency_cpu = meter.figures()
                print(
                    json.dumps(
                        {
                            "measure": "latency",
                            "database": db_kind,
                            "visits": args.visits,
                            "readings": len(lat),
                            "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
                            "latency_p99_ms": round(lat[int(0.99 * (len(lat) - 1))], 1)
                            if lat
                            else None,
                            "readings_per_s": round(len(lat) / args.seconds, 1),
                            **latency_cpu,
                        }
                    ),
                    flush=True,
                )
                meter = CpuMeter(server_pid)
                offered = await throughput(visits[: args.throughput_visits], args.seconds / 2)
                throughput_cpu = meter.figures()
                print(
                    json.dumps(
                        {
                            "measure": "throughput",
                            "database": db_kind,
                            **offered,
                            "visits": args.throughput_visits,
                            **throughput_cpu,
                        }
                    ),
                    flush=True,
                )
                for visit in visits:
                    await visit.close()
                store, store_cpu = await store_rate(
                    url, tokens[0][0], args.seconds / 2, args.store_workers
                )
                print(
                    json.dumps(
                        {
                            "measure": "store",
                            "database": db_kind,
                            "readings_per_s": round(store, 1),
                            "visits": 1,
                            "workers": args.store_workers,
                            **store_cpu,
                        }
                    )
                )


if __name__ == "__main__":
    asyncio.run(main())

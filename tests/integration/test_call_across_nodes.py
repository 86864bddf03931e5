"""Two Hearth processes (``hearth serve``) on one PostgreSQL and one Redis hold one call: the
clinician's socket reaches node A, the family's node B, and neither node routes by visit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from yarl import URL

from server.app.factory import create_app
from server.core.settings import Settings
from server.realtime.nodes import RedisNodes
from server.realtime.wiring import REALTIME
from server.services.live import LIVE
from signaling.cluster import ClusterNamespace
from signaling.errors import SignalingError
from tests.builders import Agent
from tests.conftest import FakeClock, missing_service
from tests.visit_clients import VisitClient

REDIS_URL = "redis://127.0.0.1:6379/0"
MAGENTA, CYAN = (255, 0, 255), (0, 255, 255)
START_TIMEOUT_S = 60.0


@pytest.fixture
def clock() -> FakeClock:
    # The nodes run on the real clock: the visit and its link must be valid now.
    return FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


class Node:
    """A ``hearth serve`` process, addressed as the test agents address a test client."""

    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port = port
        self.process = process
        self.log = log

    def make_url(self, path: str) -> URL:
        return URL(f"http://127.0.0.1:{self.port}{path}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _redis_answers() -> bool:
    client = aioredis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001 - any failure means no Redis here
        return False
    finally:
        await client.aclose()


async def _ready(node: Node) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while True:
            if node.process.poll() is not None:
                raise AssertionError(f"node stopped: {node.log.read_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(node.make_url("/readyz")) as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"node not ready: {node.log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)


@pytest.fixture
async def nodes(
    settings: Settings, tmp_path: Path, own_redis_channel: str
) -> AsyncIterator[Callable[[], Node]]:
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    started: list[Node] = []

    def start() -> Node:
        port = _free_port()
        log = tmp_path / f"node-{port}.log"
        env = {
            **os.environ,
            "HEARTH_HOST": "127.0.0.1",
            "HEARTH_PORT": str(port),
            "HEARTH_DATABASE_URL": settings.database_url,
            "HEARTH_SECRET_KEY": settings.secret_key or "",
            "HEARTH_PUBLIC_URL": settings.public_url or "",
            "HEARTH_VAR_DIR": str(tmp_path / f"var-{port}"),
            "HEARTH_REDIS_URL": REDIS_URL,
            # This run's own channel and keys, as the in-process nodes of this worker.
            "HEARTH_REDIS_CHANNEL": own_redis_channel,
            "HEARTH_MEDIA_WORKERS": "0",
            "HEARTH_MEDIA_HOST_ADDRESSES": "127.0.0.1",  # ICE on loopback (docs/testing.md)
        }
        command = [sys.executable, "-c", "from server.app.cli import main; main(['serve'])"]
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        node = Node(port, process, log)
        started.append(node)
        return node

    yield start
    # Killed, not stopped: an orderly stop takes seconds and is not what this test is about;
    # the database is dropped with its connections, and a node's keys lapse in Redis.
    for node in started:
        node.process.kill()
    for node in started:
        node.process.wait()


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) < 60 for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_family_on_one_node_and_a_clinician_on_another_share_a_call(
    world, nodes, loopback_ice
) -> None:
    node_a, node_b = nodes(), nodes()
    await asyncio.gather(_ready(node_a), _ready(node_b))
    encounter_id = world.encounters["a"].id
    nurse = VisitClient(Agent(node_a))
    son = VisitClient(Agent(node_b))
    try:
        await nurse.agent.login(world.users["clin_a"].email)
        await son.agent.join(world.tokens["a"])
        await nurse.connect()
        await son.connect()
        assert (await nurse.join(encounter_id))["state"] == "admitted"
        # Node B hands the family's join to node A, which runs the visit's room: the
        # clinician on A sees them waiting, and admitting them reaches their socket on B.
        assert (await son.join(encounter_id))["state"] == "lobby"
        await nurse.wait_for(
            lambda: any(
                [w["participant_id"] for w in e["waiting"]] == [son.participant_id]
                for e in nurse.events["lobby"]
            )
        )
        assert await nurse.call("admit", {"participant_id": son.participant_id}) == {"ok": True}
        await son.wait_for(lambda: son.events["admitted"])

        # The family's offer and answers go to node A's media through node B.
        await nurse.publish(MAGENTA)
        await son.publish(CYAN)
        await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > 5, within=30)
        await son.wait_for(lambda: son.frames_from(nurse.participant_id) > 5, within=30)
        assert _close(nurse.last_colour[son.participant_id], CYAN)
        assert _close(son.last_colour[nurse.participant_id], MAGENTA)

        # Presence is shared: node B's visit list says who is in the call on node A.
        # (Asked for the hours around now: the nodes run on the real clock, and near midnight
        # the visit, 20 minutes away, falls on tomorrow, outside the default "today".)
        now = dt.datetime.now(dt.UTC)
        around = {
            "from": (now - dt.timedelta(hours=2)).isoformat(),
            "to": (now + dt.timedelta(hours=2)).isoformat(),
        }
        async with nurse.agent.http.get(
            node_b.make_url("/api/encounters"), params=around
        ) as response:
            assert response.status == 200
            listed = {e["id"]: e for e in (await response.json())["items"]}
        assert listed[encounter_id]["live"] == {"waiting": 0, "in_call": 2}
    finally:
        await son.close()
        await nurse.close()
        await son.agent.close()
        await nurse.agent.close()


async def test_a_visit_has_one_node_and_another_takes_it_over_when_that_node_stops(
    own_redis_channel: str,
) -> None:
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    channel = f"{own_redis_channel}-claims"
    a, b = RedisNodes(REDIS_URL, channel), RedisNodes(REDIS_URL, channel)
    await a.start()
    await b.start()
    try:

        async def echo(request: dict[str, object]) -> object:
            return request["x"]

        a.serve("echo", echo)
        assert await b.ask(a.node_id, {"op": "echo", "x": [1, "two"]}) == [1, "two"]
        # Two nodes claiming at once: one wins, and both are told the same.
        first, second = await asyncio.gather(a.claim(1), b.claim(1))
        assert first == second
        assert await a.claim(2) == a.node_id
        assert await b.claim(2) == a.node_id
        assert await b.owners([2, 3]) == {2: a.node_id, 3: None}
        # A node that stalled past its heartbeat loses its visits to the next claim, and its
        # next round says so.
        await b._redis.delete(b._node_key(a.node_id))
        assert await b.claim(2) == b.node_id
        assert await a.keep([2], []) == {2}
        # A node that stops is taken over at once (it no longer listens on its channel).
        assert await a.claim(4) == a.node_id
        await a.close()
        assert await b.alive([a.node_id, b.node_id]) == {b.node_id}
        assert await b.claim(4) == b.node_id
        with pytest.raises(SignalingError):
            await b.ask(a.node_id, {"op": "echo", "x": 1})
        # Rooms that emptied give their claims up.
        assert await b.keep([4], [2]) == set()
        assert await b.owners([2, 4]) == {2: None, 4: b.node_id}
    finally:
        await b.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_when_a_visits_node_stops_its_people_elsewhere_join_again_on_a_live_one(
    aiohttp_client, settings, clock, world
) -> None:
    """Two nodes in this process (cheap: no media): the family's socket on node B is in the
    room node A runs; node A stops, node B's next claims round closes that socket's
    connection (a page reconnects by itself), and joining again finds a room on node B."""
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    shared = dataclasses.replace(settings, redis_url=REDIS_URL)
    node_a, node_b = [
        await aiohttp_client(TestServer(create_app(shared, clock=clock))) for _ in range(2)
    ]
    encounter_id = world.encounters["a"].id
    nurse, son = VisitClient(Agent(node_a)), VisitClient(Agent(node_b))
    try:
        await nurse.agent.login(world.users["clin_a"].email)
        await son.agent.join(world.tokens["a"])
        await nurse.connect()
        await son.connect()
        await nurse.join(encounter_id)
        assert (await son.join(encounter_id))["state"] == "lobby"
        namespace = node_b.app[REALTIME].namespace
        assert isinstance(namespace, ClusterNamespace)
        assert namespace.rooms.get(encounter_id) is None  # the room runs on node A
        # Node A ends a family's live connection (a revoked link, a cancelled visit) even
        # when its socket is on node B.
        await node_a.app[LIVE].expel(lambda c: c.kind == "family", "This link has ended.")
        await son.wait_for(lambda: son.events["denied"] and not son.sio.connected)
        son = VisitClient(son.agent)
        await son.connect()
        assert (await son.join(encounter_id))["state"] == "lobby"

        await nurse.close()
        await node_a.close()
        await namespace.keep_claims()
        await son.wait_for(lambda: not son.sio.connected)

        again = VisitClient(son.agent)
        await again.connect()
        try:
            assert (await again.join(encounter_id))["state"] == "lobby"
            assert namespace.rooms.get(encounter_id) is not None
        finally:
            await again.close()
    finally:
        await son.close()
        await nurse.agent.close()
        await son.agent.close()

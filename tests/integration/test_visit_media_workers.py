"""A visit's call through a media worker process (HEARTH_MEDIA_WORKERS=1), driven through
/visit by real aiortc peers: media, the readings data channel, and a worker that dies."""

from __future__ import annotations

import dataclasses
import os
import signal
import uuid

import pytest

from media import WorkerPool
from server.core.settings import Settings
from server.realtime.wiring import REALTIME
from tests.visit_clients import VisitClient

MAGENTA, CYAN, YELLOW = (255, 0, 255), (0, 255, 255), (255, 255, 0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, media_workers="1", media_host_addresses="127.0.0.1")


@pytest.fixture
async def visit(world):  # type: ignore[no-untyped-def]
    clients: list[VisitClient] = []

    async def enter(who: str) -> VisitClient:
        client = VisitClient(await world.agent(who))
        clients.append(client)
        await client.connect()
        await client.join(world.encounters["a"].id)
        return client

    yield enter
    for client in clients:
        await client.close()


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) < 60 for x, y in zip(a, b, strict=True))


async def test_a_call_and_its_readings_run_through_a_worker_process(
    world, visit, client, clock
) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    assert await nurse.call("admit", {"participant_id": son.participant_id}) == {"ok": True}
    await nurse.publish(MAGENTA)
    await son.publish(CYAN)

    await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > 5, within=30)
    await son.wait_for(lambda: son.frames_from(nurse.participant_id) > 5, within=30)
    assert _close(nurse.last_colour[son.participant_id], CYAN)
    assert _close(son.last_colour[nurse.participant_id], MAGENTA)
    pool = client.app[REALTIME].hub
    assert isinstance(pool, WorkerPool)
    room_id = f"encounter-{world.encounters['a'].id}"
    assert pool.room_worker(room_id) in pool.worker_pids()
    assert pool.room_worker(room_id) != os.getpid()
    # The roster's tracks come from the worker's view.
    roster = nurse.events["participants"][-1]
    assert {p["participant_id"]: sorted(p["tracks"]) for p in roster}[son.participant_id] == [
        "audio",
        "video",
    ]

    # A reading on the data channel crosses to the app, is stored, acknowledged and pushed.
    reading = {
        "id": str(uuid.uuid4()),
        "kind": "heart_rate",
        "value": 72,
        "unit": "/min",
        "taken_at": clock.now().isoformat(),
        "source": "manual",
    }
    assert await son.send_reading(reading) == {"ack": reading["id"]}
    await nurse.wait_for(lambda: any(r.get("value") == 72 for r in nurse.events["reading"]))


async def test_a_worker_that_dies_is_replaced_and_the_call_resumes(world, visit, client) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    await nurse.call("admit", {"participant_id": son.participant_id})
    await nurse.publish(MAGENTA)
    await son.publish(CYAN)
    await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > 5, within=30)
    pool = client.app[REALTIME].hub
    room_id = f"encounter-{world.encounters['a'].id}"
    crashed = pool.room_worker(room_id)

    os.kill(crashed, signal.SIGKILL)

    # Both pages are told their media is gone (what makes a browser page offer again).
    await nurse.wait_for(lambda: nurse.events["media_lost"], within=10)
    await son.wait_for(lambda: son.events["media_lost"], within=10)
    await nurse.wait_for(lambda: pool.worker_pids() and crashed not in pool.worker_pids())
    # Nobody left the visit: only their peer connections went.
    roster = nurse.events["participants"][-1]
    assert {p["participant_id"] for p in roster} == {nurse.participant_id, son.participant_id}

    before = nurse.frames_from(son.participant_id)
    await nurse.publish(MAGENTA)
    await son.publish(YELLOW)
    await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > before + 5, within=30)
    await nurse.wait_for(lambda: _close(nurse.last_colour[son.participant_id], YELLOW), within=15)
    await son.wait_for(lambda: son.frames_from(nurse.participant_id) > 5, within=30)
    assert pool.room_worker(room_id) == pool.worker_pids()[0]

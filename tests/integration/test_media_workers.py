"""WorkerPool: visits' media in worker processes, with real aiortc peers on loopback.

The same browser stand-ins as tests/integration/test_media_hub.py, but the hub they talk to
runs in ``media.worker`` processes: offers, answers and data-channel messages cross the
pool's Unix sockets, and what the app asks synchronously (participants, sources, counters)
comes from the workers' views. A worker killed mid-call is replaced and its participants
are reported failed, so their pages offer again and the call resumes.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiortc import RTCSessionDescription

from media import MediaCallbacks
from media.workers import WorkerPool
from tests.integration.test_media_hub import (
    BLUE,
    GREEN,
    HEIGHT,
    RED,
    TIMEOUT_S,
    WIDTH,
    YELLOW,
    Client,
    close_to,
    until,
)

LOOPBACK = ["127.0.0.1"]


class RoomClient(Client):
    """A browser stand-in in a room of its own choosing."""

    def __init__(self, pool: WorkerPool, room: str, pid: str, colour: tuple[int, int, int]):
        super().__init__(pool, pid, colour)  # type: ignore[arg-type]
        self.room = room

    async def connect(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await asyncio.wait_for(
            self.hub.handle_offer(self.room, self.participant_id, self.pc.localDescription.sdp),
            TIMEOUT_S,
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def answer(self, offer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.hub.handle_answer(self.room, self.participant_id, self.pc.localDescription.sdp)


@dataclass
class App:
    """What signalling does with the pool's reports, routed to the stand-ins."""

    clients: dict[tuple[str, str], RoomClient] = field(default_factory=dict)
    states: list[tuple[str, str, str]] = field(default_factory=list)
    pool: WorkerPool | None = None

    async def renegotiate(self, room: str, pid: str, sdp: str) -> None:
        await self.clients[(room, pid)].answer(sdp)

    async def peer_state(self, room: str, pid: str, state: str) -> None:
        self.states.append((room, pid, state))

    async def data_message(self, room: str, pid: str, label: str, text: str) -> str | None:
        return f"{room}/{pid}/{label}:{text}"

    async def join(self, room: str, pid: str, colour: tuple[int, int, int]) -> RoomClient:
        assert self.pool is not None
        old = self.clients.get((room, pid))
        if old is not None:
            await old.close()
        client = self.clients[(room, pid)] = RoomClient(self.pool, room, pid, colour)
        await client.connect()
        return client

    def receiving(self, client: RoomClient, expected: dict[str, tuple[int, int, int]]):  # type: ignore[no-untyped-def]
        def check() -> bool:
            assert self.pool is not None
            sources = self.pool.sources(client.room, client.participant_id)
            for publisher, colour in expected.items():
                mids = {kind: mid for mid, (pid, kind) in sources.items() if pid == publisher}
                if set(mids) != {"audio", "video"}:
                    return False
                video, audio = (
                    client.received.get(mids["video"]),
                    client.received.get(mids["audio"]),
                )
                if video is None or audio is None or not close_to(video.colour, colour):
                    return False
                if audio.frames == 0:
                    return False
            return {pid for pid, _ in sources.values()} == set(expected)

        return check


async def make_pool(workers: int) -> AsyncIterator[tuple[WorkerPool, App]]:
    app = App()
    pool = WorkerPool(
        workers=workers,
        ice_servers=[],
        callbacks=MediaCallbacks(app.renegotiate, app.peer_state, app.data_message),
        host_addresses=LOOPBACK,
    )
    app.pool = pool
    await asyncio.wait_for(pool.start(), TIMEOUT_S)
    try:
        yield pool, app
    finally:
        for client in app.clients.values():
            await client.close()
        await asyncio.wait_for(pool.close(), TIMEOUT_S)
        assert pool.worker_pids() and all(not _alive(pid) for pid in pool.worker_pids())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False  # ended and reaped by the pool
    return True


@pytest.fixture
async def one_worker() -> AsyncIterator[tuple[WorkerPool, App]]:
    async for made in make_pool(1):
        yield made


@pytest.fixture
async def two_workers() -> AsyncIterator[tuple[WorkerPool, App]]:
    async for made in make_pool(2):
        yield made


async def test_a_three_party_call_runs_in_a_worker_process(
    one_worker: tuple[WorkerPool, App],
) -> None:
    pool, app = one_worker
    a, b, c = await asyncio.gather(
        app.join("v1", "A", RED), app.join("v1", "B", GREEN), app.join("v1", "C", BLUE)
    )

    await until(app.receiving(a, {"B": GREEN, "C": BLUE}), "A to decode B and C")
    await until(app.receiving(b, {"A": RED, "C": BLUE}), "B to decode A and C")
    await until(app.receiving(c, {"A": RED, "B": GREEN}), "C to decode A and B")

    worker = pool.room_worker("v1")
    assert worker is not None and worker != os.getpid() and worker in pool.worker_pids()
    assert sorted(pool.participants("v1")) == ["A", "B", "C"]
    assert sorted(pool.tracks_of("v1", "A")) == ["audio", "video"]
    await until(
        lambda: all(pool.counters("v1", p)["video_frames_to"] > 0 for p in "ABC"),
        "the workers' counters to reach the app",
    )
    # A room's view goes to the app with each change; the worker's totals once a second.
    await until(
        lambda: pool.totals().get("video_frames_from", 0) > 0,
        "the worker's totals to reach the app",
    )
    assert {("v1", p, "connected") for p in "ABC"} <= set(app.states)

    # A data-channel message crosses to the app and its reply goes back to the page.
    await until(lambda: a.channel.readyState == "open", "A's data channel to open")
    a.channel.send('{"type": "spo2"}')
    assert await asyncio.wait_for(a.replies.get(), TIMEOUT_S) == 'v1/A/readings:{"type": "spo2"}'

    image = await asyncio.wait_for(pool.snapshot("v1", "A"), TIMEOUT_S)
    assert image is not None and image.shape == (HEIGHT, WIDTH, 3)
    assert close_to(tuple(int(v) for v in image[HEIGHT // 2, WIDTH // 2]), RED)  # type: ignore[arg-type]

    await asyncio.wait_for(pool.remove("v1", "B"), TIMEOUT_S)
    await until(lambda: ("v1", "B", "closed") in app.states, "B to be reported closed")
    assert sorted(pool.participants("v1")) == ["A", "C"]
    await asyncio.wait_for(pool.close_room("v1"), TIMEOUT_S)
    assert pool.participants("v1") == []
    # Unpinned once no call for the room is in flight (answers to its last offers may be).
    await until(lambda: pool.room_worker("v1") is None, "the visit to leave its worker")


async def test_visits_are_spread_over_the_workers_and_refusals_cross_back(
    two_workers: tuple[WorkerPool, App],
) -> None:
    pool, app = two_workers
    a1, b1 = await asyncio.gather(app.join("v1", "A", RED), app.join("v1", "B", GREEN))
    a2, b2 = await asyncio.gather(app.join("v2", "A", BLUE), app.join("v2", "B", YELLOW))

    await until(app.receiving(a1, {"B": GREEN}), "visit 1's A to decode its B")
    await until(app.receiving(b2, {"A": BLUE}), "visit 2's B to decode its A")
    assert {pool.room_worker("v1"), pool.room_worker("v2")} == set(pool.worker_pids())

    # The hub's refusals keep their codes across the process boundary.
    with pytest.raises(Exception) as refused:
        await pool.handle_offer("v1", "X", "not sdp")
    assert getattr(refused.value, "code", None) == "bad_sdp"
    with pytest.raises(Exception) as no_peer:
        await pool.handle_answer("v3", "X", "v=0")
    assert getattr(no_peer.value, "code", None) == "no_such_peer"
    del a2, b1


async def test_a_crashed_worker_is_replaced_and_its_visit_reconnects(
    one_worker: tuple[WorkerPool, App],
) -> None:
    pool, app = one_worker
    a, b = await asyncio.gather(app.join("v1", "A", RED), app.join("v1", "B", GREEN))
    await until(app.receiving(a, {"B": GREEN}), "A to decode B")
    await until(lambda: pool.counters("v1", "A")["video_frames_to"] > 0, "A's counters")
    before = pool.totals()["video_frames_to"]
    crashed = pool.room_worker("v1")
    assert crashed is not None

    os.kill(crashed, signal.SIGKILL)

    await until(
        lambda: {("v1", "A", "failed"), ("v1", "B", "failed")} <= set(app.states),
        "both participants to be reported failed",
    )
    await until(
        lambda: len(pool.worker_pids()) == 1 and crashed not in pool.worker_pids(), "a new worker"
    )
    assert pool.participants("v1") == []
    assert pool.totals()["video_frames_to"] >= before  # what the dead worker did still counts

    # The pages offer again, as they do on "failed", and the call resumes on the new worker.
    a, b = await asyncio.gather(app.join("v1", "A", RED), app.join("v1", "B", GREEN))
    await until(app.receiving(a, {"B": GREEN}), "A to decode B again")
    await until(app.receiving(b, {"A": RED}), "B to decode A again")
    assert pool.room_worker("v1") == pool.worker_pids()[0]

"""The fallback ladder with real aiortc peers: a lossy link to one subscriber pauses that
subscriber's video (audio goes on) while another subscriber keeps it; lifting the loss
resumes it. Losses come from a small UDP proxy on loopback, as in test_forwarding.py."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCSessionDescription

from media import ForwardingRelay
from media.fallback import FULL, VIDEO_PAUSED, Ladder
from tests.integration.test_forwarding import (
    GREEN,
    RED,
    ROOM,
    TIMEOUT_S,
    Client,
    World,
    _close_later,
    _hub_port,
    _remote_streams,
    decodes,
    hub_world,
    until,
)
from tests.udp_proxy import HubProxy

pytestmark = pytest.mark.usefixtures("loopback_ice")

# The ladder's times, shortened so the test takes seconds.
# Loss from a busy machine's loopback stays under the thresholds here; jitter and REMB are
# left out: on a busy test machine loopback jitter reaches 150 ms and
# aiortc's REMB of a tiny solid-colour stream is far under what it is sent; loss is the test.
FAST = Ladder(
    bad_loss=0.25,
    good_loss=0.10,
    pause_after_s=1.0,
    resume_after_s=2.0,
    bad_jitter_s=10.0,
    good_jitter_s=10.0,
    remb_share=0.0,
    silent_after_s=30.0,
)


class DroppingProxy(HubProxy):
    """UDP between one client and the hub: while ``dropping``, every other RTP packet
    towards the client is dropped (audio and video alike); everything else passes."""

    def __init__(self) -> None:
        super().__init__()
        self.dropping = False
        self.seen = 0

    def passes(self, data: bytes, to_hub: bool, is_rtp: bool) -> bool:
        if not to_hub and is_rtp and self.dropping:
            self.seen += 1
            return self.seen % 2 != 0
        return True


@pytest.fixture
async def ladder_world() -> AsyncIterator[tuple[World, list[tuple[str, str]]]]:
    steps: list[tuple[str, str]] = []
    async with hub_world(lambda: ForwardingRelay(FAST), steps) as built:
        yield built, steps


async def _behind_proxy(world: World, pid: str) -> tuple[Client, DroppingProxy]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    client = world.clients[pid] = Client(world.hub, pid, GREEN)
    client.proxy_port = sock.getsockname()[1]
    proxy = DroppingProxy()
    transport, _ = await loop.create_datagram_endpoint(lambda: proxy, sock=sock)
    await client.pc.setLocalDescription(await client.pc.createOffer())
    answer = await asyncio.wait_for(
        world.hub.handle_offer(ROOM, pid, client.pc.localDescription.sdp), TIMEOUT_S
    )
    proxy.hub = ("127.0.0.1", _hub_port(answer))
    await client.pc.setRemoteDescription(
        RTCSessionDescription(sdp=client._candidates(answer), type="answer")
    )
    client._tasks.append(asyncio.ensure_future(_close_later(transport)))
    return client, proxy


async def test_a_lossy_subscriber_loses_video_alone_and_gets_it_back(
    ladder_world: tuple[World, list[tuple[str, str]]],
) -> None:
    world, steps = ladder_world
    await world.join("A", RED)
    b, proxy = await _behind_proxy(world, "B")
    c = await world.join("C", (255, 0, 0))
    await until(decodes(b, RED), "B to decode A")
    await until(decodes(c, RED), "C to decode A")

    proxy.dropping = True
    await until(lambda: ("B", VIDEO_PAUSED) in steps, "the relay to pause video to B")
    video_b, audio_b = b.seen["video"].frames, b.seen["audio"].frames
    paused_at = _received(b, "A")
    video_c = c.seen["video"].frames
    await until(lambda: c.seen["video"].frames > video_c + 15, "C to keep its video")
    # What was in flight at the pause, and repairs of earlier losses, have arrived by now
    # (more of them on a busy machine); from here on nothing of A's video reaches B.
    settled = _received(b, "A")
    await until(lambda: b.seen["audio"].frames > audio_b + 25, "B to keep its sound")
    assert b.seen["video"].frames <= video_b + 2  # a frame in flight at most
    assert _received(b, "A") <= settled + 10  # a few late repairs at most
    assert paused_at <= settled

    proxy.dropping = False
    received = _received(b, "A")
    pli = world.hub.counters(ROOM, "A")["keyframe_requests_to"]
    await until(lambda: steps[-1] == ("B", FULL), "the relay to resume video to B")
    # Forwarded again from a fresh keyframe (aiortc's own receiver then waits out the holes
    # the loss left in its jitter buffer before it shows a picture; a browser does not).
    await until(lambda: _received(b, "A") > received + 20, "A's video to reach B again")
    assert world.hub.counters(ROOM, "A")["keyframe_requests_to"] > pli
    assert all(pid == "B" for pid, _step in steps)


def _received(client: Client, publisher: str) -> int:
    return sum(s.packets_received for s in _remote_streams(client, publisher).values())

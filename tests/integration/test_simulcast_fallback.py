"""Simulcast and the fallback ladder together, with real aiortc peers (issue 20's Done-when).

A simulcast publisher (test_simulcast_relay.py) and two subscribers, each behind a lossy,
rate-limited UDP proxy on loopback (tests/udp_proxy.py). Narrowing one subscriber's link
takes it down the layers, then its video pauses and sound goes on alone; widening it brings
video back from a keyframe of the lowest layer and then up the layers again. The other
subscriber keeps the top layer throughout. Both the relay's decisions (the layer the hub
says it forwards, the ladder steps it reports) and what each subscriber receives are checked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from media import ForwardingRelay
from media.fallback import AUDIO_LOST, FULL, VIDEO_PAUSED
from tests.integration.test_forwarding import (
    ROOM,
    World,
    _payload_type,
    hub_world,
    until,
)
from tests.integration.test_simulcast_relay import (
    LADDER,
    LAYERS,
    PICTURE_ID_SPAN,
    SimulcastPublisher,
    Watch,
    _behind_proxy,
    _rtx_payload_type,
)
from tests.udp_proxy import LimitingProxy

# Judged by loss on loopback: run by make test after the rest, alone (docs/testing.md).
pytestmark = [pytest.mark.usefixtures("loopback_ice"), pytest.mark.alone]

# test_simulcast_relay.py's times, but video waits 8 s of good reports before it resumes: long
# enough that the sound alone is measured before the relay tries video again (as it may, the
# limit still on, once the sound has been good for that long).
FALLBACK = replace(LADDER, resume_after_s=8.0)


class Arrivals(Watch):
    """``Watch``, and the video packets (not repairs) in the order they arrive: (picture id,
    keyframe start)."""

    def __init__(self, client: Any, proxy: LimitingProxy) -> None:
        self.arrived: list[tuple[int, bool]] = []
        sdp = client.pc.localDescription.sdp
        super().__init__(client, proxy.video_pt, _rtx_payload_type(sdp, proxy.video_pt))

    async def _handle(self, data: bytes, arrival_time_ms: int) -> None:
        media = data[1] & 0x7F == self._pt
        seq = int.from_bytes(data[2:4])
        if media:
            self.packets.pop(seq, None)  # a number seen before the sequence wrapped
        await super()._handle(data, arrival_time_ms)
        if media and seq in self.packets:
            self.arrived.append(self.packets[seq])


async def _rates_bps(proxy: LimitingProxy) -> dict[int, float]:
    """Payload type -> what ``proxy`` passes on to its client of it, over 1.5 s."""
    before, start = dict(proxy.delivered_bytes), time.monotonic()
    await asyncio.sleep(1.5)
    seconds = time.monotonic() - start
    return {pt: (n - before.get(pt, 0)) * 8 / seconds for pt, n in proxy.delivered_bytes.items()}


@pytest.fixture
async def steps_world() -> AsyncIterator[tuple[World, list[tuple[str, str]]]]:
    steps: list[tuple[str, str]] = []
    async with hub_world(lambda: ForwardingRelay(FALLBACK, LAYERS), steps) as built:
        yield built, steps


async def test_a_narrowing_link_goes_down_the_layers_to_sound_alone_and_back_up(
    steps_world: tuple[World, list[tuple[str, str]]],
) -> None:
    world, steps = steps_world
    hub = world.hub
    a = SimulcastPublisher(hub, "A")
    try:
        await a.connect()
        b, b_proxy = await _behind_proxy(world, "B")
        c, c_proxy = await _behind_proxy(world, "C")
        b_video, c_video = Arrivals(b, b_proxy), Arrivals(c, c_proxy)
        opus = _payload_type(b.pc.localDescription.sdp, "opus")
        assert opus == _payload_type(c.pc.localDescription.sdp, "opus")

        def layer_of(pid: str) -> str | None:
            return hub.layers(ROOM, pid).get("A")

        def step_of_b() -> str:
            return next((step for pid, step in reversed(steps) if pid == "B"), FULL)

        # Both start on the top layer. (A loaded machine's loopback loses packets now and
        # then, so either may step down for a while at first, and comes back.)
        await until(lambda: layer_of("B") == "f", "B on the top layer", 40)
        await until(lambda: b_video.layer() == 2, "B to receive the top layer", 20)
        await until(lambda: c_video.layer() is not None, "C to receive video", 20)

        # Down the layers. Each limit is set from what B receives at the time (a loaded
        # machine's encoders send less than their targets): well under what it gets, and
        # room enough for the layer below (a third of the rate or less) and the sound. (A
        # loaded machine's event loop sends in bursts: the bucket holds a second's worth.)
        b_proxy.burst_s = 1.0
        b_proxy.limit_bps = int(0.6 * sum((await _rates_bps(b_proxy)).values()))
        await until(lambda: layer_of("B") == "h", "B to go down to the half layer", 40)
        await until(lambda: b_video.layer() == 1, "B to receive the half layer", 20)
        b_proxy.limit_bps = int(0.6 * sum((await _rates_bps(b_proxy)).values()))
        await until(lambda: layer_of("B") == "q", "B to go down to the quarter layer", 40)
        await until(lambda: b_video.layer() == 0, "B to receive the quarter layer", 20)
        assert step_of_b() == FULL  # a lower layer was left: no pause yet
        await until(lambda: layer_of("C") == "f", "C on the top layer", 30)

        # Not even the lowest layer fits, the sound alone does: video pauses, sound goes on.
        sound = (await _rates_bps(b_proxy))[opus]
        b_proxy.burst_s = 2.0
        b_proxy.limit_bps = int(1.5 * sound)
        await until(lambda: step_of_b() == VIDEO_PAUSED, "the relay to pause video to B", 30)
        await asyncio.sleep(1.0)  # what was in flight at the pause; the bucket fills again
        # Sound alone, measured while video to B stays paused. (With the limit still on, the
        # relay tries video again once the sound has been good for 8 s; a loaded machine may
        # get there before C has had its second of sound: the window then ends there.)
        start = {"b": b_proxy.delivered[opus], "c": c_proxy.delivered[opus]}
        start["video"] = len(b_video.arrived)
        window = dict(start)

        def measured() -> bool:
            if step_of_b() != VIDEO_PAUSED:
                return True
            window.update(b=b_proxy.delivered[opus], c=c_proxy.delivered[opus])
            window["video"] = len(b_video.arrived)
            return window["c"] >= start["c"] + 50

        await until(measured, "C to get a second of sound while B's video is paused", 30)
        b_audio, c_audio = window["b"] - start["b"], window["c"] - start["c"]
        assert c_audio >= 25, (c_audio, steps)  # enough sound measured
        assert b_audio >= 0.9 * c_audio, (b_audio, c_audio)
        assert window["video"] <= start["video"] + 2  # no video to B meanwhile

        # The link widens: video comes back from a keyframe of the lowest layer, then up.
        resumed_from = window["video"]  # (the last count while video was paused)
        b_proxy.limit_bps = None
        await until(lambda: step_of_b() == FULL, "the relay to resume video to B", 30)
        await until(lambda: len(b_video.arrived) > resumed_from, "B to receive video again", 20)
        picture, keyframe = b_video.arrived[resumed_from]
        assert picture // PICTURE_ID_SPAN == 0 and keyframe, b_video.arrived[resumed_from:][:5]
        await until(lambda: layer_of("B") in ("h", "f"), "B to come back up a layer", 40)
        await until(lambda: layer_of("B") == "f", "B to come back up to the top layer", 40)
        await until(lambda: b_video.layer() == 2, "B to receive the top layer again", 20)

        await until(lambda: layer_of("C") == "f", "C on the top layer", 30)
        await until(lambda: c_video.layer() == 2, "C to receive the top layer", 20)
        assert all(pid == "B" for pid, _step in steps), steps  # C's link never moved
        assert ("B", AUDIO_LOST) not in steps
    finally:
        await a.close()

"""What one video subscriber's receiver reports and NACKs do (media/forwarding.py ``_Port``).

A real ``_Source`` (three simulcast layers, fed through a hooked aiortc receiver as in
test_idle_layers.py) forwards to a real aiortc sender whose transport writes into a list;
the subscriber's reports and NACKs are made here, from what it would have received. The
relay's clock is a fake one, moved on as packets are fed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCRtpCodecParameters
from aiortc.rtp import (
    RTCP_RTPFB_NACK,
    RtcpReceiverInfo,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtpPacket,
)

from media import fallback, forwarding, keyframes, simulcast
from media.counters import Counters
from tests.unit.test_idle_layers import DELTA, KEY, _rtp, _scene

VP8_OUT = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=100)
RTX_OUT = RTCRtpCodecParameters(
    mimeType="video/rtx", clockRate=90000, payloadType=101, parameters={"apt": 100}
)
FPS = 30
POLICY = simulcast.Policy(remb_share=0.0, down_after_s=1.0, up_after_s=2.0)
# The ladder out of the way: these tests are about what reports are judged, not its steps.
LADDER = fallback.Ladder(bad_jitter_s=10.0, good_jitter_s=10.0, remb_share=0.0, lost_loss=1.1)


class Clock:
    """The relay's ``time`` module: a monotonic clock moved on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    relay_time = SimpleNamespace(monotonic=fake.monotonic, time=fake.time)
    monkeypatch.setattr(forwarding, "time", relay_time)
    yield fake


class Subscriber:
    """What the subscriber receives of what the relay sent, and its receiver reports
    (RFC 3550 §6.4.1: cumulative and per-interval loss from the highest sequence number)."""

    def __init__(self, port: forwarding._Port) -> None:
        self.port = port
        self.out: list[RtpPacket] = []  # every packet the relay wrote, in order
        self.received: set[int] = set()
        self.first: int | None = None
        self.highest: int | None = None  # extended
        self._last = (0, 0)  # (expected, received) at the previous report

    def arrive(self, packet: RtpPacket) -> None:
        seq = packet.sequence_number
        if self.first is None:
            self.first = self.highest = seq
        assert self.highest is not None
        ext = self.highest + ((seq - self.highest) & 0xFFFF)
        if (seq - self.highest) & 0xFFFF >= 0x8000:
            ext = self.highest - ((self.highest - seq) & 0xFFFF)
        self.highest = max(self.highest, ext)
        self.received.add(ext)

    def report(self) -> None:
        if self.first is None or self.highest is None:
            expected = received = 0
        else:
            expected, received = self.highest - self.first + 1, len(self.received)
        interval = expected - self._last[0]
        lost = interval - (received - self._last[1])
        self._last = (expected, received)
        fraction = min(255, lost * 256 // interval) if interval > 0 and lost > 0 else 0
        block = RtcpReceiverInfo(
            ssrc=self.port.hooks.ssrc,
            fraction_lost=fraction,
            packets_lost=expected - received,
            highest_sequence=self.highest or 0,
            jitter=0,
            lsr=0,
            dlsr=0,
        )
        self.port._on_rtcp(RtcpRrPacket(ssrc=1, reports=[block]))

    async def nack(self, rewritten: list[int]) -> None:
        packet = RtcpRtpfbPacket(
            fmt=RTCP_RTPFB_NACK, ssrc=1, media_ssrc=self.port.hooks.ssrc, lost=rewritten
        )
        await self.port.hooks.sender._handle_rtcp_packet(packet)


async def _relay(
    clock: Clock,
) -> tuple[list[RTCPeerConnection], Any, forwarding.ForwardedSubscription, Subscriber]:
    pc, source, transport, _nacks = await _scene()
    out_pc = RTCPeerConnection()
    sender = out_pc.addTransceiver("video", direction="sendonly").sender
    port = forwarding._Port(sender)
    subscriber = Subscriber(port)

    async def send_rtp(data: bytes) -> None:
        subscriber.out.append(RtpPacket.parse(data))

    sender.transport._send_rtp = send_rtp  # type: ignore[method-assign]
    port.hooks.codecs = [VP8_OUT, RTX_OUT]
    port.hooks._rtx_payload_types = {100: 101}
    port.settled = True
    port.link = forwarding._Link(LADDER, lambda step: None)
    port.link.ports.add(port)
    sub = forwarding.ForwardedSubscription(source, port, Counters(), Counters(), POLICY)
    port.subscription = sub
    source.subscriptions.append(sub)
    source.update_intake()
    sub.request_keyframe()
    return [pc, out_pc], (source, transport), sub, subscriber


class Publisher:
    """Three layers' packets into the relay, one frame of one packet per layer a tick."""

    def __init__(self, transport: Any, clock: Clock) -> None:
        self.transport, self.clock = transport, clock
        self.seq = [100, 5000, 20000]
        self.key = [True, True, True]
        self.ticks = 0

    async def tick(self) -> None:
        self.ticks += 1
        self.clock.now += 1 / FPS
        for layer in range(3):
            payload = KEY if self.key[layer] else DELTA
            self.key[layer] = False
            await self.transport._handle_rtp_data(
                _rtp(self.transport, layer, self.seq[layer], payload, True), 0
            )
            self.seq[layer] += 1


async def _close(pcs: list[RTCPeerConnection]) -> None:
    for pc in pcs:
        await pc.close()


def test_frequent_small_reports_of_heavy_loss_step_the_subscriber_down(clock: Clock) -> None:
    """85 % of the top layer lost, a receiver report every three packets (as Chrome sends
    one with every NACK): most such reports cover packets none of which arrived (nothing
    expected, so no loss) and some cover the few that did. Judged over 20 packets or a
    second, the loss is there, and the subscriber goes down a layer."""

    async def run() -> None:
        pcs, (_source, transport), sub, subscriber = await _relay(clock)
        publisher = Publisher(transport, clock)
        try:
            for tick in range(5 * FPS):
                sent = len(subscriber.out)
                await publisher.tick()
                for packet in subscriber.out[sent:]:
                    if packet.sequence_number % 20 in (0, 1, 2):  # 15 % arrive
                        subscriber.arrive(packet)
                if tick % 3 == 2:
                    subscriber.report()
            assert len(subscriber.out) > 100
            assert sub.target < 2, "the subscriber kept the top layer"
        finally:
            await _close(pcs)

    asyncio.run(run())


def test_nacks_for_packets_before_a_switchs_keyframe_are_not_answered(clock: Clock) -> None:
    """After a switch the subscriber's decoder starts again from the new layer's keyframe:
    repairs of the old layer's lost packets would only fill the link that was too slow."""

    async def run() -> None:
        pcs, (_source, transport), sub, subscriber = await _relay(clock)
        publisher = Publisher(transport, clock)
        try:
            for _ in range(10):
                await publisher.tick()
            old = [p.sequence_number for p in subscriber.out]
            assert len(old) == 10 and sub.layer == 2
            sub.set_wanted_size(60, 40)  # a small tile: the quarter layer
            assert sub.target == 0
            publisher.key[0] = True
            for _ in range(10):
                await publisher.tick()
            assert sub.layer == 0 and sub.switches == 1
            new = [p.sequence_number for p in subscriber.out[len(old) :]]
            assert new[0] == (old[-1] + 1) & 0xFFFF  # the numbering goes on
            sent = len(subscriber.out)
            await subscriber.nack([old[-3], old[-1], new[0], new[4]])
            repairs = subscriber.out[sent:]
            assert all(p.payload_type == RTX_OUT.payloadType for p in repairs)
            assert [int.from_bytes(p.payload[:2], "big") for p in repairs] == [new[0], new[4]]
        finally:
            await _close(pcs)

    asyncio.run(run())


def test_reports_over_a_span_with_no_video_sent_do_not_raise_the_layer(clock: Clock) -> None:
    """Video resumed and waiting for its keyframe: nothing is sent, so the subscriber's
    reports show no loss; that is no sign the link could carry a higher layer."""

    async def run() -> None:
        pcs, (_source, transport), sub, subscriber = await _relay(clock)
        publisher = Publisher(transport, clock)
        try:
            tick = 0
            while sub.target == 2:  # half the top layer lost: down to the half layer
                sent = len(subscriber.out)
                await publisher.tick()
                for packet in subscriber.out[sent:]:
                    if packet.sequence_number % 2:
                        subscriber.arrive(packet)
                tick += 1
                if tick % 10 == 0:
                    subscriber.report()
                assert tick < 10 * FPS, "the subscriber was never stepped down"
            publisher.key[1] = True
            await publisher.tick()
            assert sub.layer == 1
            sub._port.pause_video(True)
            sub._port.pause_video(False)  # resumed: waiting for a keyframe of the half layer
            sent = len(subscriber.out)
            for tick in range(int(3 * POLICY.up_after_s * FPS)):
                await publisher.tick()  # delta frames only
                if tick % 10 == 9:
                    subscriber.report()
            assert len(subscriber.out) == sent  # nothing was sent meanwhile
            assert sub.target == 1
        finally:
            await _close(pcs)

    asyncio.run(run())


async def _lossy_ticks(
    publisher: Publisher, subscriber: Subscriber, ticks: int, lose_every: int | None
) -> None:
    """``ticks`` frames; every ``lose_every``-th packet lost (None: none); reports three
    times a second."""
    for _ in range(ticks):
        sent = len(subscriber.out)
        await publisher.tick()
        for packet in subscriber.out[sent:]:
            if lose_every is None or packet.sequence_number % lose_every:
                subscriber.arrive(packet)
        if publisher.ticks % 10 == 0:
            subscriber.report()


async def _down_to_the_lowest_layer(
    publisher: Publisher, subscriber: Subscriber, sub: forwarding.ForwardedSubscription
) -> None:
    """A third of every layer lost until the subscriber is sent the quarter layer."""
    for layer in (1, 0):
        for _ in range(10 * FPS):
            if sub.target == layer:
                break
            await _lossy_ticks(publisher, subscriber, 1, 3)
        assert sub.target == layer, "the subscriber was not stepped down"
        publisher.key[layer] = True
        await publisher.tick()
        assert sub.layer == layer


# The ladder with its real thresholds, and jitter and REMB left out.
REAL_LADDER = fallback.Ladder(bad_jitter_s=10.0, good_jitter_s=10.0, remb_share=0.0)


def test_loss_left_over_from_the_layer_above_does_not_pause_the_lowest_one(
    clock: Clock,
) -> None:
    """A subscriber just stepped down to the lowest layer still reports the loss of the
    layer it left for a moment (reports span a second, a full queue drains, NACKs of old
    packets come in). That is no sign the lowest layer does not fit: its video goes on."""

    async def run() -> None:
        pcs, (_source, transport), sub, subscriber = await _relay(clock)
        sub._port.link.ladder = REAL_LADDER
        publisher = Publisher(transport, clock)
        try:
            await _down_to_the_lowest_layer(publisher, subscriber, sub)
            left_over = REAL_LADDER.pause_after_s + 0.5
            await _lossy_ticks(publisher, subscriber, int(left_over * FPS), 3)
            await _lossy_ticks(publisher, subscriber, 3 * FPS, None)
            assert sub._port.link.state.step == fallback.FULL
            assert sub.layer == 0
        finally:
            await _close(pcs)

    asyncio.run(run())


def test_loss_that_goes_on_at_the_lowest_layer_pauses_the_video(clock: Clock) -> None:
    async def run() -> None:
        pcs, (_source, transport), sub, subscriber = await _relay(clock)
        sub._port.link.ladder = REAL_LADDER
        publisher = Publisher(transport, clock)
        try:
            await _down_to_the_lowest_layer(publisher, subscriber, sub)
            settle = forwarding.STEP_DOWN_SETTLE_S + REAL_LADDER.pause_after_s
            await _lossy_ticks(publisher, subscriber, int((settle + 1.5) * FPS), 3)
            assert sub._port.link.state.step == fallback.VIDEO_PAUSED
        finally:
            await _close(pcs)

    asyncio.run(run())


def test_a_subscriber_waiting_for_a_keyframe_asks_again_until_one_comes(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first PLI (or the keyframe it brought) was lost: the subscription waiting for
    its first picture asks again each second, and stops asking once it has one."""
    monkeypatch.setattr(keyframes, "time", SimpleNamespace(monotonic=clock.monotonic))

    async def run() -> None:
        pcs, (source, transport), sub, subscriber = await _relay(clock)
        publisher = Publisher(transport, clock)
        publisher.key = [False, False, False]  # the keyframes asked for do not come
        requests = source.layer_keyframes[2]
        try:
            asked = requests.sent
            for _ in range(4 * FPS):
                await publisher.tick()
                if publisher.ticks % FPS == 0:
                    sub._port.link.tick(clock.now)
            assert subscriber.out == [] and sub.rid is None
            assert requests.sent >= asked + 2
            publisher.key[2] = True
            await publisher.tick()
            assert sub.rid == "f" and len(subscriber.out) == 1
            asked = requests.sent
            for _ in range(4 * FPS):
                await publisher.tick()
                if publisher.ticks % FPS == 0:
                    sub._port.link.tick(clock.now)
            assert requests.sent == asked
        finally:
            await _close(pcs)

    asyncio.run(run())

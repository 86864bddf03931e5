"""Simulcast through the forwarding relay with real aiortc peers (media/simulcast.py).

aiortc cannot send simulcast, so the publisher here is an aiortc peer whose offer is given
the lines a browser writes (``a=rid``, ``a=simulcast:send``, the RID extension, no ``a=ssrc``
for video), and which sends three VP8 streams itself: three libvpx encoders at 64x48, 128x96
and 256x192, each packet with its layer's RID, straight into the peer's DTLS transport; a
PLI for a layer's SSRC makes that layer's next frame a keyframe. Each layer numbers its VP8
pictures in a range of its own, so a subscriber can tell from any packet which layer it is.

One subscriber is behind a small UDP proxy that limits what reaches it (tests/udp_proxy.py:
a token bucket on RTP towards it, on loopback; it logs the sequence numbers and timestamps
the relay wrote); another subscriber is behind one that does not. Lowering the
limit takes the first one down a layer at a time, lifting it brings it back up, and the
other keeps the top layer throughout.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import random
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RTCP_PSFB_PLI, HeaderExtensionsMap, RtcpPsfbPacket, RtpPacket

from media import ForwardingRelay, MediaHub
from media.aiortc_hooks import replace_rtp_handler
from media.fallback import Ladder
from media.keyframes import is_keyframe_start
from media.simulcast import Policy
from tests.integration.test_forwarding import (
    ROOM,
    TIMEOUT_S,
    Client,
    World,
    _close_later,
    _hub_port,
    _payload_type,
    hub_world,
    until,
)
from tests.udp_proxy import LimitingProxy

# Judged by loss on loopback: run by make test after the rest, alone (docs/testing.md).
pytestmark = [pytest.mark.usefixtures("loopback_ice"), pytest.mark.alone]

FPS = 15
RIDS = ("q", "h", "f")
SIZES = ((64, 48), (128, 96), (256, 192))
BITRATES = (40_000, 120_000, 360_000)
# Picture ids of layer n are 10000 * n + a counter below 10000 (15-bit ids).
PICTURE_ID_SPAN = 10_000
RID_ID, MID_ID = 10, 4

# Times shortened so that the test takes seconds. Loss is the signal here: aiortc's REMB of
# a small stream and loopback jitter on a busy machine say little (as test_fallback_ladder.py).
LAYERS = Policy(bad_loss=0.08, good_loss=0.03, remb_share=0.0, down_after_s=1.0, up_after_s=3.0)
LADDER = Ladder(
    bad_loss=0.25,
    good_loss=0.10,
    lost_loss=0.95,
    pause_after_s=2.0,
    resume_after_s=2.0,
    bad_jitter_s=10.0,
    good_jitter_s=10.0,
    remb_share=0.0,
    silent_after_s=30.0,
)


def simulcast_offer(sdp: str) -> str:
    """aiortc's offer as a browser sending simulcast writes it: the RID extension, a=rid and
    a=simulcast in the video section, and no a=ssrc lines there."""
    out: list[str] = []
    video = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            if video:
                out += _simulcast_lines()
            video = line.startswith("m=video")
        if video and (line.startswith("a=ssrc") or line.startswith("a=msid")):
            continue
        out.append(line)
    if video:
        out += _simulcast_lines()
    return "\r\n".join(out) + "\r\n"


def _simulcast_lines() -> list[str]:
    return [
        f"a=extmap:{RID_ID} urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        *(f"a=rid:{rid} send" for rid in RIDS),
        "a=simulcast:send " + ";".join(RIDS),
    ]


class _Layer:
    def __init__(self, index: int) -> None:
        self.index = index
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.picture = 0
        self.force_keyframe = True
        width, height = SIZES[index]
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.bit_rate, codec.gop_size = BITRATES[index], 100_000  # keyframes on request
        codec.time_base = fractions.Fraction(1, FPS)
        codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        self.codec = codec
        self.rng = numpy.random.default_rng(index)

    def frames(self, count: int) -> list[bytes]:
        # A moving gradient with a little noise: libvpx then keeps close to the layer's rate.
        width, height = SIZES[self.index]
        ys, xs = numpy.mgrid[0 : height * 3 // 2, 0:width]
        noise = self.rng.integers(-12, 13, xs.shape)
        image = ((xs * 3 + ys * 2 + count * 5) % 256 + noise).clip(0, 255).astype(numpy.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = count
        if self.force_keyframe:
            frame.pict_type = av.video.frame.PictureType.I
            self.force_keyframe = False
        return [bytes(p) for p in self.codec.encode(frame)]

    def payloads(self, frame: bytes) -> list[bytes]:
        picture_id = PICTURE_ID_SPAN * self.index + self.picture % PICTURE_ID_SPAN
        self.picture += 1
        payloads = []
        for at in range(0, len(frame), 1100):
            start = 0x10 if at == 0 else 0
            descriptor = bytes((0x80 | start, 0x80, 0x80 | picture_id >> 8, picture_id & 0xFF))
            payloads.append(descriptor + frame[at : at + 1100])
        return payloads


class SimulcastPublisher:
    """An aiortc peer publishing audio and three VP8 layers the way a browser does."""

    def __init__(self, hub: MediaHub, pid: str) -> None:
        self.hub, self.pid = hub, pid
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = self.pc.addTransceiver("video", direction="sendonly")
        self.pc.addTrack(AudioStreamTrack())
        self.pc.createDataChannel("readings")
        self.layers = [_Layer(index) for index in range(3)]
        self.plis = [0, 0, 0]
        self.payload_type = 0
        self.answer = ""
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = simulcast_offer(self.pc.localDescription.sdp)
        mid_id = re.search(r"a=extmap:(\d+) urn:ietf:params:rtp-hdrext:sdes:mid", offer)
        assert mid_id is not None
        self.mid_id = int(mid_id[1])
        self.payload_type = _payload_type(offer, "VP8")
        self.answer = await asyncio.wait_for(
            self.hub.handle_offer(ROOM, self.pid, offer), TIMEOUT_S
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer, type="answer"))
        transport = self.video.sender.transport
        router = transport._rtp_router
        route_rtcp = router.route_rtcp

        def route(packet: Any) -> Any:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
                for layer in self.layers:
                    if layer.ssrc == packet.media_ssrc:
                        self.plis[layer.index] += 1
                        layer.force_keyframe = True
            return route_rtcp(packet)

        router.route_rtcp = route
        self._tasks.append(asyncio.ensure_future(self._send_loop()))

    async def _send_loop(self) -> None:
        transport = self.video.sender.transport
        extensions = HeaderExtensionsMap()
        extensions.configure(
            RTCRtpParameters(
                headerExtensions=[
                    RTCRtpHeaderExtensionParameters(
                        id=self.mid_id, uri="urn:ietf:params:rtp-hdrext:sdes:mid"
                    ),
                    RTCRtpHeaderExtensionParameters(
                        id=RID_ID, uri="urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
                    ),
                ]
            )
        )
        await until(lambda: transport.state == "connected", "the publisher to connect")
        start, count = time.monotonic(), 0
        while True:
            await asyncio.sleep(max(0.0, start + count / FPS - time.monotonic()))
            for layer in self.layers:
                for frame in layer.frames(count):
                    payloads = layer.payloads(frame)
                    for i, payload in enumerate(payloads):
                        packet = RtpPacket(
                            payload_type=self.payload_type,
                            marker=int(i == len(payloads) - 1),
                            sequence_number=layer.seq,
                            timestamp=layer.ts,
                            ssrc=layer.ssrc,
                            payload=payload,
                        )
                        packet.extensions.mid = self.video.mid
                        packet.extensions.rtp_stream_id = RIDS[layer.index]
                        layer.seq = (layer.seq + 1) & 0xFFFF
                        try:
                            await transport._send_rtp(packet.serialize(extensions))
                        except ConnectionError:
                            return
                layer.ts = (layer.ts + 90_000 // FPS) & 0xFFFFFFFF
            count += 1

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.wait_for(self.pc.close(), TIMEOUT_S)


class Watch:
    """What a subscriber's transport receives of the video: sequence number -> (picture id,
    keyframe start), after SRTP, before aiortc's receiver; repairs (RTX) unwrapped."""

    def __init__(self, client: Client, video_pt: int, rtx_pt: int) -> None:
        self.packets: dict[int, tuple[int, bool]] = {}
        self.last_layer: int | None = None
        transport = client.pc.getTransceivers()[0].receiver.transport
        self._own = replace_rtp_handler(transport, self._handle)
        self._pt, self._rtx_pt = video_pt, rtx_pt

    async def _handle(self, data: bytes, arrival_time_ms: int) -> None:
        payload_type = data[1] & 0x7F
        if payload_type in (self._pt, self._rtx_pt):
            packet = RtpPacket.parse(data)
            seq, payload = packet.sequence_number, packet.payload
            if payload_type == self._rtx_pt and len(payload) > 2:
                seq, payload = int.from_bytes(payload[:2]), payload[2:]
            if len(payload) >= 4 and payload[0] & 0x80 and payload[1] & 0x80:
                picture_id = ((payload[2] & 0x7F) << 8) | payload[3]
                self.packets[seq] = (picture_id, is_keyframe_start("VP8", payload))
                if payload_type == self._pt:
                    self.last_layer = picture_id // PICTURE_ID_SPAN
        await self._own(data, arrival_time_ms=arrival_time_ms)

    def layer(self) -> int | None:
        return self.last_layer

    def in_order(self, first: int) -> list[tuple[int, int, bool]]:
        """(sequence number, picture id, keyframe start), in the relay's order from ``first``."""
        ordered = sorted(self.packets.items(), key=lambda item: (item[0] - first) & 0xFFFF)
        return [(seq, picture, key) for seq, (picture, key) in ordered]


def _rtx_payload_type(sdp: str, apt: int) -> int:
    found = re.search(rf"a=fmtp:(\d+) apt={apt}\b", sdp)
    assert found is not None
    return int(found[1])


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with hub_world(lambda: ForwardingRelay(LADDER, LAYERS)) as built:
        yield built


async def _behind_proxy(world: World, pid: str) -> tuple[Client, LimitingProxy]:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    client = world.clients[pid] = Client(world.hub, pid, None)
    client.pc.addTransceiver("video", direction="recvonly")
    client.pc.addTransceiver("audio", direction="recvonly")
    client.video_channel = client.pc.createDataChannel("video")  # type: ignore[attr-defined]
    client.proxy_port = sock.getsockname()[1]
    await client.pc.setLocalDescription(await client.pc.createOffer())
    offer = client.pc.localDescription.sdp
    proxy = LimitingProxy(_payload_type(offer, "VP8"))
    transport, _ = await loop.create_datagram_endpoint(lambda: proxy, sock=sock)
    answer = await asyncio.wait_for(world.hub.handle_offer(ROOM, pid, offer), TIMEOUT_S)
    proxy.hub = ("127.0.0.1", _hub_port(answer))
    await client.pc.setRemoteDescription(
        RTCSessionDescription(sdp=client._candidates(answer), type="answer")
    )
    client._tasks.append(asyncio.ensure_future(_close_later(transport)))
    return client, proxy


async def test_a_limited_subscriber_steps_down_and_up_the_layers_while_another_keeps_the_top(
    world: World,
) -> None:
    a = SimulcastPublisher(world.hub, "A")
    try:
        await a.connect()
        assert "a=simulcast:recv q;h;f" in a.answer
        assert "a=rid:q recv" in a.answer and f"a=extmap:{RID_ID} " in a.answer
        b, proxy = await _behind_proxy(world, "B")
        watch = Watch(
            b, proxy.video_pt, _rtx_payload_type(b.pc.localDescription.sdp, proxy.video_pt)
        )
        c, c_proxy = await _behind_proxy(world, "C")
        hub = world.hub

        def layer_of(pid: str) -> str | None:
            return hub.layers(ROOM, pid).get("A")

        await until(lambda: layer_of("B") == "f" and layer_of("C") == "f", "both on the top layer")
        await until(lambda: watch.layer() == 2, "B to receive the top layer", 20)

        proxy.limit_bps = 300_000  # under what the top layer and audio need
        await until(lambda: layer_of("B") == "h", "B to go down to the half layer", 20)
        await until(lambda: watch.layer() == 1, "B to receive the half layer")
        proxy.limit_bps = 120_000
        await until(lambda: layer_of("B") == "q", "B to go down to the quarter layer", 20)
        await until(lambda: watch.layer() == 0, "B to receive the quarter layer")
        assert layer_of("C") == "f"

        proxy.limit_bps = None
        # (A loaded machine's loopback loses bursts now and then; each fall soon after a rise
        # doubles the wait before the next rise, hence the longer bounds.)
        await until(lambda: layer_of("B") == "h", "B to come back up to the half layer", 40)
        await until(lambda: layer_of("B") == "f", "B to come back up to the top layer", 40)
        await until(lambda: watch.layer() == 2, "B to receive the top layer again")
        assert layer_of("C") == "f"
        assert a.plis[0] >= 1 and a.plis[1] >= 2  # a keyframe asked for at each switch
    finally:
        await a.close()

    # Every switch at the subscriber is a keyframe of the new layer, and what the relay
    # wrote for B continues one sequence of numbers and timestamps through all of them.
    # (A packet lost for good leaves a hole; a switch next to one is not judged.)
    assert proxy.log
    received = watch.in_order(proxy.log[0][0])
    switches = [
        (prev, cur)
        for prev, cur in zip(received, received[1:], strict=False)
        if prev[1] // PICTURE_ID_SPAN != cur[1] // PICTURE_ID_SPAN
    ]
    layers_seen = [cur[1] // PICTURE_ID_SPAN for _prev, cur in switches]
    # Down a layer at a time to the quarter and back up to the top. (The relay may try the
    # layer above again once the link has been good for a while, so on a slow machine a step
    # back up to the top can come between the test's two limits: [1, 2, 1, 0, 1, 2].)
    steps = [2, *layers_seen]
    assert all(abs(new - old) == 1 for old, new in zip(steps, steps[1:], strict=False)), layers_seen
    assert layers_seen[0] == 1 and 0 in layers_seen and layers_seen[-2:] == [1, 2], layers_seen
    adjacent = [cur for prev, cur in switches if (cur[0] - prev[0]) & 0xFFFF == 1]
    assert len(adjacent) >= 2, switches  # the others lost packets next to the switch
    assert all(key for _seq, _picture, key in adjacent), "a switch started on a delta frame"
    # At each switch, the new layer's keyframe takes the number right after the last packet
    # of the old layer, and a timestamp a little later. (Within a layer the relay keeps the
    # publisher's own holes: this publisher does not answer NACKs, and a busy machine's
    # loopback drops some of its bursts.)
    # The proxy sees a packet's first sending only; one the loopback dropped before the proxy
    # reached B as a repair, so a switch next to such a hole is not judged here either (a
    # relay that skipped numbers at every switch would leave none judged).
    position = {seq: index for index, (seq, _ts) in enumerate(proxy.log)}
    judged = 0
    for _prev, cur in switches:
        index = position.get(cur[0])
        if index is None or (cur[0] - 1) & 0xFFFF not in position:
            continue
        (seq0, ts0), (seq1, ts1) = proxy.log[index - 1], proxy.log[index]
        assert (seq1 - seq0) & 0xFFFF == 1, (seq0, seq1)
        assert (ts1 - ts0) & 0xFFFFFFFF < 90_000, (ts0, ts1)
        judged += 1
    assert judged >= 2, switches
    assert len(switches) >= 4
    assert c_proxy.log


async def test_the_tile_size_a_page_sends_caps_the_layer_and_bad_sizes_are_refused(
    world: World,
) -> None:
    a = SimulcastPublisher(world.hub, "A")
    try:
        await a.connect()
        b, proxy = await _behind_proxy(world, "B")
        watch = Watch(
            b, proxy.video_pt, _rtx_payload_type(b.pc.localDescription.sdp, proxy.video_pt)
        )
        channel = b.video_channel  # type: ignore[attr-defined]
        replies: list[dict[str, Any]] = []
        channel.on("message", lambda text: replies.append(json.loads(text)))
        await until(lambda: channel.readyState == "open", "the video channel to open")
        hub = world.hub
        mid = next(
            m for m, (pid, kind) in hub.sources(ROOM, "B").items() if pid == "A" and kind == "video"
        )
        await until(lambda: hub.layers(ROOM, "B").get("A") == "f", "B on the top layer")

        channel.send(json.dumps({"mid": mid, "width": 120, "height": 90}))  # 96 rows suffice
        await until(lambda: hub.layers(ROOM, "B").get("A") == "h", "B on the half layer")
        await until(lambda: watch.layer() == 1, "B to receive the half layer")
        channel.send(json.dumps({"mid": mid, "width": 60, "height": 40}))
        await until(lambda: hub.layers(ROOM, "B").get("A") == "q", "B on the quarter layer")
        channel.send(json.dumps({"mid": mid, "width": 1280, "height": 720}))
        await until(lambda: hub.layers(ROOM, "B").get("A") == "f", "B back on the top layer")

        for bad in (
            "not json",
            "[1]",
            json.dumps({"mid": mid, "width": -1, "height": 5}),
            json.dumps({"mid": mid, "width": 10, "height": True}),
            json.dumps({"mid": "nope", "width": 10, "height": 10}),
        ):
            channel.send(bad)
        await until(lambda: len(replies) == 8, "a reply to every message")
        assert replies[:3] == [{"ack": mid}] * 3
        assert [r.get("code") for r in replies[3:]] == [
            "bad_message",
            "bad_message",
            "invalid_field",
            "invalid_field",
            "unknown_mid",
        ]
        assert hub.layers(ROOM, "B").get("A") == "f"
    finally:
        await a.close()

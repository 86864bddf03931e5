"""The forwarding relay between in-process aiortc peers: codecs, keyframes, NACK/RTX, bad input.

Clients publish a solid colour (a receiver can tell by the pixels whose video reached it)
and silence (Opus). Losses come from a small UDP proxy that drops RTP packets of one payload
type in one direction (this kernel has no netem). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from media import ForwardingRelay, MediaCallbacks, MediaHub, TranscodingRelay
from media.fallback import Ladder
from tests.udp_proxy import HubProxy

pytestmark = pytest.mark.usefixtures("loopback_ice")

ROOM = "room-f"
TIMEOUT_S = 15.0
FPS = 15
RED, GREEN = (0, 0, 255), (0, 255, 0)


class ColourTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self, bgr: tuple[int, int, int]) -> None:
        super().__init__()
        self._image = numpy.full((120, 160, 3), bgr, dtype=numpy.uint8)
        self._start: float | None = None
        self.sent = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.sent / FPS - time.monotonic()))
        frame = VideoFrame.from_ndarray(self._image, format="bgr24")
        frame.pts, frame.time_base = self.sent * (90_000 // FPS), fractions.Fraction(1, 90_000)
        self.sent += 1
        return frame


@dataclass
class Seen:
    frames: int = 0
    colour: tuple[int, int, int] | None = None
    first_match_at_sent: int | None = None  # publisher frames sent when the colour first matched


class Client:
    def __init__(
        self,
        hub: MediaHub,
        pid: str,
        colour: tuple[int, int, int] | None,
        *,
        video_codec: str | None = None,
        audio_only: bool = False,
    ) -> None:
        self.hub, self.pid = hub, pid
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.video = ColourTrack(colour) if colour else None
        if self.video is not None:
            video = self.pc.addTransceiver(self.video)
            if video_codec is not None:
                caps = RTCRtpSender.getCapabilities("video").codecs
                video.setCodecPreferences(
                    [c for c in caps if c.mimeType.lower() in (f"video/{video_codec}", "video/rtx")]
                )
            self.pc.addTrack(AudioStreamTrack())
        elif audio_only:
            self.pc.addTransceiver("audio", direction="recvonly")
        self.pc.createDataChannel("readings")
        self.seen: dict[str, Seen] = {}
        self.expect: tuple[int, int, int] | None = None
        self.watch: ColourTrack | None = None
        self.proxy_port: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _candidates(self, sdp: str) -> str:
        if self.proxy_port is None:
            return sdp
        return re.sub(
            r"(a=candidate:\S+ \d \S+ \d+ 127\.0\.0\.1 )\d+", rf"\g<1>{self.proxy_port}", sdp
        )

    async def connect(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await asyncio.wait_for(
            self.hub.handle_offer(ROOM, self.pid, self.pc.localDescription.sdp), TIMEOUT_S
        )
        await self.pc.setRemoteDescription(
            RTCSessionDescription(sdp=self._candidates(answer), type="answer")
        )
        return answer

    async def answer(self, offer: str) -> None:
        offer = self._candidates(offer)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.hub.handle_answer(ROOM, self.pid, self.pc.localDescription.sdp)

    def _on_track(self, track: MediaStreamTrack) -> None:
        seen = self.seen.setdefault(track.kind, Seen())
        self._tasks.append(asyncio.ensure_future(self._consume(seen, track)))

    async def _consume(self, seen: Seen, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                seen.frames += 1
                if isinstance(frame, VideoFrame):
                    pixel = frame.to_ndarray(format="bgr24")[frame.height // 2, frame.width // 2]
                    seen.colour = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
                    if seen.first_match_at_sent is None and _close(seen.colour, self.expect):
                        seen.first_match_at_sent = self.watch.sent if self.watch else 0
                elif isinstance(frame, AudioFrame):
                    seen.colour = None
        except MediaStreamError:
            return

    def receiver_from(self, publisher: str, kind: str) -> Any:
        mids = self.hub.sources(ROOM, self.pid)
        mid = next(m for m, source in mids.items() if source == (publisher, kind))
        return next(t.receiver for t in self.pc.getTransceivers() if t.mid == mid)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.wait_for(self.pc.close(), TIMEOUT_S)


def _close(colour: tuple[int, int, int] | None, expected: tuple[int, int, int] | None) -> bool:
    return (
        colour is not None
        and expected is not None
        and all(abs(a - b) <= 60 for a, b in zip(colour, expected, strict=True))
    )


@dataclass
class World:
    hub: MediaHub
    clients: dict[str, Client] = field(default_factory=dict)

    async def renegotiate(self, room_id: str, pid: str, sdp: str) -> None:
        await self.clients[pid].answer(sdp)

    async def join(self, pid: str, colour: tuple[int, int, int] | None, **kw: Any) -> Client:
        client = self.clients[pid] = Client(self.hub, pid, colour, **kw)
        await client.connect()
        return client


@contextlib.asynccontextmanager
async def hub_world(
    relay_factory: Callable[[], Any] = ForwardingRelay,
    steps: list[tuple[str, str]] | None = None,
) -> AsyncIterator[World]:
    """A hub whose renegotiations go to the world's clients, with relays from
    ``relay_factory``; with ``steps``, each fallback-ladder step the relay reports is added
    there as (participant, step). The hub and the clients are closed on the way out."""
    holder: dict[str, World] = {}

    async def renegotiate(room_id: str, pid: str, sdp: str) -> None:
        await holder["w"].renegotiate(room_id, pid, sdp)

    async def quiet(*args: Any) -> None:
        return None

    async def no_reply(*args: Any) -> str | None:
        return None

    async def media_step(room_id: str, pid: str, step: str) -> None:
        assert steps is not None
        steps.append((pid, step))

    hub = MediaHub(
        ice_servers=[],
        callbacks=MediaCallbacks(
            renegotiate=renegotiate,
            peer_state=quiet,
            data_message=no_reply,
            media_step=media_step if steps is not None else None,
        ),
        relay_factory=relay_factory,
    )
    built = holder["w"] = World(hub)
    try:
        yield built
    finally:
        await asyncio.wait_for(hub.close(), TIMEOUT_S)
        for client in built.clients.values():
            await client.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with hub_world() as built:
        yield built


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def decodes(client: Client, colour: tuple[int, int, int], frames: int = 5) -> Callable[[], bool]:
    def check() -> bool:
        video, audio = client.seen.get("video"), client.seen.get("audio")
        return (
            video is not None
            and video.frames >= frames
            and _close(video.colour, colour)
            and audio is not None
            and audio.frames > 0
        )

    return check


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_video_and_opus_are_forwarded_and_decode_at_the_far_end(
    world: World, codec: str
) -> None:
    a = await world.join("A", RED, video_codec=codec)
    b = await world.join("B", GREEN)

    await until(decodes(b, RED), f"B to decode A's {codec} video and Opus audio")
    await until(decodes(a, GREEN), "A to decode B's video and audio")

    assert isinstance(world.hub._rooms[ROOM].relay, ForwardingRelay)
    # A's own video section allows only this codec, so B decoded what A encoded.
    published = a.pc.localDescription.sdp.upper().split("M=VIDEO")[1].split("M=")[0]
    assert set(re.findall(r"RTPMAP:\d+ (\w+)/90000", published)) == {codec.upper(), "RTX"}
    counters = world.hub.counters(ROOM, "B")
    assert counters["video_frames_to"] > 0 and counters["audio_frames_to"] > 0
    assert counters["rtp_dropped"] == 0 and counters["send_failures"] == 0


async def test_a_late_joiner_decodes_a_picture_within_a_second_of_media(world: World) -> None:
    a = await world.join("A", RED)
    await until(
        lambda: world.hub.counters(ROOM, "A")["video_frames_received"] > 2 * FPS,
        "A to publish for two seconds alone",
    )
    requests_before = world.hub.counters(ROOM, "A")["keyframe_requests_to"]

    b = Client(world.hub, "B", GREEN)
    b.expect, b.watch = RED, a.video
    world.clients["B"] = b
    await b.connect()
    await until(lambda: world.hub.sources(ROOM, "B") != {}, "the hub to offer A's media to B")
    sent_at_offer = a.video.sent if a.video else 0
    await until(
        lambda: b.seen.get("video", Seen()).first_match_at_sent is not None,
        "B's first decoded picture of A",
    )

    # aiortc's encoder makes a keyframe only every 3000 frames: B's came from a PLI.
    assert world.hub.counters(ROOM, "A")["keyframe_requests_to"] > requests_before
    # Counted in frames A produced, which is load-independent: at most one second's worth.
    frames_waited = b.seen["video"].first_match_at_sent - sent_at_offer  # type: ignore[operator]
    assert frames_waited <= FPS, f"B waited {frames_waited} frames for a picture"


async def test_a_subscribers_pli_reaches_the_publisher(world: World) -> None:
    a = await world.join("A", RED)
    b = await world.join("B", GREEN)
    await until(decodes(b, RED), "B to decode A")
    asked: list[float] = []
    sender = next(t.sender for t in a.pc.getTransceivers() if t.kind == "video")
    sender._send_keyframe = lambda: asked.append(time.monotonic())  # type: ignore[method-assign]

    receiver = b.receiver_from("A", "video")
    ssrc = receiver.getSynchronizationSources()[0].source
    await receiver._send_rtcp_pli(ssrc)

    await until(lambda: bool(asked), "A's sender to be asked for a keyframe")
    assert world.hub.counters(ROOM, "B")["keyframe_requests_from"] >= 1


async def test_an_audio_only_subscriber_is_sent_no_video(world: World) -> None:
    await world.join("A", RED)
    listener = await world.join("L", None, audio_only=True)

    await until(lambda: listener.seen.get("audio", Seen()).frames > 10, "L to receive A's audio")
    await asyncio.sleep(0.5)

    assert {kind for _, kind in world.hub.sources(ROOM, "L").values()} == {"audio"}
    assert world.hub.counters(ROOM, "L")["video_frames_to"] == 0
    assert "video" not in {t.kind for t in listener.pc.getTransceivers()}


class LossyProxy(HubProxy):
    """UDP between one client and the hub: drops every ``nth`` RTP packet of payload type
    ``payload_type`` going ``towards`` ("hub" or "client"); everything else passes."""

    def __init__(self, hub_port: int, payload_type: int, towards: str, nth: int = 8) -> None:
        super().__init__(hub_port)
        self.payload_type, self.towards, self.nth = payload_type, towards, nth
        self.seen = 0
        self.dropped = 0

    def passes(self, data: bytes, to_hub: bool, is_rtp: bool) -> bool:
        direction = "hub" if to_hub else "client"
        if direction == self.towards and is_rtp and data[1] & 0x7F == self.payload_type:
            self.seen += 1
            if self.seen > 30 and self.seen % self.nth == 0:
                self.dropped += 1
                return False
        return True


def _hub_port(answer_sdp: str) -> int:
    return int(re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer_sdp)[1])  # type: ignore[index]


def _payload_type(sdp: str, codec: str) -> int:
    return int(re.search(rf"a=rtpmap:(\d+) {codec}/", sdp)[1])  # type: ignore[index]


async def _proxied(
    world: World, pid: str, colour: tuple[int, int, int], towards: str, codec: str = "VP8"
) -> Any:
    """Join ``pid`` through a LossyProxy dropping its ``codec`` packets ``towards`` one side."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    client = world.clients[pid] = Client(world.hub, pid, colour)
    client.proxy_port = sock.getsockname()[1]
    proxy = LossyProxy(0, 0, towards)
    transport, _ = await loop.create_datagram_endpoint(lambda: proxy, sock=sock)
    await client.pc.setLocalDescription(await client.pc.createOffer())
    offer = client.pc.localDescription.sdp
    proxy.payload_type = _payload_type(offer, codec)
    answer = await asyncio.wait_for(world.hub.handle_offer(ROOM, pid, offer), TIMEOUT_S)
    proxy.hub = ("127.0.0.1", _hub_port(answer))
    await client.pc.setRemoteDescription(
        RTCSessionDescription(sdp=client._candidates(answer), type="answer")
    )
    client._tasks.append(asyncio.ensure_future(_close_later(transport)))
    return client, proxy


async def _close_later(transport: asyncio.DatagramTransport) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        transport.close()


def _remote_streams(client: Client, publisher: str) -> dict[int, Any]:
    streams: dict[int, Any] = client.receiver_from(
        publisher, "video"
    )._RTCRtpReceiver__remote_streams
    return streams


async def test_losses_towards_the_relay_are_repaired_before_forwarding(world: World) -> None:
    a, proxy = await _proxied(world, "A", RED, towards="hub")
    b = await world.join("B", GREEN)
    await until(decodes(b, RED), "B to decode A")

    await until(lambda: proxy.dropped >= 10, "the proxy to drop ten of A's VP8 packets")
    await until(lambda: b.seen["video"].frames > 60, "B to decode for a while longer")

    # The relay NACKed A and forwarded the RTX repairs in sequence: B saw no gap at all.
    primary = [s for s in _remote_streams(b, "A").values() if s.packets_received > 50]
    assert primary and all(stream.packets_lost == 0 for stream in primary)
    assert _close(b.seen["video"].colour, RED)


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_losses_towards_a_subscriber_are_repaired_from_the_relay(
    world: World, codec: str
) -> None:
    # With H.264 the retransmissions need the RTX payload type paired with H.264, not the
    # one aiortc's sender knows (paired with the first codec, VP8).
    # One packet in eight lost before repair is a bad link to the fallback ladder, which
    # would pause video to B (aiortc's receiver reports even count repaired packets as lost);
    # repairs are the point here, so the ladder's thresholds are set above that loss.
    world.hub.relay_factory = lambda: ForwardingRelay(
        Ladder(bad_loss=0.3, bad_jitter_s=10.0, good_jitter_s=10.0, remb_share=0.0)
    )
    await world.join("A", RED, video_codec=codec.lower())
    b, proxy = await _proxied(world, "B", GREEN, towards="client", codec=codec)
    b.expect = RED
    await until(decodes(b, RED), "B to decode A")

    await until(lambda: proxy.dropped >= 10, "the proxy to drop ten of the relay's packets to B")
    await until(lambda: len(_remote_streams(b, "A")) == 2, "RTX retransmissions to reach B")

    frames = b.seen["video"].frames
    await until(lambda: b.seen["video"].frames > frames + 30, "B to keep decoding")
    assert _close(b.seen["video"].colour, RED)


async def test_bad_datagrams_are_counted_and_dropped_and_media_flows_on(world: World) -> None:
    a = await world.join("A", RED)
    b = await world.join("B", GREEN)
    await until(decodes(b, RED), "B to decode A")
    dtls = a.pc.getTransceivers()[0].sender.transport
    hub_port = dtls.transport._connection._nominated[1].remote_candidate.port

    junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(50):
            junk.sendto(bytes([0x80, 96]) + bytes(range(i, i + 60)), ("127.0.0.1", hub_port))
            junk.sendto(bytes([0x01, 0x02]) + b"random" * 10, ("127.0.0.1", hub_port))
    finally:
        junk.close()
    # Authenticated but malformed: A holds the keys, so the relay decrypts, then refuses.
    # Distinct sequence numbers, or SRTP's replay protection would refuse them first.
    for seq in range(20):
        # RTP claiming 200 bytes of padding in an 8-byte payload.
        await dtls._send_rtp(bytes([0xA0, 96, 0, seq]) + b"\1" * 8 + b"\0" * 7 + b"\xc8")
        await dtls._send_rtp(bytes([0x80, 201, 0, 40]) + b"\0" * 8)
        await dtls._send_rtp(bytes([0x80, 77, 1, seq]) + b"\2" * 20)

    await until(
        lambda: (
            counters_of(world, "A", "srtp_rejected") >= 50
            and counters_of(world, "A", "datagrams_ignored") >= 50
            and counters_of(world, "A", "rtp_malformed") >= 20
            and counters_of(world, "A", "rtcp_malformed") >= 20
            and counters_of(world, "A", "rtp_unrouted") >= 20
        ),
        "the bad datagrams to be counted",
    )
    frames = b.seen["video"].frames
    await until(lambda: b.seen["video"].frames > frames + 15, "B to keep decoding A")
    assert _close(b.seen["video"].colour, RED)


def counters_of(world: World, pid: str, name: str) -> int:
    return world.hub.counters(ROOM, pid)[name]


async def test_a_subscriber_that_never_reads_costs_the_others_nothing(world: World) -> None:
    await world.join("A", RED)
    stalled = await world.join("S", None)
    b = await world.join("B", None)
    await until(decodes(stalled, RED), "S to decode A")
    await until(decodes(b, RED), "B to decode A")

    # S's sockets stop being read: the kernel drops what the relay sends it.
    connection = stalled.pc.getTransceivers()[0].receiver.transport.transport._connection
    for protocol in connection._protocols:
        protocol.transport.pause_reading()
    frames = b.seen["video"].frames
    await until(lambda: b.seen["video"].frames > frames + 2 * FPS, "B to decode two more seconds")

    assert _close(b.seen["video"].colour, RED)
    # What the relay keeps for S is its fixed NACK history, however long S stalls.
    relay = world.hub._rooms[ROOM].relay
    assert isinstance(relay, ForwardingRelay)
    assert all(len(port.hooks._history) <= 128 for port in relay._ports.values())


async def test_the_transcoding_relay_still_serves_the_hub() -> None:
    holder: dict[str, World] = {}

    async def renegotiate(room_id: str, pid: str, sdp: str) -> None:
        await holder["w"].renegotiate(room_id, pid, sdp)

    async def quiet(*args: Any) -> None:
        return None

    async def no_reply(*args: Any) -> str | None:
        return None

    hub = MediaHub(
        ice_servers=[],
        relay_factory=TranscodingRelay,
        callbacks=MediaCallbacks(renegotiate=renegotiate, peer_state=quiet, data_message=no_reply),
    )
    world = holder["w"] = World(hub)
    try:
        await world.join("A", RED)
        b = await world.join("B", GREEN)
        await until(decodes(b, RED), "B to decode A through the transcoding relay")
        image = await asyncio.wait_for(hub.snapshot(ROOM, "A"), TIMEOUT_S)
        assert image is not None and _close(tuple(int(v) for v in image[60, 80]), RED)  # type: ignore[arg-type]
    finally:
        await asyncio.wait_for(hub.close(), TIMEOUT_S)
        for client in world.clients.values():
            await client.close()

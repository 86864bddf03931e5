"""The bench clients for bench/relay.py: a VP8 loop encoded and packetized once and replayed
as RTP, subscribers that count packets and frames from the RTP header without decoding, a
decoding probe for latency, and CPU read from /proc. A run's clients can be split over
several processes (``observe`` in each, ``summarize`` over all), so that the generator never
needs more than a core of its own."""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import pickle
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import av
import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.aiortc_hooks import SenderPort, receiver_of_ssrc, replace_rtp_handler, route_by_ssrc

WIDTH, HEIGHT, FPS = 640, 480, 30
LOOP_FRAMES = 300
BAR_BITS, BAR_ROWS = 16, 32
HOST = os.environ.get("BENCH_HOST", "127.0.0.1")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The RTP payloads of each pre-encoded VP8 frame and of each Opus packet.
Loop = tuple[list[list[bytes]], list[list[bytes]]]
# With --simulcast: the lower layers' loops (the same pictures at 1/4 and 1/2 size), lowest
# first; the 640x480 loop is the top layer. RIDs as Hearth's page names them.
Layers = list[list[list[bytes]]]
SIMULCAST_LOWER = ((WIDTH // 4, HEIGHT // 4, 150_000), (WIDTH // 2, HEIGHT // 2, 500_000))
SIMULCAST_RIDS = ("q", "h", "f")
RID_EXTENSION_ID = 10  # free in aiortc's offers (1-3 are its own)
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
# Largest RTP payload, as aiortc's packetizer (PACKET_MAX): fits a 1500-byte path with SRTP.
PAYLOAD_MAX = 1300


def use_host_only() -> None:
    # aioice skips loopback addresses; the bench stays on this one.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST]


# -- content ---------------------------------------------------------------------------


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """One VP8 frame as RTP payloads (RFC 7741): a descriptor with a 15-bit picture id, the
    first payload marked as the start of partition 0, each at most PAYLOAD_MAX bytes."""
    payloads = []
    for at in range(0, len(frame), PAYLOAD_MAX - 4):
        start = 0x10 if at == 0 else 0
        descriptor = bytes((0x80 | start, 0x80, 0x80 | picture_id >> 8, picture_id & 0xFF))
        payloads.append(descriptor + frame[at : at + PAYLOAD_MAX - 4])
    return payloads


def encode_loop(path: Path, simulcast: bool = False) -> None:
    """LOOP_FRAMES of VP8 (and 1 s of Opus) encoded and packetized once, so that publishers
    only number and send packets; with ``simulcast`` also the lower layers (``Layers``),
    written to ``path`` + ".layers"."""
    rng = numpy.random.default_rng(7)
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate, codec.gop_size = 1_000_000, 2 * FPS
    codec.time_base = fractions.Fraction(1, FPS)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    ys, xs = numpy.mgrid[0:HEIGHT, 0:WIDTH]
    video = []
    for index in range(LOOP_FRAMES):
        luma = ((xs + ys + index * 4) % 256).astype(numpy.int16)
        luma[200:280, (index * 6) % 560 : (index * 6) % 560 + 80] = 30
        luma = numpy.clip(luma + rng.integers(-6, 7, luma.shape), 0, 255).astype(numpy.uint8)
        for bit in range(BAR_BITS):
            luma[:BAR_ROWS, bit * 40 : bit * 40 + 40] = 235 if index >> bit & 1 else 16
        image = numpy.zeros((HEIGHT * 3 // 2, WIDTH), numpy.uint8) + 128
        image[:HEIGHT] = luma
        frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = index
        video += [bytes(p) for p in codec.encode(frame)]
    video += [bytes(p) for p in codec.encode(None)]
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format, opus.bit_rate = 48_000, "stereo", "s16", 32_000
    tone = (numpy.sin(numpy.arange(48_000) * 0.05) * 3000).astype(numpy.int16)
    audio = []
    for start in range(0, 48_000, 960):
        samples = numpy.repeat(tone[start : start + 960], 2).reshape(1, -1)
        chunk = av.AudioFrame.from_ndarray(samples, format="s16", layout="stereo")
        chunk.sample_rate, chunk.pts = 48_000, start
        audio += [bytes(p) for p in opus.encode(chunk)]
    frames = [vp8_payloads(frame, index) for index, frame in enumerate(video[:LOOP_FRAMES])]
    path.write_bytes(pickle.dumps((frames, [[packet] for packet in audio])))
    if simulcast:
        layers = [
            _encode_lower(path, width, height, rate) for width, height, rate in SIMULCAST_LOWER
        ]
        Path(f"{path}.layers").write_bytes(pickle.dumps(layers))


def _encode_lower(path: Path, width: int, height: int, rate: int) -> list[list[bytes]]:
    """The top loop decoded and encoded again at ``width`` x ``height`` (a lower layer)."""
    frames, _audio = pickle.loads(path.read_bytes())
    decoder = av.CodecContext.create("libvpx", "r")
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate, codec.gop_size = rate, 2 * FPS
    codec.time_base = fractions.Fraction(1, FPS)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for index, payloads in enumerate(frames):
        data = b"".join(p[4:] for p in payloads)  # the 4-byte descriptor vp8_payloads wrote
        for picture in decoder.decode(av.Packet(data)):
            small = picture.reformat(width=width, height=height, format="yuv420p")
            small.pts = index
            out += [bytes(p) for p in codec.encode(small)]
    out += [bytes(p) for p in codec.encode(None)]
    return [vp8_payloads(frame, index) for index, frame in enumerate(out[:LOOP_FRAMES])]


def simulcast_offer(sdp: str) -> str:
    """An aiortc offer as a browser sending simulcast writes it: the RID extension, a=rid and
    a=simulcast:send in the video section, and no a=ssrc lines there."""
    extra = [
        f"a=extmap:{RID_EXTENSION_ID} {RID_URI}",
        *(f"a=rid:{rid} send" for rid in SIMULCAST_RIDS),
        "a=simulcast:send " + ";".join(SIMULCAST_RIDS),
    ]
    out: list[str] = []
    video = False
    for line in sdp.splitlines():
        if line.startswith("m="):
            out += extra if video else []
            video = line.startswith("m=video")
        if not (video and line.startswith(("a=ssrc", "a=msid"))):
            out.append(line)
    out += extra if video else []
    return "\r\n".join(out) + "\r\n"


def read_index(image: numpy.ndarray) -> int:
    strip = image[4 : BAR_ROWS - 4]
    return sum(1 << b for b in range(BAR_BITS) if strip[:, b * 40 + 8 : b * 40 + 32].mean() > 128)


class Silent(MediaStreamTrack):
    """A sender's track that never yields: the replayer writes the sender's RTP itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()  # until the sender is stopped
        raise MediaStreamError


@dataclass(eq=False)
class Outgoing:
    """One published stream: the loop's RTP payloads with this stream's own numbering."""

    port: SenderPort
    kind: str
    sent: dict[int, float] | None
    payload_type: int = 0
    sequence_number: int = field(default_factory=lambda: random.getrandbits(16))
    timestamp: int = field(default_factory=lambda: random.getrandbits(32))
    count: int = 0
    # Simulcast: (ssrc, sequence number, timestamp) per layer, lowest first, and the header
    # extensions (MID, RID) the layers are written with.
    layers: list[list[int]] = field(default_factory=list)
    extensions: HeaderExtensionsMap | None = None


class Replayer:
    """Sends every publisher's pre-packetized loop of one process from one ticker per kind.

    Each frame's payloads get the stream's next sequence numbers and timestamp and go out
    through media.aiortc_hooks.SenderPort (which keeps them for NACKs and feeds aiortc's
    sender reports): no encoder, no packetizer, no per-stream timer. Streams are spread over
    ``SLOTS`` phases of the frame interval, so the relay does not get every frame at once.
    """

    SLOTS = 6

    def __init__(self, loop: Loop, layers: Layers | None = None) -> None:
        self.loop = loop
        self.lower = layers  # simulcast: every video stream sends these layers below its own
        self.streams: dict[str, list[Outgoing]] = {"video": [], "audio": []}
        self.errors = 0
        self.tasks = [
            asyncio.ensure_future(self._tick("video", FPS, 3000)),
            asyncio.ensure_future(self._tick("audio", 50, 960)),
        ]

    def publish(self, pc: RTCPeerConnection, kind: str, sent: dict[int, float] | None) -> None:
        sender = pc.addTransceiver(Silent(kind), direction="sendonly").sender
        stream = Outgoing(SenderPort(sender, lambda packet: None), kind, sent)

        def ready() -> None:  # again after each renegotiation
            stream.payload_type = stream.port.codecs[0].payloadType or 0
            if kind == "video" and self.lower is not None and stream.extensions is None:
                mid_id = next(
                    (e.id for e in stream.port.header_extensions if e.uri == MID_URI), None
                )
                extensions = [RTCRtpHeaderExtensionParameters(id=RID_EXTENSION_ID, uri=RID_URI)]
                if mid_id is not None:
                    extensions.append(RTCRtpHeaderExtensionParameters(id=mid_id, uri=MID_URI))
                stream.extensions = HeaderExtensionsMap()
                stream.extensions.configure(RTCRtpParameters(headerExtensions=extensions))
                stream.layers = [
                    [random.getrandbits(32), random.getrandbits(16), random.getrandbits(32)]
                    for _ in SIMULCAST_RIDS
                ]
            if stream not in self.streams[kind]:
                self.streams[kind].append(stream)

        stream.port.on_ready = ready

    def forget(self, pc: RTCPeerConnection) -> None:
        senders = {t.sender for t in pc.getTransceivers()}
        for kind, streams in self.streams.items():
            self.streams[kind] = [s for s in streams if s.port.sender not in senders]

    async def _tick(self, kind: str, rate: int, step: int) -> None:
        frames = self.loop[0] if kind == "video" else self.loop[1]
        interval = 1 / rate / self.SLOTS
        start, tick = time.monotonic(), 0
        while True:
            await asyncio.sleep(max(0.0, start + tick * interval - time.monotonic()))
            slot, tick = tick % self.SLOTS, tick + 1
            for index, stream in enumerate(self.streams[kind]):
                if index % self.SLOTS == slot:
                    try:
                        await self._send(stream, frames, step)
                    except Exception as exc:  # one broken peer must not stop every publisher
                        self.errors += 1
                        if self.errors == 1:
                            print(f"replayer: {exc!r}", file=sys.stderr, flush=True)

    async def _send(self, stream: Outgoing, frames: list[list[bytes]], step: int) -> None:
        if stream.layers and self.lower is not None:
            await self._send_layers(stream, frames, step)
            return
        index = stream.count % len(frames)
        payloads = frames[index]
        timestamp = (stream.timestamp + stream.count * step) & 0xFFFFFFFF
        if stream.sent is not None:
            stream.sent[index] = time.monotonic()
        stream.count += 1
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            packet = RtpPacket(
                payload_type=stream.payload_type,
                marker=int(i == last),
                sequence_number=stream.sequence_number,
                timestamp=timestamp,
                ssrc=stream.port.ssrc,
                payload=payload,
            )
            stream.sequence_number = (stream.sequence_number + 1) & 0xFFFF
            try:
                await stream.port.send(packet)
            except ConnectionError:
                return

    async def _send_layers(self, stream: Outgoing, frames: list[list[bytes]], step: int) -> None:
        """One frame of each simulcast layer, each its own SSRC and numbering, with its RID."""
        assert self.lower is not None and stream.extensions is not None
        index = stream.count % len(frames)
        if stream.sent is not None:
            stream.sent[index] = time.monotonic()
        stream.count += 1
        transport = stream.port.sender.transport
        for rid, loop, layer in zip(
            SIMULCAST_RIDS, [*self.lower, frames], stream.layers, strict=True
        ):
            payloads = loop[index % len(loop)]
            last = len(payloads) - 1
            for i, payload in enumerate(payloads):
                packet = RtpPacket(
                    payload_type=stream.payload_type,
                    marker=int(i == last),
                    sequence_number=layer[1],
                    timestamp=layer[2],
                    ssrc=layer[0],
                    payload=payload,
                )
                packet.extensions.mid = stream.port.mid
                packet.extensions.rtp_stream_id = rid
                layer[1] = (layer[1] + 1) & 0xFFFF
                try:
                    await transport._send_rtp(packet.serialize(stream.extensions))
                except ConnectionError:
                    return
            layer[2] = (layer[2] + step) & 0xFFFFFFFF

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# -- clients ---------------------------------------------------------------------------


class _Seq:
    __slots__ = ("sequence_number",)

    def __init__(self, sequence_number: int) -> None:
        self.sequence_number = sequence_number


@dataclass
class Stream:
    """What one subscriber received of one video stream, counted from the raw RTP header."""

    receiver: Any = None
    media_ssrc: int = 0
    frames: int = 0
    highest: int | None = None
    seqs: set[int] = field(default_factory=set)
    nacks: NackGenerator = field(default_factory=NackGenerator)

    async def add(self, data: bytes, rtx: bool) -> None:
        seq = data[2] << 8 | data[3]
        if rtx:  # the original sequence number opens the RTX payload (RFC 4588)
            at = 12 + 4 * (data[0] & 0x0F)
            if data[0] & 0x10:
                at += 4 + 4 * (data[at + 2] << 8 | data[at + 3])
            if len(data) < at + 2:
                return  # padding only
            seq = data[at] << 8 | data[at + 1]
        if self.highest is None:
            extended = self.highest = seq
        else:
            delta = (seq - self.highest) & 0xFFFF
            extended = self.highest + delta if delta < 0x8000 else self.highest + delta - 0x10000
            self.highest = max(self.highest, extended)
        if extended in self.seqs:
            return
        self.seqs.add(extended)
        self.frames += data[1] >> 7
        if self.nacks.add(_Seq(seq)):  # type: ignore[arg-type]
            await self.receiver._send_rtcp_nack(self.media_ssrc, sorted(self.nacks.missing))
        elif rtx:
            self.nacks.missing.discard(seq)

    def snapshot(self) -> tuple[int, set[int]]:
        return self.frames, set(self.seqs)


@dataclass
class Probe:
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    frames: int = 0
    measuring: bool = False

    async def consume(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                at = time.monotonic()
                self.frames += 1
                if not self.measuring:
                    continue
                luma = await loop.run_in_executor(None, lambda f=frame: f.to_ndarray()[:BAR_ROWS])
                index = read_index(luma)
                if index in self.sent and 0 <= at - self.sent[index] < 5:
                    self.latencies.append((at - self.sent[index]) * 1000)
        except MediaStreamError:
            return


_IGNORED = Stream()  # audio, and SSRCs no receiver expects: not counted


class Participant:
    """One aiortc peer: publishes the loop through ``replayer``, counts what it receives from
    the RTP header without parsing, reassembling or decoding (one probe excepted)."""

    def __init__(
        self,
        replayer: Replayer | None,
        publish: list[str],
        probe: Probe | None = None,
        sent: dict[int, float] | None = None,
        *,
        expects: int = 0,
        simulcast: bool = False,
    ) -> None:
        """``expects``: video streams it should receive and count (the probe's aside);
        ``simulcast``: its video goes out in three layers (``Replayer`` with layers)."""
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.simulcast = simulcast and "video" in publish
        self.expected_streams = expects
        self.replayer = replayer
        for kind in publish:
            assert replayer is not None
            replayer.publish(self.pc, kind, sent if kind == "video" else None)
        if not publish:
            self.pc.createDataChannel("bench")
        self.streams: list[Stream] = []
        self.tapped: set[Any] = set()
        self.probe = probe
        self.probe_receiver: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if self.probe is not None and track.kind == "video" and not self.tasks:
            self.probe_receiver = receiver
            self.tasks.append(asyncio.ensure_future(self.probe.consume(track)))

    def _tap(self, transport: Any) -> None:
        by_ssrc: dict[int, tuple[Stream, bool]] = {}
        streams: dict[Any, Stream] = {}
        own = replace_rtp_handler(
            transport, lambda data, arrival_time_ms: handle(data, arrival_time_ms)
        )
        route_by_ssrc(transport)  # the probe's packets take aiortc's path: see there

        def resolve(ssrc: int) -> tuple[Stream, bool] | None:
            receiver, media_ssrc = receiver_of_ssrc(transport, ssrc)
            if receiver is None:
                return None  # not registered yet: ask again next time
            if receiver.track is None or receiver.track.kind != "video":
                return _IGNORED, False
            if receiver is self.probe_receiver:
                return self_probe, False
            stream = streams.get(receiver)
            if stream is None:
                stream = streams[receiver] = Stream(receiver, media_ssrc or 0)
                self.streams.append(stream)
            return stream, ssrc != media_ssrc

        self_probe = Stream()

        async def handle(data: bytes, arrival_time_ms: int) -> None:
            ssrc = int.from_bytes(data[8:12], "big")
            found = by_ssrc.get(ssrc)
            if found is None:
                found = resolve(ssrc)
                if found is None:
                    return
                by_ssrc[ssrc] = found
            stream, rtx = found
            if stream is self_probe:
                await own(data, arrival_time_ms)
            elif stream is not _IGNORED:
                await stream.add(data, rtx)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp: str = self.pc.localDescription.sdp
        return simulcast_offer(sdp) if self.simulcast else sdp

    async def answer(self, sdp: str, kind: str = "offer") -> str | None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport not in self.tapped:
                self.tapped.add(transport)
                self._tap(transport)
        if kind == "answer":
            return None
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.replayer is not None:
            self.replayer.forget(self.pc)
        await self.pc.close()


async def hub_join(
    http: aiohttp.ClientSession, base: str, room: str, pid: str, who: Participant
) -> asyncio.Task[None]:
    """Join a room of the bench relay server; renegotiations are answered in a task."""
    ws = await http.ws_connect(f"{base}/ws/{room}/{pid}")
    await ws.send_json({"type": "offer", "sdp": await who.offer()})
    reply = await ws.receive_json(timeout=30)
    await who.answer(reply["sdp"], "answer")

    async def follow() -> None:
        async for message in ws:
            data = json.loads(message.data)
            await ws.send_json({"type": "answer", "sdp": await who.answer(data["sdp"])})

    return asyncio.ensure_future(follow())


# -- the relay server (a subprocess) ---------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


# -- measuring -------------------------------------------------------------------------


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` and every live descendant (media
    workers) so far."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    user = system = 0.0
    for member in family:
        try:
            u, s = cpu_seconds(member)
        except (OSError, IndexError):
            continue
        user, system = user + u, system + s
    return user, system


def video_packets_per_s(loop: Loop) -> float:
    """Packets a second of one video stream: what a subscriber that got nothing lost."""
    return sum(len(frame) for frame in loop[0]) * FPS / len(loop[0])


async def observe(
    subscribers: list[Participant], probe: Probe | None, start: float, seconds: float, rate: float
) -> dict[str, Any]:
    """What this process's subscribers received from monotonic ``start`` for ``seconds``:
    raw counts for ``summarize``. A subscriber that expected a stream and received none of
    it counts as ``rate`` packets a second lost."""
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    streams = [s for p in subscribers for s in p.streams]
    before = [s.snapshot() for s in streams]
    probe_before = probe.frames if probe is not None else 0
    if probe is not None:
        probe.measuring = True
    wall0, own0 = time.monotonic(), time.process_time()
    await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))
    wall1, own1 = time.monotonic(), time.process_time()
    window = wall1 - wall0
    # Every subscriber expects each other participant's video (counted in ``expected_streams``).
    fps = [(s.frames - b[0]) / window for s, b in zip(streams, before, strict=True)]
    expected = received = 0
    for stream, (_, seqs) in zip(streams, before, strict=True):
        new = stream.seqs - seqs
        if new:
            expected += max(new) - min(new) + 1
            received += len(new)
        else:
            expected += round(rate * window)
        stream.seqs.clear()
    missing = sum(p.expected_streams for p in subscribers) - len(streams)
    fps += [0.0] * max(0, missing)
    expected += max(0, missing) * round(rate * window)
    if probe is not None:
        fps.append((probe.frames - probe_before) / window)
    return {
        "fps": fps,
        "expected": expected,
        "received": received,
        "latencies": probe.latencies if probe is not None else [],
        "cpu_pct": (own1 - own0) / window * 100,
        "window": window,
    }


def summarize(
    parts: list[dict[str, Any]], relay_cpu: tuple[float, float], window: float, forwarded: int
) -> dict[str, Any]:
    """One JSON result from every client process's ``observe`` and the relay's CPU seconds
    (user, system) over the same window."""
    fps = [f for part in parts for f in part["fps"]]
    lat = sorted(x for part in parts for x in part["latencies"])
    expected = sum(part["expected"] for part in parts)
    received = sum(part["received"] for part in parts)
    relay_pct = sum(relay_cpu) / window * 100
    clients = [part["cpu_pct"] for part in parts]
    return {
        "streams": forwarded,
        "relay_cpu_pct": round(relay_pct, 1),
        "relay_system_cpu_pct": round(relay_cpu[1] / window * 100, 1),
        "cpu_per_stream_pct": round(relay_pct / forwarded, 2),
        "fps_min": round(min(fps), 1) if fps else 0.0,
        "fps_mean": round(statistics.mean(fps), 1) if fps else 0.0,
        "latency_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
        "latency_p95_ms": round(lat[int(len(lat) * 0.95)], 1) if lat else None,
        "loss_pct": round(100 * (1 - received / expected), 2) if expected else 100.0,
        "clients_cpu_pct": round(sum(clients), 1),
        "clients_processes": len(parts),
        "clients_cpu_max_pct": round(max(clients), 1),
        "window_s": round(window, 1),
    }


async def measure(
    args: argparse.Namespace,
    relay_pid: int,
    subscribers: list[Participant],
    probe: Probe,
    forwarded: int,
    rate: float,
) -> dict[str, Any]:
    """All clients in this process: warm up, then observe the relay and the clients."""
    start = time.monotonic() + args.warmup
    await asyncio.sleep(args.warmup)
    cpu0 = tree_cpu_seconds(relay_pid)
    part = await observe(subscribers, probe, start, args.seconds, rate)
    cpu1 = tree_cpu_seconds(relay_pid)
    used = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
    return summarize([part], used, part["window"], forwarded)

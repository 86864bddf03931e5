"""The bench clients for bench/relay.py: a pre-encoded VP8 loop, publishers, subscribers
that count without decoding, a decoding probe for latency, and CPU read from /proc."""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import pickle
import statistics
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

from media.aiortc_hooks import route_by_ssrc, tap_receiver

WIDTH, HEIGHT, FPS = 640, 480, 30
LOOP_FRAMES = 300
BAR_BITS, BAR_ROWS = 16, 32
HOST = os.environ.get("BENCH_HOST", "127.0.0.1")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Pre-encoded VP8 frames and Opus packets.
Loop = tuple[list[bytes], list[bytes]]


def use_host_only() -> None:
    # aioice skips loopback addresses; the bench stays on this one.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [HOST]


# -- content ---------------------------------------------------------------------------


def encode_loop(path: Path) -> None:
    """LOOP_FRAMES of VP8 (and 1 s of Opus) encoded once, so publishers cost little CPU."""
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
    path.write_bytes(pickle.dumps((video[:LOOP_FRAMES], audio)))


def read_index(image: numpy.ndarray) -> int:
    strip = image[4 : BAR_ROWS - 4]
    return sum(1 << b for b in range(BAR_BITS) if strip[:, b * 40 + 8 : b * 40 + 32].mean() > 128)


class LoopTrack(MediaStreamTrack):
    """Pre-encoded packets at their real rate; aiortc's sender packetizes them (pack())."""

    def __init__(self, kind: str, packets: list[bytes], sent: dict[int, float] | None) -> None:
        super().__init__()
        self.kind = kind
        self._packets, self._sent = packets, sent
        self._rate, self._step = (FPS, 3000) if kind == "video" else (50, 960)
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._count / self._rate - time.monotonic()))
        index = self._count % len(self._packets)
        packet = av.Packet(self._packets[index])
        packet.pts = self._count * self._step
        packet.time_base = fractions.Fraction(1, 90_000 if self.kind == "video" else 48_000)
        if self._sent is not None:
            self._sent[index] = time.monotonic()
        self._count += 1
        return packet


# -- clients ---------------------------------------------------------------------------


@dataclass
class Stream:
    """What one subscriber received of one video stream, counted from its receive tap."""

    frames: int = 0
    highest: int | None = None
    seqs: set[int] = field(default_factory=set)

    async def on_packet(self, packet: Any, codec: Any) -> None:
        seq = packet.sequence_number
        if self.highest is None:
            extended = self.highest = seq
        else:
            delta = (seq - self.highest) & 0xFFFF
            extended = self.highest + delta if delta < 0x8000 else self.highest + delta - 0x10000
            self.highest = max(self.highest, extended)
        self.seqs.add(extended)
        self.frames += packet.marker

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


class Participant:
    """One aiortc peer: publishes the loops it is given, taps what it receives."""

    def __init__(self, publish: list[LoopTrack], probe: Probe | None = None) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for track in publish:
            self.pc.addTransceiver(track, direction="sendonly")
        if not publish:
            self.pc.createDataChannel("bench")
        self.streams: list[Stream] = []
        self.routed: set[Any] = set()
        self.probe = probe
        self.tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if self.probe is not None and track.kind == "video" and not self.tasks:
            self.tasks.append(asyncio.ensure_future(self.probe.consume(track)))
            return
        stream = Stream()
        if track.kind == "video":
            self.streams.append(stream)
        tap_receiver(
            receiver,
            on_packet=stream.on_packet,
            on_dropped=lambda: None,
            on_sender_report=lambda *a: None,
        )

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str, kind: str = "offer") -> str | None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport not in self.routed:
                self.routed.add(transport)
                route_by_ssrc(transport)  # see there: aiortc's router misroutes under load
        if kind == "answer":
            return None
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
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


async def measure(
    args: argparse.Namespace,
    relay_pid: int,
    subscribers: list[Participant],
    probe: Probe,
    forwarded: int,
) -> dict[str, Any]:
    await asyncio.sleep(args.warmup)
    streams = [s for p in subscribers for s in p.streams]
    before = [s.snapshot() for s in streams]
    probe_before, probe.measuring = probe.frames, True
    cpu0, wall0, own0 = cpu_seconds(relay_pid), time.monotonic(), time.process_time()
    await asyncio.sleep(args.seconds)
    cpu1, wall1, own1 = cpu_seconds(relay_pid), time.monotonic(), time.process_time()
    window = wall1 - wall0
    fps = [(s.frames - b[0]) / window for s, b in zip(streams, before, strict=True)]
    fps.append((probe.frames - probe_before) / window)
    expected = received = 0
    for stream, (_, seqs) in zip(streams, before, strict=True):
        new = stream.seqs - seqs
        if new:
            expected += max(new) - min(new) + 1
            received += len(new)
        stream.seqs.clear()
    lat = sorted(probe.latencies)
    relay_pct = (sum(cpu1) - sum(cpu0)) / window * 100
    system_pct = (cpu1[1] - cpu0[1]) / window * 100
    return {
        "streams": forwarded,
        "relay_cpu_pct": round(relay_pct, 1),
        "relay_system_cpu_pct": round(system_pct, 1),
        "cpu_per_stream_pct": round(relay_pct / forwarded, 2),
        "fps_min": round(min(fps), 1),
        "fps_mean": round(statistics.mean(fps), 1),
        "latency_p50_ms": round(lat[len(lat) // 2], 1) if lat else None,
        "latency_p95_ms": round(lat[int(len(lat) * 0.95)], 1) if lat else None,
        "loss_pct": round(100 * (1 - received / expected), 2) if expected else None,
        "clients_cpu_pct": round((own1 - own0) / window * 100, 1),
        "window_s": round(window, 1),
    }

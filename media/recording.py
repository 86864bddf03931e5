"""Recording a room: each participant's forwarded packets muxed into a sealed WebM file.

Nothing is decoded or encoded. The forwarding relay hands every packet of a recorded track
to a ``_Track`` as well (``ForwardingRelay.tap``); a track puts a video frame together from
its RTP packets (in any arrival order, after NACK repair) and depacketises it with aiortc's
depayloader, takes an Opus packet as it is, and hands the encoded frame to PyAV's Matroska
muxer with a timestamp from its RTP clock. The muxer writes into a ``SealedWriter``
(media/sealed.py): no plaintext reaches the disk.

One file per participant and connection (a *part*): a container's streams are fixed when
its header is written, so someone who joins (or reconnects) during a recording starts a part
of their own, and its ``offset_ms`` says where it begins in the recording. A part's header
waits for the first video keyframe (its size is in the keyframe), keeping the audio that
comes before it, so the file opens on a picture.

Recorded: VP8 video and Opus audio (what browsers send Hearth by default). Other codecs are
left out of the file and named in the part's ``skipped``.
"""

from __future__ import annotations

import fractions
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from aiortc import RTCRtpCodecParameters
from aiortc.codecs import depayload
from aiortc.rtp import RtpPacket

from media.keyframes import is_keyframe_start
from media.sealed import SealedWriter

logger = logging.getLogger(__name__)

_MS = fractions.Fraction(1, 1000)
# RFC 7845 §5.1: an Opus identification header, 2 channels, 48 kHz, no gain, family 0.
OPUS_HEAD = b"OpusHead\x01\x02" + (312).to_bytes(2, "little") + (48000).to_bytes(4, "little")
OPUS_HEAD += b"\x00\x00\x00"
# Audio kept while a part waits for its first video keyframe (50 packets a second).
MAX_EARLY_AUDIO = 500
# Video frames being put together at once; older incomplete ones are given up.
MAX_PENDING_FRAMES = 32
RECORDABLE = {"audio": "OPUS", "video": "VP8"}
SUFFIX = ".webm.sealed"


def _newer16(a: int, b: int) -> bool:
    return a != b and ((a - b) & 0xFFFF) < 0x8000


def _newer32(a: int, b: int) -> bool:
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


def vp8_size(frame: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe's header (RFC 6386 §9.1), or None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


@dataclass
class _Frame:
    payloads: dict[int, bytes] = field(default_factory=dict)
    codec: RTCRtpCodecParameters | None = None
    first: int | None = None
    last: int | None = None

    def whole(self) -> list[bytes] | None:
        if self.first is None or self.last is None:
            return None
        count = ((self.last - self.first) & 0xFFFF) + 1
        seqs = [(self.first + i) & 0xFFFF for i in range(count)]
        if count > 2048 or any(s not in self.payloads for s in seqs):
            return None
        return [self.payloads[s] for s in seqs]


class _Track:
    """One published track of a part: packets in, whole encoded frames out to the part."""

    def __init__(self, part: Part, kind: str, request_keyframe: Callable[[], None]) -> None:
        self.part = part
        self.kind = kind
        self.request_keyframe = request_keyframe
        self.stream: Any = None
        self.clock_rate = 48000 if kind == "audio" else 90000
        self._frames: dict[int, _Frame] = {}
        self._last_ts: int | None = None
        self._last_seq: int | None = None
        self._need_key = True
        self._first_ts: int | None = None
        self._unwrapped = 0
        self._offset_ms = 0
        self._last_pts = -1

    # Called by the forwarding relay for every packet of the track (RTP order not assured).
    def add(self, packet: RtpPacket, codec: RTCRtpCodecParameters, keyframe: bool) -> None:
        if self.part.closed:
            return
        if codec.name.upper() != RECORDABLE[self.kind]:
            self.part.skip(self, f"{self.kind}/{codec.name}")
            return
        if self.kind == "audio":
            if self._last_seq is not None and not _newer16(packet.sequence_number, self._last_seq):
                return
            self._last_seq = packet.sequence_number
            self.part.frame(self, packet.payload, packet.timestamp, True)
            return
        self._add_video(packet, codec)

    def _add_video(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        ts = packet.timestamp
        if self._last_ts is not None and not _newer32(ts, self._last_ts):
            return  # a frame already written or given up
        frame = self._frames.get(ts)
        if frame is None:
            if len(self._frames) >= MAX_PENDING_FRAMES:
                oldest = min(self._frames, key=lambda t: (t - ts) & 0xFFFFFFFF)
                del self._frames[oldest]
                self._need_key = True
            frame = self._frames[ts] = _Frame(codec=codec)
        frame.payloads[packet.sequence_number] = packet.payload
        payload = packet.payload
        # RFC 7741 §4.2: S=1 and partition index 0 begin a frame.
        if payload and payload[0] & 0x10 and not payload[0] & 0x07:
            frame.first = packet.sequence_number
        if packet.marker:
            frame.last = packet.sequence_number
        payloads = frame.whole()
        if payloads is None:
            return
        del self._frames[ts]
        for older in [t for t in self._frames if _newer32(ts, t)]:
            del self._frames[older]
        assert frame.first is not None and frame.last is not None
        continuous = self._last_seq is not None and frame.first == (self._last_seq + 1) & 0xFFFF
        self._last_ts, self._last_seq = ts, frame.last
        keyframe = is_keyframe_start(codec.name, payloads[0])
        if not keyframe and (self._need_key or not continuous):
            # A frame went missing: what follows cannot be decoded until the next keyframe.
            self._need_key = True
            self.request_keyframe()
            return
        self._need_key = False
        data = b"".join(depayload(codec, p) for p in payloads)
        self.part.frame(self, data, ts, keyframe)

    def pts(self, ts: int) -> int:
        """Milliseconds from the part's start: the first frame at its arrival, then RTP time."""
        if self._first_ts is None:
            self._first_ts = ts
            self._offset_ms = self.part.elapsed_ms()
        else:
            delta = (ts - self._first_ts) & 0xFFFFFFFF
            if delta >= 0x80000000:
                delta -= 0x100000000
            self._unwrapped = delta
        return self._offset_ms + self._unwrapped * 1000 // self.clock_rate


class Part:
    """One participant's file for one connection."""

    def __init__(self, path: Path, key: bytes, participant_id: str, offset_ms: int) -> None:
        self.path = path
        self.participant_id = participant_id
        self.offset_ms = offset_ms
        self.tracks: list[_Track] = []
        self.skipped: set[str] = set()
        self.closed = False
        self.frames = 0
        self._key = key
        self._started = time.monotonic()
        self._writer: SealedWriter | None = None
        self._container: Any = None
        self._early: list[tuple[_Track, bytes, int]] = []
        self._last_pts_ms = 0

    def track(self, kind: str, request_keyframe: Callable[[], None]) -> _Track:
        track = _Track(self, kind, request_keyframe)
        self.tracks.append(track)
        return track

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def skip(self, track: _Track, what: str) -> None:
        if what not in self.skipped:
            self.skipped.add(what)
            logger.info("recording: %s is not recorded (codec)", what)
        if self._container is None and track in self.tracks:
            self.tracks.remove(track)  # the header will not wait for it

    def frame(self, track: _Track, data: bytes, ts: int, keyframe: bool) -> None:
        if self._container is None:
            if track.kind == "video" and keyframe:
                self._open(vp8_size(data) or (640, 480))
            elif track.kind == "audio" and not any(t.kind == "video" for t in self.tracks):
                self._open(None)
            else:
                if len(self._early) < MAX_EARLY_AUDIO and track.kind == "audio":
                    self._early.append((track, data, track.pts(ts)))
                return
            early, self._early = self._early, []
            for earlier, payload, pts in early:
                self._mux(earlier, payload, pts, True)
        self._mux(track, data, track.pts(ts), keyframe)

    def _open(self, size: tuple[int, int] | None) -> None:
        self._writer = SealedWriter(self.path, self._key)
        container = av.open(self._writer, mode="w", format="webm")
        for track in self.tracks:
            stream: Any
            if track.kind == "video":
                stream = container.add_stream("libvpx")
                stream.width, stream.height = size or (640, 480)
                stream.pix_fmt = "yuv420p"
            else:
                stream = container.add_stream("libopus", rate=48000)
                stream.codec_context.extradata = OPUS_HEAD
            stream.time_base = _MS
            track.stream = stream
        self._container = container

    def _mux(self, track: _Track, data: bytes, pts: int, keyframe: bool) -> None:
        if pts <= track._last_pts:
            pts = track._last_pts + 1  # Matroska wants each stream's times to increase
        track._last_pts = pts
        packet = av.Packet(data)
        packet.stream = track.stream
        packet.pts = packet.dts = pts
        packet.time_base = _MS
        packet.is_keyframe = keyframe
        try:
            self._container.mux(packet)
        except (av.FFmpegError, ValueError):
            logger.warning("recording: a %s frame could not be written", track.kind)
            return
        self.frames += 1
        self._last_pts_ms = max(self._last_pts_ms, pts)

    def close(self) -> dict[str, Any] | None:
        """Finish the file; its description, or None when nothing was written."""
        if self.closed:
            return None
        self.closed = True
        if self._container is None:
            return None
        try:
            self._container.close()
        except (av.FFmpegError, ValueError):
            logger.warning("recording: a part could not be finished cleanly")
        assert self._writer is not None
        self._writer.close()
        return {
            "file": self.path.name,
            "participant": self.participant_id,
            "kinds": sorted(t.kind for t in self.tracks if t.stream is not None),
            "offset_ms": self.offset_ms,
            "duration_ms": self._last_pts_ms,
            "bytes": self.path.stat().st_size,
            "skipped": sorted(self.skipped),
        }


class RoomRecording:
    """A room's recording: a part per participant connection, named ``{name}-{n}``."""

    def __init__(self, directory: Path, name: str, key: bytes) -> None:
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError("a recording name is letters, digits, - and _")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.name = name
        self._key = key
        self._started = time.monotonic()
        self._count = 0
        self._parts: dict[object, Part] = {}
        self.finished: list[dict[str, Any]] = []

    def has(self, owner: object) -> bool:
        return owner in self._parts

    def part(self, owner: object, participant_id: str) -> Part:
        """A new part for ``owner`` (a peer connection)."""
        self._count += 1
        path = self.directory / f"{self.name}-{self._count}{SUFFIX}"
        offset = int((time.monotonic() - self._started) * 1000)
        part = self._parts[owner] = Part(path, self._key, participant_id, offset)
        return part

    def end_part(self, owner: object) -> Part | None:
        part = self._parts.pop(owner, None)
        if part is not None:
            done = part.close()
            if done is not None:
                self.finished.append(done)
        return part

    def parts(self) -> list[Part]:
        return list(self._parts.values())

    def stop(self) -> list[dict[str, Any]]:
        for owner in list(self._parts):
            self.end_part(owner)
        return self.finished

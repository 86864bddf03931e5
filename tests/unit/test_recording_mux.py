"""Muxing a recorded track without decoding (media/recording.py): VP8 frames put together from
RTP packets in any order, a lost packet making the track wait for a keyframe (and ask for
one), Opus taken as it comes; the sealed file decrypts and decodes."""

from __future__ import annotations

import fractions
import io
import os
from pathlib import Path

import av
import numpy
from aiortc import RTCRtpCodecParameters
from aiortc.codecs import get_encoder
from aiortc.rtp import RtpPacket

from media.recording import Part, vp8_size
from media.sealed import open_sealed

KEY = os.urandom(32)
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)


def vp8_frames(count: int, keyframes: set[int]) -> list[tuple[list[bytes], int]]:
    """``count`` encoded 160x120 frames as aiortc packetises them: (payloads, timestamp)."""
    encoder = get_encoder(VP8)
    frames = []
    for n in range(count):
        image = numpy.full((120, 160, 3), (n * 20) % 255, numpy.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = n * 6000, fractions.Fraction(1, 90000)
        frames.append(encoder.encode(frame, force_keyframe=n in keyframes))
    return frames


def packets(frames: list[tuple[list[bytes], int]], first_seq: int = 65530) -> list[RtpPacket]:
    out, seq = [], first_seq
    for payloads, timestamp in frames:
        for i, payload in enumerate(payloads):
            out.append(
                RtpPacket(
                    payload_type=97,
                    sequence_number=seq & 0xFFFF,
                    timestamp=timestamp,
                    marker=i == len(payloads) - 1,
                    payload=payload,
                )
            )
            seq += 1
    return out


def decoded(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with av.open(io.BytesIO(b"".join(open_sealed(path, KEY)))) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def test_frames_out_of_order_are_put_together_and_decode(tmp_path: Path) -> None:
    part = Part(tmp_path / "p-1.webm.sealed", KEY, "family", 0)
    asked: list[int] = []
    video = part.track("video", lambda: asked.append(1))
    stream = packets(vp8_frames(8, {0}))  # sequence numbers wrap past 65535
    # Each frame's packets arrive backwards: a frame is written only once it is whole.
    by_ts: dict[int, list[RtpPacket]] = {}
    for packet in stream:
        by_ts.setdefault(packet.timestamp, []).append(packet)
    for group in by_ts.values():
        for packet in reversed(group):
            video.add(packet, VP8, False)
    done = part.close()
    assert done is not None and done["kinds"] == ["video"] and not asked
    assert decoded(part.path) == {"video": 8}


def test_a_lost_packet_waits_for_the_next_keyframe_and_asks_for_it(tmp_path: Path) -> None:
    part = Part(tmp_path / "p-2.webm.sealed", KEY, "family", 0)
    asked: list[int] = []
    video = part.track("video", lambda: asked.append(1))
    audio = part.track("audio", lambda: None)
    frames = vp8_frames(10, {0, 6})
    stream = packets(frames)
    lost = sum(len(p) for p, _ in frames[:3])  # the first packet of frame 3
    for n, packet in enumerate(stream):
        if n != lost:
            video.add(packet, VP8, False)
        audio.add(
            RtpPacket(
                payload_type=96, sequence_number=n, timestamp=n * 960, payload=b"\xfc\xff\xfe"
            ),
            OPUS,
            False,
        )
    assert asked  # frames 4 and 5 cannot be decoded: a keyframe was asked for
    part.close()
    counts = decoded(part.path)
    assert counts["video"] == 7  # 0-2, then 6-9 from the keyframe on
    assert counts["audio"] > 0


def test_only_vp8_and_opus_are_written(tmp_path: Path) -> None:
    part = Part(tmp_path / "p-3.webm.sealed", KEY, "family", 0)
    video = part.track("video", lambda: None)
    h264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
    video.add(RtpPacket(payload_type=102, sequence_number=1, payload=b"\x65"), h264, True)
    assert part.skipped == {"video/H264"} and part.tracks == []
    assert part.close() is None  # nothing was written, no file
    assert not part.path.exists()


def test_the_picture_size_comes_from_the_keyframe() -> None:
    [(payloads, _)] = vp8_frames(1, {0})
    from aiortc.codecs.vpx import vp8_depayload

    frame = b"".join(vp8_depayload(p) for p in payloads)
    assert vp8_size(frame) == (160, 120)
    assert vp8_size(b"\x01" * 12) is None

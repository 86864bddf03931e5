"""Keyframes in forwarded RTP: spotting one without decoding, and throttled requests for one."""

from __future__ import annotations

import asyncio
import fractions

import numpy
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from av import VideoFrame

from media.keyframes import KeyframeRequests, is_keyframe_start


def _frame(index: int) -> VideoFrame:
    image = numpy.full((120, 160, 3), (index * 40) % 255, dtype=numpy.uint8)
    frame = VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90_000)
    return frame


def _payloads(encoder: Vp8Encoder | H264Encoder, count: int) -> list[list[bytes]]:
    return [encoder.encode(_frame(i), force_keyframe=i == 0)[0] for i in range(count)]


def test_a_vp8_keyframe_is_spotted_in_its_first_packet_only() -> None:
    frames = _payloads(Vp8Encoder(), 3)

    assert is_keyframe_start("VP8", frames[0][0])
    assert not any(is_keyframe_start("VP8", p) for p in frames[0][1:])
    assert not any(is_keyframe_start("VP8", p) for frame in frames[1:] for p in frame)


def test_an_h264_keyframe_is_spotted_and_delta_frames_are_not() -> None:
    frames = _payloads(H264Encoder(), 3)

    assert any(is_keyframe_start("H264", p) for p in frames[0])
    assert not any(is_keyframe_start("h264", p) for frame in frames[1:] for p in frame)


def test_garbage_and_other_codecs_are_never_keyframes() -> None:
    # Truncated descriptors, a later partition, a continuation packet (S=0).
    for payload in (b"", b"\x10", b"\x90", b"\x90\x80", b"\x11\x00", b"\x00\x00"):
        assert not is_keyframe_start("VP8", payload)
        assert not is_keyframe_start("opus", b"\x10\x00")
    # A truncated STAP-A and an FU-A continuation of an IDR slice.
    for payload in (b"\x78\x00", b"\x7c\x05"):
        assert not is_keyframe_start("H264", payload)


def test_requests_within_the_interval_become_one_deferred_pli() -> None:
    sent: list[int] = []

    async def run() -> None:
        requests = KeyframeRequests(lambda: sent.append(1), min_interval_s=0.05)
        for _ in range(5):
            requests.request()
        assert len(sent) == 1 and requests.throttled == 4
        await asyncio.sleep(0.3)
        requests.close()

    asyncio.run(run())
    assert len(sent) == 2


def test_a_keyframe_arriving_meanwhile_answers_the_deferred_request() -> None:
    sent: list[int] = []

    async def run() -> None:
        requests = KeyframeRequests(lambda: sent.append(1), min_interval_s=0.05)
        requests.request()
        requests.request()
        requests.keyframe_seen()
        await asyncio.sleep(0.2)

    asyncio.run(run())
    assert len(sent) == 1

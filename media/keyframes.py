"""Keyframes without decoding: spotting one in an RTP payload, and asking for one sparingly.

A subscriber that starts on a delta frame holds no reference picture; libvpx even decodes
some such frames without an error, into garbage, so the relay starts
every video subscriber on a keyframe and asks the publisher for one when someone joins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# H.264 NAL unit types (RFC 6184 §5.4): an IDR slice or a sequence parameter set, which a
# publisher sends right before the IDR slice of a keyframe; STAP-A and FU-A carry them.
_H264_IDR, _H264_SPS, _H264_STAP_A, _H264_FU_A = 5, 7, 24, 28
_H264_KEY_NALS = frozenset({_H264_IDR, _H264_SPS})


def is_keyframe_start(codec_name: str, payload: bytes) -> bool:
    """True if ``payload`` (an RTP payload of ``codec_name``) begins a keyframe."""
    if not payload:
        return False
    name = codec_name.upper()
    if name == "VP8":
        return _vp8_keyframe_start(payload)
    if name == "H264":
        return _h264_keyframe_start(payload)
    return False


def _vp8_keyframe_start(payload: bytes) -> bool:
    """RFC 7741 §4.2: S=1 and partition 0, then the VP8 header's P bit clear (§9.1 of
    RFC 6386)."""
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return False
    index = 1
    if first & 0x80:
        if len(payload) < 2:
            return False
        extension = payload[1]
        index = 2
        if extension & 0x80:  # picture id, 7 or 15 bits
            if len(payload) <= index:
                return False
            index += 2 if payload[index] & 0x80 else 1
        if extension & 0x40:  # TL0PICIDX
            index += 1
        if extension & 0x30:  # TID / KEYIDX
            index += 1
    return len(payload) > index and not payload[index] & 0x01


def _h264_keyframe_start(payload: bytes) -> bool:
    nal_type = payload[0] & 0x1F
    if nal_type in _H264_KEY_NALS:
        return True
    if nal_type == _H264_STAP_A:
        offset = 1
        while offset + 2 < len(payload):
            size = int.from_bytes(payload[offset : offset + 2], "big")
            if payload[offset + 2] & 0x1F in _H264_KEY_NALS:
                return True
            offset += 2 + size
        return False
    if nal_type == _H264_FU_A and len(payload) > 1:
        header = payload[1]
        return bool(header & 0x80) and header & 0x1F in _H264_KEY_NALS
    return False


class KeyframeRequests:
    """PLIs to one publisher, at most one per ``min_interval_s``.

    A request inside the interval is not lost: one PLI goes out when the interval ends,
    unless a keyframe arrived meanwhile. So any number of joining or complaining
    subscribers costs the publisher at most one keyframe per interval (mediasoup and Janus
    throttle the same way).
    """

    def __init__(self, send_pli: Callable[[], None], min_interval_s: float) -> None:
        self._send_pli = send_pli
        self._min_interval_s = min_interval_s
        self._last_sent: float | None = None
        self._pending: asyncio.TimerHandle | None = None
        self.sent = 0
        self.throttled = 0

    def request(self) -> None:
        now = time.monotonic()
        if self._last_sent is None or now - self._last_sent >= self._min_interval_s:
            self._send(now)
            return
        self.throttled += 1
        if self._pending is None:
            delay = self._last_sent + self._min_interval_s - now
            self._pending = asyncio.get_running_loop().call_later(delay, self._deferred)

    def keyframe_seen(self) -> None:
        """A keyframe passed: a deferred request is answered already."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def close(self) -> None:
        self.keyframe_seen()

    def _deferred(self) -> None:
        self._pending = None
        self._send(time.monotonic())

    def _send(self, now: float) -> None:
        self._last_sent = now
        self.sent += 1
        self._send_pli()

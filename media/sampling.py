"""One decoded picture from a forwarded stream, for analysis (MediaHub.snapshot).

The relay decodes nothing on its forwarding path. A snapshot collects the packets of the
next keyframe (the relay asks the publisher for one), then decodes that single frame with
a fresh decoder in a worker thread: no decoder runs between snapshots, and a keyframe needs
no earlier frame, so one decode is enough.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy
from aiortc import RTCRtpCodecParameters
from aiortc.codecs import depayload, get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

from media.relay import to_bgr

# A 640x480 keyframe is 20-60 packets; more than this and the frame is given up (a loss
# that NACK did not repair, say) and the next keyframe is awaited.
MAX_KEYFRAME_PACKETS = 1024


class KeyframeSampler:
    """Collects the next whole keyframe from a stream's packets, in any arrival order."""

    def __init__(self) -> None:
        self._future: asyncio.Future[tuple[RTCRtpCodecParameters, list[bytes], int] | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._codec: RTCRtpCodecParameters | None = None
        self._timestamp: int | None = None
        self._first_seq = 0
        self._last_seq: int | None = None
        self._payloads: dict[int, bytes] = {}

    def add(self, packet: RtpPacket, codec: RTCRtpCodecParameters, keyframe: bool) -> None:
        if self._future.done():
            return
        if keyframe and (self._timestamp is None or packet.timestamp != self._timestamp):
            self._codec, self._timestamp = codec, packet.timestamp
            self._first_seq, self._last_seq = packet.sequence_number, None
            self._payloads = {}
        if self._timestamp is None or packet.timestamp != self._timestamp:
            return
        offset = (packet.sequence_number - self._first_seq) & 0xFFFF
        if offset >= MAX_KEYFRAME_PACKETS:
            self._timestamp = None
            return
        self._payloads[offset] = packet.payload
        if packet.marker:
            self._last_seq = offset
        if self._last_seq is not None and len(self._payloads) == self._last_seq + 1:
            assert self._codec is not None
            payloads = [self._payloads[i] for i in range(self._last_seq + 1)]
            self._future.set_result((self._codec, payloads, self._timestamp))

    def cancel(self) -> None:
        """The stream ended: no picture."""
        if not self._future.done():
            self._future.set_result(None)

    async def picture(self, timeout_s: float) -> numpy.ndarray | None:
        """The keyframe as a BGR array, decoded off the event loop; None on timeout."""
        try:
            sample = await asyncio.wait_for(asyncio.shield(self._future), timeout_s)
        except TimeoutError:
            return None
        if sample is None:
            return None
        codec, payloads, timestamp = sample
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _decode_bgr, codec, payloads, timestamp)


def _decode_bgr(
    codec: RTCRtpCodecParameters, payloads: list[bytes], timestamp: int
) -> numpy.ndarray | None:
    """Blocking (a worker thread): depayload, then one decode with a decoder of its own.
    aiortc's ``depayload``/``get_decoder`` are undocumented; media/aiortc_hooks.py checks them."""
    data = b"".join(depayload(codec, payload) for payload in payloads)
    frames: list[Any] = get_decoder(codec).decode(JitterFrame(data=data, timestamp=timestamp))
    return to_bgr(frames[0]) if frames else None

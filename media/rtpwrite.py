"""Serializing forwarded RTP packets for one sender, cheaply (it runs for every packet).

aiortc's ``RtpPacket.serialize`` rebuilds a list of header extensions and joins them for
every packet; the relay sets only three extensions, two of them fixed per sender, so their
bytes are prepared once from the negotiated parameters. The output is byte-for-byte what
``serialize`` would write (tests/unit/test_forwarding_rewrite.py).
"""

from __future__ import annotations

import struct
from typing import Any

from aiortc.rtp import RtpPacket

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_HEADER = struct.Struct("!BBHLL")
_HEADER_EXT = struct.Struct("!BBHLLHH")


class RtpWriter:
    """RTP with one-byte header extensions (RFC 8285) as one sender negotiated them."""

    def __init__(self, parameters: Any) -> None:
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        mid_id, mid = ids.get(MID_URI, 0), (parameters.muxId or "").encode()
        self._mid = bytes(((mid_id << 4) | (len(mid) - 1),)) + mid if mid_id and mid else b""
        self._abs_send_time_id = ids.get(ABS_SEND_TIME_URI, 0)
        self._audio_level_id = ids.get(AUDIO_LEVEL_URI, 0)

    def serialize(self, packet: RtpPacket) -> bytes:
        values = packet.extensions
        ext = self._mid
        if self._abs_send_time_id and values.abs_send_time is not None:
            ext += bytes(((self._abs_send_time_id << 4) | 2,))
            ext += (values.abs_send_time & 0xFFFFFF).to_bytes(3, "big")
        if self._audio_level_id and values.audio_level is not None:
            vad, level = values.audio_level
            ext += bytes((self._audio_level_id << 4, (0x80 if vad else 0) | (level & 0x7F)))
        first = (packet.marker << 7) | packet.payload_type
        seq, ts, ssrc = packet.sequence_number, packet.timestamp, packet.ssrc
        if not ext:
            return _HEADER.pack(0x80, first, seq, ts, ssrc) + packet.payload
        ext += bytes(-len(ext) % 4)
        header = _HEADER_EXT.pack(0x90, first, seq, ts, ssrc, 0xBEDE, len(ext) >> 2)
        return header + ext + packet.payload

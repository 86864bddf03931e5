"""UDP links between one aiortc client and the hub, on loopback, that lose what a test says.

The client's ICE candidate is the proxy's port (``hub`` is set once the hub's answer names
its own). ``HubProxy`` passes every datagram on to the other side and asks ``passes`` first;
SRTP leaves RTP headers in the clear, so a proxy can tell RTP and its payload type apart.

``LimitingProxy``: RTP towards the client passes a token bucket of ``limit_bps`` (None: no
limit) and what exceeds it is dropped, as a narrow link drops it. It logs the sequence
numbers and timestamps the relay wrote for the video's payload type (before the bucket), and
counts per payload type the packets (and bytes) that reached the client.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter


class HubProxy(asyncio.DatagramProtocol):
    """Between one client and the hub: what ``passes`` lets through goes on to the other side."""

    def __init__(self, hub_port: int = 0) -> None:
        self.hub = ("127.0.0.1", hub_port)
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        to_hub = addr != self.hub
        if to_hub:
            self.client = addr
        is_rtp = len(data) > 12 and 127 < data[0] < 192 and not 200 <= data[1] <= 207
        if not self.passes(data, to_hub, is_rtp):
            return
        target = self.hub if to_hub else self.client
        if target is not None:
            self.transport.sendto(data, target)

    def passes(self, data: bytes, to_hub: bool, is_rtp: bool) -> bool:
        return True


class LimitingProxy(HubProxy):
    def __init__(self, video_pt: int) -> None:
        super().__init__()
        self.video_pt = video_pt
        self.limit_bps: int | None = None
        # The bucket holds this long's worth of the limit: the bursts that pass at once.
        self.burst_s = 0.1
        self.tokens = 0.0
        self.at = time.monotonic()
        self.log: list[tuple[int, int]] = []
        # payload type -> RTP packets, and their bytes, passed on to the client
        self.delivered: Counter[int] = Counter()
        self.delivered_bytes: Counter[int] = Counter()

    def passes(self, data: bytes, to_hub: bool, is_rtp: bool) -> bool:
        if to_hub or not is_rtp:
            return True
        payload_type = data[1] & 0x7F
        if payload_type == self.video_pt:
            self.log.append((int.from_bytes(data[2:4]), int.from_bytes(data[4:8])))
        if self.limit_bps is not None:
            now = time.monotonic()
            depth = self.limit_bps / 8 * self.burst_s
            self.tokens = min(depth, self.tokens + (now - self.at) * self.limit_bps / 8)
            self.at = now
            if self.tokens < len(data):
                return False
            self.tokens -= len(data)
        self.delivered[payload_type] += 1
        self.delivered_bytes[payload_type] += len(data)
        return True

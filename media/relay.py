"""Fan-out of a participant's published tracks to subscribers, behind a replaceable interface.

The hub only calls ``subscribe`` and ``stop``. ``TranscodingRelay`` hands out decoded frames
(every subscriber's sender re-encodes them: about 10 % of a core per subscribed 640x480 VP8
stream, see docs/media.md §3). A packet-forwarding relay can implement the same protocol by
returning tracks whose ``recv()`` yields ``av.Packet``s, which aiortc's senders packetize
without encoding.
"""

from __future__ import annotations

from typing import Protocol

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack


class Relay(Protocol):
    def subscribe(self, track: MediaStreamTrack) -> MediaStreamTrack:
        """A new consumer's view of ``track`` (a published, remote track)."""
        ...

    def stop(self, track: MediaStreamTrack) -> None:
        """End a subscription returned by ``subscribe``; the source track is not affected."""
        ...


class TranscodingRelay:
    """aiortc's MediaRelay with unbuffered consumers.

    ``buffered=False`` keeps only the newest frame per consumer: a slow subscriber drops
    frames instead of queueing them without bound (with the default, latency grew by seconds
    within 30 s under overload, docs/media.md §3.2).
    """

    def __init__(self) -> None:
        self._relay = MediaRelay()

    def subscribe(self, track: MediaStreamTrack) -> MediaStreamTrack:
        return self._relay.subscribe(track, buffered=False)

    def stop(self, track: MediaStreamTrack) -> None:
        track.stop()

"""Fan-out of a participant's published tracks to subscribers, behind a replaceable interface.

A ``Peer`` tells its room's relay what it publishes (``publish``, with the receiving
``RTCRtpReceiver``) and which of its server-created senders should carry whose track
(``subscribe``, with the ``RTCRtpSender`` and its permanent ``SlotTrack``).

- ``media.forwarding.ForwardingRelay`` (the hub's default) forwards RTP packets without
  decoding or encoding them.
- ``TranscodingRelay`` decodes every published frame and lets every subscriber's sender
  re-encode it (about 10-15 % of a core per subscribed 640x480 VP8 stream);
  kept for comparison (bench/relay.py) and as a fallback.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import numpy
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from media.counters import Counters
from media.tracks import SlotTrack


class Subscription(Protocol):
    def request_keyframe(self) -> None:
        """The subscriber (re)starts receiving: give it a picture it can decode soon."""
        ...

    def stop(self) -> None:
        """Stop sending; the sender and its slot stay for a later subscription."""
        ...

    def set_wanted_size(self, width: int, height: int) -> None:
        """The subscriber shows this video in a tile of that many device pixels."""
        ...


class Relay(Protocol):
    # Whether browsers are offered simulcast (media/simulcast.py) with this relay.
    receives_simulcast: bool

    def publish(
        self,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver,
        counters: Counters,
        rids: tuple[str, ...] = (),
    ) -> None:
        """Take in a published track from now on; frames received count in ``counters``;
        ``rids``: its simulcast layers, lowest first (media/simulcast.py)."""
        ...

    def unpublish(self, track: MediaStreamTrack) -> None:
        """The publisher left: release what ``publish`` set up."""
        ...

    def subscribe(
        self,
        track: MediaStreamTrack,
        sender: RTCRtpSender,
        slot: SlotTrack,
        counters: Counters,
        publisher: Counters,
    ) -> Subscription:
        """Send ``track`` through ``sender`` (whose track is ``slot``)."""
        ...

    def forget_sender(self, sender: RTCRtpSender) -> None:
        """The subscriber's connection is closing: drop what the relay kept for ``sender``."""
        ...

    async def snapshot(self, track: MediaStreamTrack, timeout_s: float) -> numpy.ndarray | None:
        """A decoded picture of ``track`` as a BGR array, or None within ``timeout_s``."""
        ...


def to_bgr(frame: Any) -> numpy.ndarray:
    array: numpy.ndarray = frame.to_ndarray(format="bgr24")
    return array


class _SlotSubscription:
    def __init__(self, slot: SlotTrack, proxy: MediaStreamTrack) -> None:
        self._slot = slot
        self._proxy = proxy

    def request_keyframe(self) -> None:
        self._slot.request_keyframe()

    def stop(self) -> None:
        self._slot.detach()
        self._proxy.stop()

    def set_wanted_size(self, width: int, height: int) -> None:
        """The sender's encoder scales nothing down: one size for everyone."""


class TranscodingRelay:
    """aiortc's MediaRelay with unbuffered consumers.

    ``buffered=False`` keeps only the newest frame per consumer: a slow subscriber drops
    frames instead of queueing them without bound (with the default, latency grew by seconds
    within 30 s under overload in bench/relay.py). Every published track is drained by a
    sink even without subscribers: aiortc decodes into an unbounded queue that would
    otherwise fill memory; the sink counts frames and serves snapshots.
    """

    receives_simulcast = False

    def __init__(self) -> None:
        self._relay = MediaRelay()
        self._sinks: dict[MediaStreamTrack, tuple[MediaStreamTrack, asyncio.Task[None]]] = {}
        self._waiters: dict[MediaStreamTrack, list[asyncio.Future[Any]]] = {}

    def publish(
        self,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver,
        counters: Counters,
        rids: tuple[str, ...] = (),
    ) -> None:
        # Simulcast is not received here: the page is offered none (aiortc decodes one SSRC).
        proxy = self._relay.subscribe(track, buffered=False)
        task = asyncio.ensure_future(self._drain(track, proxy, counters))
        self._sinks[track] = (proxy, task)

    def unpublish(self, track: MediaStreamTrack) -> None:
        proxy, task = self._sinks.pop(track, (None, None))
        if proxy is not None and task is not None:
            proxy.stop()
            task.cancel()
        for waiter in self._waiters.pop(track, []):
            if not waiter.done():
                waiter.set_result(None)

    def subscribe(
        self,
        track: MediaStreamTrack,
        sender: RTCRtpSender,
        slot: SlotTrack,
        counters: Counters,
        publisher: Counters,
    ) -> Subscription:
        proxy = self._relay.subscribe(track, buffered=False)
        kind = track.kind
        slot.attach(proxy, lambda _frame: counters.count_forwarded(publisher, kind))
        return _SlotSubscription(slot, proxy)

    def forget_sender(self, sender: RTCRtpSender) -> None:
        """Nothing is kept per sender: the slot and its encoder belong to the sender."""

    async def snapshot(self, track: MediaStreamTrack, timeout_s: float) -> numpy.ndarray | None:
        if track not in self._sinks:
            return None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(track, []).append(waiter)
        try:
            frame = await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(track, [])
            if waiter in waiters:
                waiters.remove(waiter)
        if frame is None:
            return None
        loop = asyncio.get_running_loop()
        array: numpy.ndarray = await loop.run_in_executor(None, to_bgr, frame)
        return array

    async def _drain(
        self, track: MediaStreamTrack, proxy: MediaStreamTrack, counters: Counters
    ) -> None:
        try:
            while True:
                frame = await proxy.recv()
                counters.count_received(track.kind)
                waiters = self._waiters.pop(track, [])
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(frame)
        except MediaStreamError:
            return

"""One participant's RTCPeerConnection: what it publishes, what it is sent, its data channels.

A ``Peer`` knows nothing of rooms or of other peers; the hub tells it which publications it
should receive (``reconcile``) and when to renegotiate. Its own background work (draining
published tracks, answering data-channel messages) lives in tasks it cancels on ``close``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdatachannel import RTCDataChannel

from media.relay import Relay
from media.rtpmap import RtpMapping, remap_offer, rtp_mapping
from media.tracks import SlotTrack

logger = logging.getLogger(__name__)

# aiortc's close() stops every transport in turn; on a healthy loop it takes milliseconds.
CLOSE_TIMEOUT_S = 5.0
# Device readings are small JSON objects; anything near this is not a reading.
MAX_DATA_MESSAGE_CHARS = 16 * 1024
# Messages waiting for the data_message callback; beyond this a flood is dropped, not queued.
MAX_PENDING_DATA_MESSAGES = 64

DataHandler = Callable[[str, str], Awaitable[str | None]]


@dataclass
class Counters:
    """Frames forwarded to and from one participant; data-channel messages; renegotiations."""

    video_frames_to: int = 0
    audio_frames_to: int = 0
    video_frames_from: int = 0
    audio_frames_from: int = 0
    video_frames_received: int = 0
    audio_frames_received: int = 0
    data_messages_in: int = 0
    data_messages_out: int = 0
    renegotiations: int = 0

    def count_forwarded(self, publisher: Counters, kind: str) -> None:
        if kind == "video":
            self.video_frames_to += 1
            publisher.video_frames_from += 1
        else:
            self.audio_frames_to += 1
            publisher.audio_frames_from += 1

    def as_dict(self) -> dict[str, int]:
        values = asdict(self)
        values["frames_to"] = self.video_frames_to + self.audio_frames_to
        values["frames_from"] = self.video_frames_from + self.audio_frames_from
        return values


@dataclass(frozen=True)
class Publication:
    """A published track the hub wants a peer to receive."""

    publisher_id: str
    track: MediaStreamTrack
    counters: Counters


@dataclass
class Outbound:
    """A transceiver the server added to send one publication; reused once it falls idle."""

    transceiver: RTCRtpTransceiver
    slot: SlotTrack
    publication: Publication | None = None
    subscription: MediaStreamTrack | None = None
    # Attached since the last answer: ask for a keyframe once the browser receives again.
    attached: bool = False


class Peer:
    def __init__(
        self,
        participant_id: str,
        configuration: RTCConfiguration,
        relay: Relay,
        on_data: DataHandler,
    ) -> None:
        self.participant_id = participant_id
        self.pc = RTCPeerConnection(configuration=configuration)
        self.published: list[MediaStreamTrack] = []
        self.outbound: list[Outbound] = []
        self.counters = Counters()
        # SDP operations on pc, one at a time.
        self.lock = asyncio.Lock()
        # peer_state reports in the order the states happened.
        self.events = asyncio.Lock()
        self.connected = False
        self.closed = False
        self.reported_closed = False
        # One server offer at a time; a room change meanwhile sets ``dirty`` (a flag, not a
        # queue): the hub renegotiates once more after the answer.
        self.negotiating = False
        self.dirty = False
        self.offered_media = 0
        self.answer_timer: asyncio.TimerHandle | None = None
        self._relay = relay
        self._on_data = on_data
        self._mapping = RtpMapping()
        self._sinks: list[tuple[MediaStreamTrack, asyncio.Task[None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._frame_waiters: list[asyncio.Future[Any]] = []
        self._closing: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)

    # -- negotiation -------------------------------------------------------------------

    async def accept_offer(self, sdp: str) -> str:
        """Apply the browser's offer; the answer SDP, with every local candidate in it."""
        self._mapping = rtp_mapping(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        # aiortc gathers all candidates inside setLocalDescription (no trickle).
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def reconcile(self, wanted: list[Publication]) -> bool:
        """Point outbound transceivers at ``wanted``; True if the SDP has to change."""
        changed = False
        wanted_tracks = {publication.track for publication in wanted}
        for outbound in self.outbound:
            if outbound.publication is not None and outbound.publication.track not in wanted_tracks:
                self._release(outbound)
            if outbound.publication is None and outbound.transceiver.direction != "inactive":
                outbound.transceiver.direction = "inactive"
                changed = True
        sent = {o.publication.track for o in self.outbound if o.publication is not None}
        for publication in wanted:
            if publication.track in sent:
                continue
            idle = [
                o
                for o in self.outbound
                if o.publication is None and o.slot.kind == publication.track.kind
            ]
            if idle:
                # aiortc re-activates an inactive transceiver with its sender still running.
                outbound = idle[0]
                outbound.transceiver.direction = "sendonly"
            else:
                slot = SlotTrack(publication.track.kind)
                transceiver = self.pc.addTransceiver(slot, direction="sendonly")
                outbound = Outbound(transceiver=transceiver, slot=slot)
                self.outbound.append(outbound)
            self._attach(outbound, publication)
            changed = True
        return changed

    def release_tracks(self, tracks: list[MediaStreamTrack]) -> None:
        """Stop forwarding a departed publisher's tracks now; the SDP follows at the next
        reconcile."""
        for outbound in self.outbound:
            if outbound.publication is not None and outbound.publication.track in tracks:
                self._release(outbound)

    async def create_offer(self) -> str:
        """A server offer in the browser's numbering; the peer now awaits its answer."""
        offer = await self.pc.createOffer()
        sdp = remap_offer(offer.sdp, self._mapping)
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self.negotiating = True
        self.offered_media = sum(1 for line in sdp.splitlines() if line.startswith("m="))
        self.counters.renegotiations += 1
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.negotiating = False
        for outbound in self.outbound:
            if outbound.attached and outbound.publication is not None:
                outbound.slot.request_keyframe()
            outbound.attached = False
        if self.answer_timer is not None:
            self.answer_timer.cancel()
            self.answer_timer = None

    def sources(self) -> dict[str, tuple[str, str]]:
        """mid -> (publisher id, kind) for every transceiver currently forwarding media."""
        return {
            outbound.transceiver.mid: (outbound.publication.publisher_id, outbound.slot.kind)
            for outbound in self.outbound
            if outbound.publication is not None and outbound.transceiver.mid is not None
        }

    # -- media -------------------------------------------------------------------------

    def start_sinks(self) -> None:
        """Drain every published track through the relay.

        aiortc decodes every received frame into an unbounded queue (RemoteStreamTrack); a
        publisher nobody subscribes to (alone in the room) would fill memory without a reader.
        The sink also counts frames and serves snapshots, so nothing else decodes for them.
        """
        sunk = {track for track, _ in self._sinks}
        for track in self.published:
            if track in sunk:
                continue
            subscription = self._relay.subscribe(track)
            task = asyncio.ensure_future(self._drain(track.kind, subscription))
            self._sinks.append((subscription, task))

    async def snapshot(self, timeout_s: float) -> numpy.ndarray | None:
        """The next decoded video frame as a BGR array, converted off the event loop."""
        frame = await self._next_video_frame(timeout_s)
        if frame is None or not hasattr(frame, "to_ndarray"):
            # A forwarding relay hands out packets; analysis would need its own decoder.
            return None
        loop = asyncio.get_running_loop()
        array: numpy.ndarray = await loop.run_in_executor(None, _to_bgr, frame)
        return array

    async def _next_video_frame(self, timeout_s: float) -> Any:
        """The next decoded video frame this participant publishes, or None."""
        if self.closed or not self._sinks or not any(t.kind == "video" for t in self.published):
            return None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._frame_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        finally:
            if waiter in self._frame_waiters:
                self._frame_waiters.remove(waiter)

    async def _drain(self, kind: str, subscription: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await subscription.recv()
                if kind == "video":
                    self.counters.video_frames_received += 1
                    waiters, self._frame_waiters = self._frame_waiters, []
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(frame)
                else:
                    self.counters.audio_frames_received += 1
        except MediaStreamError:
            return

    def _attach(self, outbound: Outbound, publication: Publication) -> None:
        subscription = self._relay.subscribe(publication.track)
        outbound.publication = publication
        outbound.subscription = subscription
        outbound.attached = True
        kind = publication.track.kind
        counters, publisher = self.counters, publication.counters
        outbound.slot.attach(subscription, lambda _frame: counters.count_forwarded(publisher, kind))

    def _release(self, outbound: Outbound) -> None:
        outbound.slot.detach()
        if outbound.subscription is not None:
            self._relay.stop(outbound.subscription)
        outbound.publication = None
        outbound.subscription = None

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.published.append(track)

    # -- data channels -----------------------------------------------------------------

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        # Replies keep the order of the messages they answer.
        order = asyncio.Lock()

        def on_message(message: object) -> None:
            self._on_message(channel, order, message)

        channel.on("message", on_message)

    def _on_message(self, channel: RTCDataChannel, order: asyncio.Lock, message: object) -> None:
        if self.closed:
            return
        if not isinstance(message, str):
            logger.info("peer %s: binary data-channel message ignored", self.participant_id)
            return
        if len(message) > MAX_DATA_MESSAGE_CHARS:
            logger.warning(
                "peer %s: data-channel message of %d chars dropped, at most %d allowed",
                self.participant_id,
                len(message),
                MAX_DATA_MESSAGE_CHARS,
            )
            return
        if len(self._tasks) >= MAX_PENDING_DATA_MESSAGES:
            logger.warning(
                "peer %s: data-channel backlog full, message dropped", self.participant_id
            )
            return
        self.counters.data_messages_in += 1
        task = asyncio.ensure_future(self._answer_message(channel, order, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_message(
        self, channel: RTCDataChannel, order: asyncio.Lock, message: str
    ) -> None:
        async with order:
            try:
                reply = await self._on_data(channel.label, message)
            except Exception:
                logger.exception("peer %s: data_message callback failed", self.participant_id)
                return
            if reply is not None and channel.readyState == "open":
                channel.send(reply)
                self.counters.data_messages_out += 1

    # -- shutdown ----------------------------------------------------------------------

    def close(self) -> asyncio.Future[None]:
        """Close once; every caller awaits the same shutdown, which a cancelled caller
        cannot interrupt (aiortc's close must not stop half-way)."""
        if self._closing is None:
            self.closed = True
            self._closing = asyncio.ensure_future(self._close())
        return asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self.answer_timer is not None:
            self.answer_timer.cancel()
            self.answer_timer = None
        for outbound in self.outbound:
            self._release(outbound)
            outbound.slot.stop()
        for waiter in self._frame_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._frame_waiters = []
        tasks: list[asyncio.Task[None]] = [task for _, task in self._sinks] + list(self._tasks)
        for subscription, _ in self._sinks:
            self._relay.stop(subscription)
        for task in tasks:
            task.cancel()
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            logger.warning("peer %s: close took over %.0f s", self.participant_id, CLOSE_TIMEOUT_S)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._sinks = []
        self.outbound = []
        self.published = []


def _to_bgr(frame: Any) -> numpy.ndarray:
    array: numpy.ndarray = frame.to_ndarray(format="bgr24")
    return array

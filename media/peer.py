"""One participant's RTCPeerConnection: what it publishes, what it is sent, its data channels.

A ``Peer`` knows nothing of rooms or of other peers; the hub tells it which publications it
should receive (``reconcile``) and when to renegotiate; the room's relay moves the media.
Its own background work (answering data-channel messages) lives in tasks it cancels on
``close``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcdatachannel import RTCDataChannel

from media import simulcast
from media.aiortc_hooks import count_transport_drops, parse_stream_ids
from media.counters import Counters
from media.relay import Relay, Subscription
from media.rtpmap import RtpMapping, remap_offer, rtp_mapping
from media.tracks import SlotTrack

logger = logging.getLogger(__name__)

# aiortc's close() stops every transport in turn; on a healthy loop it takes milliseconds.
CLOSE_TIMEOUT_S = 5.0
# Device readings are small JSON objects; anything near this is not a reading.
MAX_DATA_MESSAGE_CHARS = 16 * 1024
# Messages waiting for the data_message callback; beyond this a flood is dropped, not queued.
MAX_PENDING_DATA_MESSAGES = 64
# The data channel on which a page tells the relay the size of each video tile; answered
# by the peer itself, never passed on (docs/api.md).
VIDEO_CHANNEL = "video"
# A tile larger than this (device pixels) is as good as any: no camera layer is larger.
MAX_TILE_PIXELS = 8192

DataHandler = Callable[[str, str], Awaitable[str | None]]


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
    subscription: Subscription | None = None
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
        # mid -> simulcast the browser sends in that section (media/simulcast.py).
        self._simulcast: dict[str, simulcast.Offered] = {}
        # Kinds the browser can receive; an audio-only page is never sent video.
        self._receives = frozenset({"audio", "video"})
        self._watched: set[Any] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)

    # -- negotiation -------------------------------------------------------------------

    async def accept_offer(self, sdp: str) -> str:
        """Apply the browser's offer; the answer SDP, with every local candidate in it."""
        self._mapping = rtp_mapping(sdp)
        self._receives = _receiving_kinds(sdp)
        if getattr(self._relay, "receives_simulcast", False):
            self._simulcast = simulcast.offered(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self._count_drops()
        # aiortc gathers all candidates inside setLocalDescription (no trickle).
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return simulcast.add_receive(self.pc.localDescription.sdp, self._simulcast)

    def receives(self, kind: str) -> bool:
        """Whether this participant's page takes media of ``kind`` from others."""
        return kind in self._receives

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
        # aiortc never sees the simulcast lines: it would drop them from its description.
        return simulcast.add_receive(self.pc.localDescription.sdp, self._simulcast)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.negotiating = False
        for outbound in self.outbound:
            if outbound.attached and outbound.subscription is not None:
                outbound.subscription.request_keyframe()
            outbound.attached = False
        if self.answer_timer is not None:
            self.answer_timer.cancel()
            self.answer_timer = None

    def layers(self) -> dict[str, str]:
        """mid -> the simulcast layer (RID) forwarded to this participant there, for each
        simulcast video it receives a layer of."""
        found = {}
        for outbound in self.outbound:
            rid = getattr(outbound.subscription, "rid", None)
            if rid is not None and outbound.transceiver.mid is not None:
                found[outbound.transceiver.mid] = rid
        return found

    def sources(self) -> dict[str, tuple[str, str]]:
        """mid -> (publisher id, kind) for every transceiver currently forwarding media."""
        return {
            outbound.transceiver.mid: (outbound.publication.publisher_id, outbound.slot.kind)
            for outbound in self.outbound
            if outbound.publication is not None and outbound.transceiver.mid is not None
        }

    # -- media -------------------------------------------------------------------------

    async def snapshot(self, timeout_s: float) -> numpy.ndarray | None:
        """A decoded picture of this participant's video as a BGR array, or None."""
        video = [t for t in self.published if t.kind == "video" and t.readyState == "live"]
        if self.closed or not video:
            return None
        return await self._relay.snapshot(video[0], timeout_s)

    def _count_drops(self) -> None:
        """Count what this participant's transport drops (the hub's ``counters``)."""
        for transceiver in self.pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport is not None and transport not in self._watched:
                self._watched.add(transport)
                count_transport_drops(transport, self.counters.count)
                for offered in self._simulcast.values():
                    parse_stream_ids(transport, offered.rid_id, offered.repaired_rid_id)

    def _attach(self, outbound: Outbound, publication: Publication) -> None:
        outbound.subscription = self._relay.subscribe(
            publication.track,
            outbound.transceiver.sender,
            outbound.slot,
            self.counters,
            publication.counters,
        )
        outbound.publication = publication
        outbound.attached = True

    def _release(self, outbound: Outbound) -> None:
        if outbound.subscription is not None:
            outbound.subscription.stop()
        outbound.publication = None
        outbound.subscription = None

    def _on_track(self, track: MediaStreamTrack) -> None:
        # Emitted inside setRemoteDescription, before any packet can arrive.
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        offered = self._simulcast.get(mid) if mid is not None else None
        self.published.append(track)
        self._relay.publish(
            track, receiver, self.counters, offered.rids if offered is not None else ()
        )

    # -- data channels -----------------------------------------------------------------

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label == VIDEO_CHANNEL:
            channel.on("message", lambda message: self._on_video_message(channel, message))
            return
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

    def _on_video_message(self, channel: RTCDataChannel, message: object) -> None:
        """``{"mid", "width", "height"}``: the tile showing the video of that mid."""
        if self.closed:
            return
        reply = self._video_size(message)
        if channel.readyState == "open":
            channel.send(json.dumps(reply))

    def _video_size(self, message: object) -> dict[str, Any]:
        if not isinstance(message, str) or len(message) > 256:
            return {
                "error": "a tile size is a JSON text of at most 256 characters",
                "code": "bad_message",
            }
        try:
            size = json.loads(message)
        except ValueError:
            return {"error": "a tile size must be JSON", "code": "bad_message"}
        if not isinstance(size, dict):
            return {"error": "a tile size must be a JSON object", "code": "bad_message"}
        mid, width, height = size.get("mid"), size.get("width"), size.get("height")
        for name, value in (("width", width), ("height", height)):
            if type(value) is not int or not 0 <= value <= MAX_TILE_PIXELS:
                return {
                    "error": f"{name} must be a whole number of pixels from 0 to {MAX_TILE_PIXELS}",
                    "code": "invalid_field",
                }
        outbound = next(
            (
                o
                for o in self.outbound
                if isinstance(mid, str) and o.transceiver.mid == mid and o.slot.kind == "video"
            ),
            None,
        )
        if outbound is None:
            return {"error": "no video is sent under that mid", "code": "unknown_mid"}
        if outbound.subscription is not None and isinstance(width, int) and isinstance(height, int):
            outbound.subscription.set_wanted_size(width, height)
        return {"ack": mid}

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
            self._relay.forget_sender(outbound.transceiver.sender)
            outbound.slot.stop()
        for track in self.published:
            self._relay.unpublish(track)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            logger.warning("peer %s: close took over %.0f s", self.participant_id, CLOSE_TIMEOUT_S)
        await asyncio.gather(*tasks, return_exceptions=True)
        self.outbound = []
        self.published = []


def _receiving_kinds(offer_sdp: str) -> frozenset[str]:
    """Media kinds the offering browser can receive; every kind when it offers neither
    audio nor video to receive (a page that only opened a data channel gets both by
    renegotiation)."""
    kinds = {
        media.kind
        for media in aiortc_sdp.SessionDescription.parse(offer_sdp).media
        if media.kind in ("audio", "video") and media.direction in (None, "sendrecv", "recvonly")
    }
    return frozenset(kinds) if kinds else frozenset({"audio", "video"})

"""Selective forwarding at the RTP packet level: no decoding, no encoding, no reassembly.

Each published track becomes a ``_Source`` fed by aiortc's receiver (after SRTP, RTX unwrap
and NACK bookkeeping, media.aiortc_hooks). Each packet goes at once to every subscriber,
rewritten for that subscriber's sender: its SSRC, a sequence number and timestamp that
continue the sender's own numbering (so a sender reused for another publisher never jumps
back), the payload type and header extension ids that subscriber negotiated (rtpmap.py
keeps them in the browser's numbering), and a fresh abs-send-time for the second hop's
bandwidth estimate.

- Keyframes: a video subscriber starts on a keyframe; joining, re-enabling and a
  subscriber's PLI/FIR ask the publisher for one, at most one PLI per
  ``KEYFRAME_INTERVAL_S`` per publisher.
- Losses are repaired per hop: aiortc's receiver NACKs the publisher (and unwraps RTX), and
  each subscriber's NACKs are answered from its sender's history (the last 128 packets)
  with RTX in the payload type paired with the forwarded codec.
- Lip sync: each publisher SR is passed on translated by that subscriber's timestamp offset.
- Bitrate: the REMB sent to a publisher is the lowest of its video subscribers' REMBs of
  the last ``REMB_MAX_AGE_S``, within [``REMB_MIN_BPS``, ``REMB_MAX_BPS``]: the publisher
  follows the weakest subscriber. The relay runs no delay-based estimator of its own on the
  first hop (aiortc's costs ~10 % of the relay's CPU); loss on that hop still reaches the
  publisher in aiortc's receiver reports, which browsers' loss-based control reacts to.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import numpy
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket
from aiortc.rtp import unpack_remb_fci as _unpack_remb

from media import aiortc_hooks as hooks
from media.counters import Counters
from media.keyframes import KeyframeRequests, is_keyframe_start
from media.sampling import KeyframeSampler
from media.tracks import SlotTrack

# One keyframe per publisher per half second at most: a late joiner waits < 0.5 s for its
# first picture, while a storm of subscriber PLIs cannot make the publisher send only
# keyframes (each is 5-10x a delta frame).
KEYFRAME_INTERVAL_S = 0.5
# Bitrate a publisher is told it may use (REMB); below the floor 640x480 video is useless,
# above the ceiling it buys nothing for a care conversation.
REMB_MIN_BPS = 150_000
REMB_MAX_BPS = 2_500_000
# A new sender waits this long before its first packet. The subscriber has applied the answer
# by then, but an aiortc peer registers its receivers in a task of its own afterwards, and
# its RtpRouter binds an unknown SSRC to whichever receiver has the packet's payload type
# (rtcdtlstransport.py route_rtp): a packet that arrives first can be bound to another
# stream's receiver for good. Browsers demultiplex by MID and do not need it; a video
# subscriber waits for a keyframe anyway.
PORT_SETTLE_S = 0.25
# A subscriber's REMB older than this no longer holds the publisher back (browsers send
# REMB about once a second while receiving).
REMB_MAX_AGE_S = 5.0
# The publisher hears the lowest estimate at most this often, and at once when it drops by
# more than REMB_DROP (a subscriber's link got worse).
REMB_INTERVAL_S = 1.0
REMB_DROP = 0.9


def _codec_key(codec: RTCRtpCodecParameters) -> tuple[str, str]:
    mime = codec.mimeType.lower()
    if mime == "video/h264":
        # RFC 6184 §8.1: packetization mode must match; profile-level-id may be answered lower.
        return mime, str(codec.parameters.get("packetization-mode", "0"))
    return mime, ""


def _newer(a: int, b: int) -> bool:
    """Sequence number ``a`` follows ``b`` (RFC 3550 §A.1 arithmetic)."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000


class _Port:
    """One subscriber sender: its hooks, the numbering it continues, its REMB."""

    def __init__(self, sender: RTCRtpSender) -> None:
        self.hooks = hooks.SenderPort(sender, self._on_rtcp)
        self.hooks.on_ready = self._on_ready
        self.subscription: ForwardedSubscription | None = None
        self.next_seq = random.getrandbits(16)
        self.last_ts: int | None = None
        self.last_sent_at = 0.0
        self.remb: tuple[int, float] | None = None
        # Sending starts PORT_SETTLE_S after the sender started (see there).
        self.settled = False
        self._settling: asyncio.TimerHandle | None = None

    def payload_type(self, codec: RTCRtpCodecParameters) -> int | None:
        key = _codec_key(codec)
        for candidate in self.hooks.codecs:
            if _codec_key(candidate) == key:
                return candidate.payloadType
        return None

    def _on_ready(self) -> None:
        # aiortc calls send() again at every renegotiation; only the first one starts us.
        if self._settling is None:
            self._settling = asyncio.get_running_loop().call_later(PORT_SETTLE_S, self._settle)

    def _settle(self) -> None:
        self.settled = True
        if self.subscription is not None and self.subscription.active:
            self.subscription.request_keyframe()

    def close(self) -> None:
        if self._settling is not None:
            self._settling.cancel()

    def _on_rtcp(self, packet: Any) -> None:
        if not isinstance(packet, RtcpPsfbPacket) or self.subscription is None:
            return
        if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.subscription.on_keyframe_request()
        elif packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = _unpack_remb(packet.fci)
            except ValueError:
                return
            if self.hooks.ssrc in ssrcs:
                self.remb = bitrate, time.monotonic()
                self.subscription.on_remb()


class ForwardedSubscription:
    """One subscriber of one source: rewrites and sends that source's packets."""

    def __init__(self, source: _Source, port: _Port, counters: Counters, publisher: Counters):
        self._source = source
        self._port = port
        self._counters = counters
        self._publisher = publisher
        # Nothing is sent before the subscriber applied the answer that names this stream
        # (request_keyframe): an aiortc peer drops packets for a transceiver it has not
        # re-enabled yet, and a dropped first packet stalls its jitter buffer.
        self._active = False
        self._waiting = True
        self._start_seq = 0
        self._seq_offset = 0
        self._ts_offset = 0
        # Publisher's payload type -> this subscriber's (None: it did not negotiate the codec).
        self._payload_types: dict[int, int | None] = {}

    def request_keyframe(self) -> None:
        self._active = True
        if self._source.kind == "video":
            self._waiting = True
            if self._port.settled:  # else the port asks when it settles
                self._source.keyframes.request()

    @property
    def active(self) -> bool:
        return self._active

    def on_keyframe_request(self) -> None:
        self._counters.keyframe_requests_from += 1
        self._source.keyframes.request()

    def on_remb(self) -> None:
        self._source.update_remb()

    def stop(self) -> None:
        if self in self._source.subscriptions:
            self._source.subscriptions.remove(self)
        if self._port.subscription is self:
            self._port.subscription = None

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        if not self._waiting:
            self._port.hooks.set_sender_report(
                ntp_timestamp, (rtp_timestamp + self._ts_offset) & 0xFFFFFFFF
            )

    @property
    def remb(self) -> int | None:
        remb = self._port.remb
        if remb is None or time.monotonic() - remb[1] > REMB_MAX_AGE_S:
            return None
        return remb[0]

    async def forward(
        self, packet: RtpPacket, codec: RTCRtpCodecParameters, keyframe: bool, abs_send: int
    ) -> None:
        port = self._port
        if not (self._active and port.settled):
            return
        if self._waiting:
            if self._source.kind == "video" and not keyframe:
                return
            self._start(packet, codec)
        elif not _newer(packet.sequence_number, self._start_seq) and (
            packet.sequence_number != self._start_seq
        ):
            return  # late packet from before this subscriber started
        payload_type = self._payload_types.get(packet.payload_type, -1)
        if payload_type == -1:
            payload_type = self._payload_types[packet.payload_type] = port.payload_type(codec)
        if payload_type is None:
            self._counters.send_failures += 1
            return
        seq = (packet.sequence_number + self._seq_offset) & 0xFFFF
        out = RtpPacket(
            payload_type=payload_type,
            marker=packet.marker,
            sequence_number=seq,
            timestamp=(packet.timestamp + self._ts_offset) & 0xFFFFFFFF,
            ssrc=port.hooks.ssrc,
            payload=packet.payload,
        )
        out.extensions.mid = port.hooks.mid
        out.extensions.abs_send_time = abs_send
        out.extensions.audio_level = packet.extensions.audio_level
        try:
            await port.hooks.send(out)
        except ConnectionError:
            self._counters.send_failures += 1
            return
        if _newer(seq, port.next_seq) or seq == port.next_seq:
            port.next_seq = (seq + 1) & 0xFFFF
            port.last_ts = out.timestamp
            port.last_sent_at = time.monotonic()
        if packet.marker or self._source.kind == "audio":
            self._counters.count_forwarded(self._publisher, self._source.kind)

    def _start(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        """Continue the sender's numbering from ``packet`` on."""
        port = self._port
        self._waiting = False
        self._start_seq = packet.sequence_number
        self._seq_offset = (port.next_seq - packet.sequence_number) & 0xFFFF
        if port.last_ts is None:
            target = random.getrandbits(32)
        else:
            elapsed_s = time.monotonic() - port.last_sent_at
            target = port.last_ts + max(1, int(elapsed_s * codec.clockRate))
        self._ts_offset = (target - packet.timestamp) & 0xFFFFFFFF
        report = self._source.sender_reports.get(packet.ssrc)
        if report is not None:
            self.sender_report(*report)
        else:
            port.hooks.set_sender_report(current_ntp_time(), target & 0xFFFFFFFF)


class _Source:
    """One published track: its receiver's packets, to every subscriber."""

    def __init__(
        self, track: MediaStreamTrack, receiver: RTCRtpReceiver, counters: Counters
    ) -> None:
        self.kind = track.kind
        self.receiver = receiver
        self.counters = counters
        self.subscriptions: list[ForwardedSubscription] = []
        self.sender_reports: dict[int, tuple[int, int]] = {}
        self.media_ssrc: int | None = None
        self.keyframes = KeyframeRequests(self._send_pli, KEYFRAME_INTERVAL_S)
        self.samplers: list[KeyframeSampler] = []
        self._remb_sent: tuple[int, float] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        hooks.tap_receiver(
            receiver,
            on_packet=self._on_packet,
            on_dropped=lambda: counters.count("rtp_dropped"),
            on_sender_report=self._on_sender_report,
        )

    async def _on_packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        self.media_ssrc = packet.ssrc
        keyframe = self.kind == "video" and is_keyframe_start(codec.name, packet.payload)
        if keyframe:
            self.keyframes.keyframe_seen()
        if packet.marker or self.kind == "audio":
            self.counters.count_received(self.kind)
        for sampler in self.samplers:
            sampler.add(packet, codec, keyframe)
        if not self.subscriptions:
            return
        # abs-send-time: NTP seconds in 6.18 fixed point, modulo 64 s; the NTP epoch offset
        # (2208988800 s) is a multiple of 64, so Unix time gives the same value.
        abs_send = int(time.time() * 262144) & 0xFFFFFF
        for subscription in list(self.subscriptions):
            await subscription.forward(packet, codec, keyframe, abs_send)

    def _on_sender_report(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self.sender_reports[ssrc] = (ntp_timestamp, rtp_timestamp)
        if ssrc == self.media_ssrc:
            for subscription in self.subscriptions:
                subscription.sender_report(ntp_timestamp, rtp_timestamp)

    def update_remb(self) -> None:
        """Pass the weakest subscriber's REMB on to the publisher (module docstring)."""
        estimates = [e for e in (s.remb for s in self.subscriptions) if e is not None]
        if not estimates or self.media_ssrc is None:
            return
        bitrate = max(REMB_MIN_BPS, min(REMB_MAX_BPS, min(estimates)))
        now = time.monotonic()
        if self._remb_sent is not None:
            last, at = self._remb_sent
            if now - at < REMB_INTERVAL_S and bitrate > last * REMB_DROP:
                return
        self._remb_sent = bitrate, now
        self._spawn(hooks.send_remb(self.receiver, bitrate, self.media_ssrc))

    def _send_pli(self) -> None:
        if self.media_ssrc is None:
            return  # nothing received yet: the first frame a publisher sends is a keyframe
        self.counters.keyframe_requests_to += 1
        self._spawn(hooks.send_pli(self.receiver, self.media_ssrc))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        self.keyframes.close()
        self.subscriptions.clear()
        for sampler in self.samplers:
            sampler.cancel()


class ForwardingRelay:
    """The hub's relay: RTP packets from each publisher to each subscriber, never decoded
    (except one sampled keyframe for a snapshot, in a worker thread)."""

    def __init__(self) -> None:
        self._sources: dict[MediaStreamTrack, _Source] = {}
        self._ports: dict[RTCRtpSender, _Port] = {}

    def publish(
        self, track: MediaStreamTrack, receiver: RTCRtpReceiver, counters: Counters
    ) -> None:
        self._sources[track] = _Source(track, receiver, counters)

    def unpublish(self, track: MediaStreamTrack) -> None:
        source = self._sources.pop(track, None)
        if source is not None:
            source.close()

    def subscribe(
        self,
        track: MediaStreamTrack,
        sender: RTCRtpSender,
        slot: SlotTrack,
        counters: Counters,
        publisher: Counters,
    ) -> ForwardedSubscription:
        # ``slot`` stays empty: the sender's own loop idles while packets bypass it.
        source = self._sources[track]
        port = self._ports.get(sender)
        if port is None:
            port = self._ports[sender] = _Port(sender)
        if port.subscription is not None:
            port.subscription.stop()
        subscription = ForwardedSubscription(source, port, counters, publisher)
        port.subscription = subscription
        source.subscriptions.append(subscription)
        return subscription

    def forget_sender(self, sender: RTCRtpSender) -> None:
        """The subscriber's connection closed: drop its sender's state."""
        port = self._ports.pop(sender, None)
        if port is not None:
            port.close()
            if port.subscription is not None:
                port.subscription.stop()

    async def snapshot(self, track: MediaStreamTrack, timeout_s: float) -> numpy.ndarray | None:
        source = self._sources.get(track)
        if source is None or source.kind != "video":
            return None
        sampler = KeyframeSampler()
        source.samplers.append(sampler)
        source.keyframes.request()
        try:
            return await sampler.picture(timeout_s)
        finally:
            source.samplers.remove(sampler)

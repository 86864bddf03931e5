"""Selective forwarding at the RTP packet level: no decoding, no encoding, no reassembly.

Each published track becomes a ``_Source`` fed by aiortc's receiver (after SRTP, RTX unwrap
and NACK bookkeeping, media.aiortc_hooks, which hands a connected transport's SRTP over as
it arrives rather than through aiortc's queue and receive task). Each packet goes at once to
every subscriber, rewritten for that subscriber's sender: its SSRC, a sequence number and
timestamp that continue the sender's own numbering (so a sender reused for another
publisher never jumps back), the payload type and header extension ids that subscriber
negotiated (rtpmap.py keeps them in the browser's numbering), and a fresh abs-send-time for
the second hop's bandwidth estimate.

- Keyframes: a video subscriber starts on a keyframe; joining, re-enabling and a
  subscriber's PLI/FIR ask the publisher for one, at most one PLI per
  ``KEYFRAME_INTERVAL_S`` per publisher.
- Losses are repaired per hop: aiortc's receiver NACKs the publisher (and unwraps RTX), and
  each subscriber's NACKs are answered from its sender's history (the last 128 packets)
  with RTX in the payload type paired with the forwarded codec.
- Fallback ladder (media/fallback.py): each subscriber's receiver reports (fraction lost,
  jitter), the share of packets it NACKs and its REMB feed a small pure decision per
  subscriber; when its link cannot carry video, video to that subscriber alone pauses (audio
  goes on) and resumes, with a keyframe request, after good reports for a while. Each step is
  reported through ``on_step``.
- Simulcast (media/simulcast.py): a published video track may come in up to three layers,
  each its own SSRC, told apart by the RID the browser puts in its first packets. Each
  video subscription forwards one layer into the subscriber's one SSRC, chosen from that
  subscriber's receiver reports and REMB and the tile size its page asked for; it switches
  only at a keyframe of the new layer (asked for by PLI on that layer's SSRC), and the
  switch continues the sender's numbering exactly as a reused sender does. The fallback
  ladder takes over below the lowest layer. Recordings and snapshots take the highest layer
  seen. The per-packet cost of a simulcast source is one dict lookup and an addition.
- Idle layers: a layer that no subscription forwards or is switching to, and that is not
  the one recordings, snapshots and the received-frame counters take, is *idle*. Its
  packets leave the path right after SRTP (``ReceiverTap.skip``): no RTP parse, no receiver
  statistics or NACKs, no forwarding; only its size and frame marks are counted from the raw
  header, which the layer choice needs (is it arriving, at what rate). Once a subscription
  targets it, it resumes before its keyframe is asked for, with fresh statistics.
- Lip sync: each publisher SR is passed on translated by that subscriber's timestamp offset.
- Bitrate: the REMB sent to a publisher is the lowest of its video subscribers' REMBs of
  the last ``REMB_MAX_AGE_S``, within [``REMB_MIN_BPS``, ``REMB_MAX_BPS``]: the publisher
  follows the weakest subscriber. The relay runs no delay-based estimator of its own on the
  first hop (aiortc's costs ~10 % of the relay's CPU); loss on that hop still reaches the
  publisher in aiortc's receiver reports, which browsers' loss-based control reacts to.
  A simulcast publisher is told ``REMB_MAX_BPS`` for all its layers together instead: the
  weakest subscriber takes a lower layer rather than holding everyone's picture down, and
  each layer's own ``maxBitrate`` (set by the page) bounds what the browser sends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import numpy
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
)
from aiortc.rtp import unpack_remb_fci as _unpack_remb

from media import aiortc_hooks as hooks
from media import fallback, simulcast
from media.counters import Counters
from media.keyframes import KeyframeRequests, is_keyframe_start
from media.recording import Part
from media.sampling import KeyframeSampler
from media.tracks import SlotTrack

logger = logging.getLogger(__name__)

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
# The fallback ladder notices silence (no receiver report while audio is sent) this often.
LADDER_TICK_S = 1.0
# The share of packets a subscriber NACKs counts as loss over at least this many packets.
NACK_MIN_PACKETS = 20
# A receiver report is judged only once this many packets were sent, or this long passed,
# since the last one judged; the loss is then the span's (lost / expected). Chrome sends a
# report with every NACK: one over a handful of packets says little, and one that shows no
# loss (a repair arrived) would end a run of bad ones.
REPORT_MIN_PACKETS = 20
REPORT_MIN_S = 1.0
# A port that sent within this long is sending.
SENDING_WITHIN_S = 1.0
# After a step down to a lower simulcast layer, the subscriber's reports tell of the layer
# left for a while: a report spans a second or more, and loss on a full queue and NACKs of
# the old layer's packets come in after the switch. For this long after the lower layer's
# keyframe (and while the switch waits for it) the fallback ladder does not count them.
STEP_DOWN_SETTLE_S = 2.0
# A simulcast layer without a frame for this long is not being sent (the browser stops its
# upper layers when its own estimate is low); a layer's rate is measured over this at least.
LAYER_IDLE_S = 1.0


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
        # The fallback ladder: this subscriber's link, and what its reports are measured by.
        self.link: _Link | None = None
        self.video_paused = False
        self.sent = 0
        self.octets = 0
        self.nacked = 0
        # (sent, octets, nacked, when) at the last receiver report judged, and its (extended
        # highest sequence number, cumulative number lost)
        self._reported = (0, 0, 0, time.monotonic())
        self._reported_counts: tuple[int, int] | None = None
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
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            self.nacked += len(packet.lost)
            return
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for block in packet.reports:
                if block.ssrc == self.hooks.ssrc:
                    self._on_report(block)
            return
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

    def _on_report(self, block: Any) -> None:
        """One receiver report about what this port sent: to the link's ladder, once enough
        lies behind the last one judged (``REPORT_MIN_PACKETS``, ``REPORT_MIN_S``)."""
        subscription = self.subscription
        if subscription is None or self.link is None or not subscription.active:
            return
        now = time.monotonic()
        sent, octets, nacked, since = self._reported
        sent, octets, nacked = self.sent - sent, self.octets - octets, self.nacked - nacked
        kind = subscription.kind
        video = kind == "video"
        paused = video and self.video_paused
        if not paused and sent < REPORT_MIN_PACKETS and now - since < REPORT_MIN_S:
            return  # too little since the last one judged: this one's span goes on
        previous = self._reported_counts
        self._reported = (self.sent, self.octets, self.nacked, now)
        self._reported_counts = (block.highest_sequence, block.packets_lost)
        if video and (paused or sent == 0):
            # Nothing was sent (paused, or waiting for a keyframe): the report says nothing
            # about the link, and its "no loss" must not raise the layer before a picture.
            return
        loss = block.fraction_lost / 256
        if previous is not None:
            expected = (block.highest_sequence - previous[0]) & 0xFFFFFFFF
            if 0 < expected < 0x80000000:  # else the subscriber restarted its count
                loss = min(1.0, max(0, block.packets_lost - previous[1]) / expected)
        if video and sent >= NACK_MIN_PACKETS:
            loss = max(loss, min(1.0, nacked / sent))
        clock_rate = self.hooks.codecs[0].clockRate if self.hooks.codecs else 90000
        report = fallback.Report(
            at=now,
            loss=loss,
            jitter_s=block.jitter / clock_rate,
            remb_bps=subscription.remb if video else None,
            sent_bps=octets * 8 / (now - since) if video and now > since else None,
            kind=kind,
        )
        if video:
            subscription.on_report(report)
        self.link.on_report(report)

    def pause_video(self, paused: bool) -> None:
        if paused == self.video_paused:
            return
        self.video_paused = paused
        subscription = self.subscription
        if (
            not paused
            and subscription is not None
            and subscription.active
            and subscription.kind == "video"
        ):
            subscription.request_keyframe()  # the picture comes back clean


class _Link:
    """One subscriber's connection: its ports and its step on the fallback ladder."""

    def __init__(self, ladder: fallback.Ladder, on_step: Any) -> None:
        self.ladder = ladder
        self.ports: set[_Port] = set()
        self.state = fallback.LinkState()
        self._on_step = on_step

    def on_report(self, report: fallback.Report) -> None:
        lower_layer = any(
            p.subscription is not None
            and (p.subscription.can_step_down() or p.subscription.stepping_down())
            for p in self.ports
        )
        self._apply(fallback.on_report(self.state, report, self.ladder, lower_layer=lower_layer))

    def tick(self, now: float) -> None:
        for port in self.ports:
            if port.subscription is not None:
                port.subscription.waiting_tick(now)
        sending_audio = any(
            p.subscription is not None
            and p.subscription.kind == "audio"
            and now - p.last_sent_at < SENDING_WITHIN_S
            for p in self.ports
        )
        self._apply(fallback.on_tick(self.state, now, sending_audio, self.ladder))

    def _apply(self, state: fallback.LinkState) -> None:
        before, self.state = self.state.step, state
        if state.step == before:
            return
        for port in self.ports:
            port.pause_video(state.step != fallback.FULL)
        self._on_step(state.step)


class ForwardedSubscription:
    """One subscriber of one source: rewrites and sends that source's packets."""

    def __init__(
        self,
        source: _Source,
        port: _Port,
        counters: Counters,
        publisher: Counters,
        policy: simulcast.Policy | None = None,
    ):
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
        # Simulcast: the layer forwarded, the one to switch to at its next keyframe, and the
        # choice behind it (media/simulcast.py); a new subscriber aims at the top layer.
        top = len(source.rids) - 1 if source.rids else 0
        self.layer = self._target = top
        self._choice = simulcast.Choice(layer=top)
        self._policy = policy or simulcast.Policy()
        self._wanted_height: int | None = None
        self.switches = 0
        self._stepped_down_at: float | None = None
        # Since when this subscription has waited for a keyframe, as of the last tick.
        self._waiting_since: float | None = None

    def request_keyframe(self) -> None:
        self._active = True
        if self._source.kind == "video":
            self._waiting = True
            if self._port.settled:  # else the port asks when it settles
                self._source.layer_keyframes[self._target].request()

    @property
    def active(self) -> bool:
        return self._active

    @property
    def target(self) -> int:
        """The simulcast layer this subscription forwards next (``layer`` until a switch)."""
        return self._target

    @property
    def kind(self) -> str:
        return self._source.kind

    def on_keyframe_request(self) -> None:
        self._counters.keyframe_requests_from += 1
        self._source.layer_keyframes[self.layer].request()

    # -- simulcast -------------------------------------------------------------------------

    @property
    def rid(self) -> str | None:
        """The simulcast layer being forwarded, None before the first or without simulcast."""
        rids = self._source.rids
        return rids[self.layer] if rids and not self._waiting else None

    def set_wanted_size(self, width: int, height: int) -> None:
        """The subscriber's tile is ``width`` x ``height`` device pixels."""
        self._wanted_height = height if width > 0 and height > 0 else None
        self._retarget()

    def can_step_down(self) -> bool:
        if not self._source.rids:
            return False
        return simulcast.can_step_down(self._choice, self._cap()) and self._target > 0

    def waiting_tick(self, now: float) -> None:
        """Each ladder tick (a second): a video subscription found still waiting for the
        keyframe it starts or switches on, at this tick and the one before, asks again, for
        a layer that is arriving. Without this, one lost PLI or keyframe, or a layer the
        browser started only after the request, left a subscriber without a picture until
        something else asked."""
        port = self._port
        waiting = self._waiting or self._target != self.layer
        if (
            self._source.kind != "video"
            or not (self._active and port.settled and waiting)
            or port.video_paused
        ):
            self._waiting_since = None
            return
        if self._waiting_since is None:
            self._waiting_since = now
            return
        self._waiting_since = now
        aimed = self._target
        self._retarget()  # maybe a layer that arrives, if the one aimed at does not
        if self._target in (aimed, self.layer):  # else the retarget asked already
            self._source.layer_keyframes[self._target].request()

    def stepping_down(self) -> bool:
        """A step down to a lower layer waits for its keyframe or was made less than
        ``STEP_DOWN_SETTLE_S`` ago: the subscriber's reports may still be the old layer's."""
        if not self._source.rids:
            return False
        if self._target < self.layer:
            return True
        at = self._stepped_down_at
        return at is not None and time.monotonic() - at < STEP_DOWN_SETTLE_S

    def on_report(self, report: fallback.Report) -> None:
        """One receiver report of this subscriber's video: maybe another layer."""
        source = self._source
        if not source.rids:
            return
        if self._target != self.layer and not self._waiting:
            # A switch waits for its keyframe: this report is about the layer being left.
            if self._active and self._port.settled:
                source.layer_keyframes[self._target].request()
            return
        self._choice = simulcast.on_report(
            self._choice, report, source.rates(), self._cap(), self._policy
        )
        self._retarget()

    def _cap(self) -> int:
        return simulcast.size_cap(self._wanted_height, tuple(self._source.heights))

    def _retarget(self) -> None:
        source = self._source
        if not source.rids:
            return
        wanted = simulcast.target(self._choice, self._cap())
        found = simulcast.available(wanted, source.active())
        target = wanted if found is None else found
        if target == self._target:
            return
        self._target = target
        source.update_intake()  # before the keyframe request: its packets must come through
        if target != self.layer and self._active and self._port.settled:
            source.layer_keyframes[target].request()

    def on_remb(self) -> None:
        self._source.update_remb()

    def stop(self) -> None:
        if self in self._source.subscriptions:
            self._source.subscriptions.remove(self)
            self._source.update_intake()
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
        if remb is None or self._port.video_paused or time.monotonic() - remb[1] > REMB_MAX_AGE_S:
            return None
        return remb[0]

    async def forward(
        self,
        packet: RtpPacket,
        codec: RTCRtpCodecParameters,
        keyframe: bool,
        abs_send: int,
        layer: int = 0,
    ) -> None:
        port = self._port
        if not (self._active and port.settled):
            return
        video = self._source.kind == "video"
        if video and port.video_paused:
            return  # the fallback ladder: this subscriber's link cannot carry video now
        if layer != self.layer:
            if layer != self._target or not keyframe:
                return
            if layer < self.layer:
                self._stepped_down_at = time.monotonic()
            self.layer = layer  # a keyframe of the layer to switch to: from here on, it
            self._waiting = True
            self.switches += 1
            self._source.update_intake()  # the layer left may now be idle
        if self._waiting:
            if video and not keyframe:
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
        port.sent += 1
        port.octets += len(out.payload)
        if _newer(seq, port.next_seq) or seq == port.next_seq:
            port.next_seq = (seq + 1) & 0xFFFF
            port.last_ts = out.timestamp
            port.last_sent_at = time.monotonic()
        if packet.marker or not video:
            self._counters.count_forwarded(self._publisher, self._source.kind)

    def _start(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        """Continue the sender's numbering from ``packet`` on."""
        port = self._port
        self._waiting = False
        self._start_seq = packet.sequence_number
        self._seq_offset = (port.next_seq - packet.sequence_number) & 0xFFFF
        if self._source.kind == "video":
            # The subscriber decodes from this keyframe on: after a switch, NACKs for the old
            # layer's lost packets would refill the link that could not carry it.
            port.hooks.repair_from(port.next_seq)
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
        self,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver,
        counters: Counters,
        rids: tuple[str, ...] = (),
    ) -> None:
        self.kind = track.kind
        # Simulcast layers by RID, lowest first; empty for an ordinary stream (one layer, 0).
        self.rids = rids if track.kind == "video" else ()
        layers = max(1, len(self.rids))
        self.layer_of_ssrc: dict[int, int] = {}
        self.layer_ssrcs: list[int | None] = [None] * layers
        self.layer_keyframes = [
            KeyframeRequests(functools.partial(self._send_pli, layer), KEYFRAME_INTERVAL_S)
            for layer in range(layers)
        ]
        self.heights: list[int | None] = [None] * layers
        self._octets = [0] * layers
        self._frame_at = [0.0] * layers
        self._rates: tuple[float | None, ...] = (None,) * layers
        self._rates_mark: tuple[list[int], float] = ([0] * layers, time.monotonic())
        # Recordings and snapshots take this layer (the highest seen).
        self.primary = 0
        self.receiver = receiver
        self.counters = counters
        self.subscriptions: list[ForwardedSubscription] = []
        self.sender_reports: dict[int, tuple[int, int]] = {}
        self.media_ssrc: int | None = None
        self.samplers: list[KeyframeSampler] = []
        # Recordings of this track (media/recording.py): each gets every packet.
        self.recorders: list[Any] = []
        self._remb_sent: tuple[int, float] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tap = hooks.tap_receiver(
            receiver,
            on_packet=self._on_packet,
            on_dropped=lambda: counters.count("rtp_dropped"),
            on_sender_report=self._on_sender_report,
        )
        # SSRCs of idle layers whose packets skip the receiver (module docstring), and how
        # many packets skipped it.
        self.skipped: set[int] = set()
        self.idle_packets = 0

    @property
    def keyframes(self) -> KeyframeRequests:
        """Keyframe requests for recordings and snapshots: the primary layer's."""
        return self.layer_keyframes[self.primary]

    async def _on_packet(self, packet: RtpPacket, codec: RTCRtpCodecParameters) -> None:
        if self.rids:
            layer = self.layer_of_ssrc.get(packet.ssrc)
            if layer is None:
                layer = self._learn(packet)
                if layer is None:
                    self.counters.count("rtp_dropped")
                    return
            self._octets[layer] += len(packet.payload)
            if packet.marker:
                self._frame_at[layer] = time.monotonic()
        else:
            layer = 0
            self.media_ssrc = packet.ssrc
        keyframe = self.kind == "video" and is_keyframe_start(codec.name, packet.payload)
        if keyframe:
            self.layer_keyframes[layer].keyframe_seen()
            if self.rids and codec.name.upper() == "VP8":
                size = simulcast.vp8_keyframe_size(packet.payload)
                self.heights[layer] = size[1] if size is not None else None
        primary = layer == self.primary
        if (packet.marker and primary) or self.kind == "audio":
            self.counters.count_received(self.kind)
        if primary:
            for sampler in self.samplers:
                sampler.add(packet, codec, keyframe)
            for recorder in list(self.recorders):
                try:
                    recorder.add(packet, codec, keyframe)
                except Exception:  # a recording must never stop the call: that track stops
                    self.recorders.remove(recorder)
                    logger.exception(
                        "recording a %s track failed; it is no longer recorded", self.kind
                    )
        if not self.subscriptions:
            return
        # abs-send-time: NTP seconds in 6.18 fixed point, modulo 64 s; the NTP epoch offset
        # (2208988800 s) is a multiple of 64, so Unix time gives the same value.
        abs_send = int(time.time() * 262144) & 0xFFFFFF
        for subscription in list(self.subscriptions):
            await subscription.forward(packet, codec, keyframe, abs_send, layer)

    def _learn(self, packet: RtpPacket) -> int | None:
        """The layer of a new SSRC, from the RID its first packets carry."""
        rid = packet.extensions.rtp_stream_id
        if rid not in self.rids or len(self.layer_of_ssrc) >= hooks.MAX_SSRCS_PER_RECEIVER:
            return None
        layer = self.rids.index(rid)
        old = self.layer_ssrcs[layer]
        if old is not None:  # the browser restarted that layer's stream
            self.layer_of_ssrc.pop(old, None)
            if old in self.skipped:
                self.skipped.discard(old)
                self._tap.resume(old)
        self.layer_of_ssrc[packet.ssrc] = layer
        self.layer_ssrcs[layer] = packet.ssrc
        self.media_ssrc = packet.ssrc if self.media_ssrc is None else self.media_ssrc
        if layer > self.primary:
            self.primary = layer
            if self.recorders or self.samplers:
                self.keyframes.request()
        self.update_intake()
        return layer

    def needed(self) -> set[int]:
        """The layers whose packets take the whole path: the primary one (recordings,
        snapshots, the received-frame counters) and each one a subscription forwards or is
        switching to."""
        needed = {self.primary}
        for subscription in self.subscriptions:
            needed.add(subscription.layer)
            needed.add(subscription.target)
        return needed

    def update_intake(self) -> None:
        """Skip the receiver for idle layers, resume it for needed ones (module docstring)."""
        if not self.rids:
            return
        needed = self.needed()
        for layer, ssrc in enumerate(self.layer_ssrcs):
            if ssrc is None:
                continue
            if layer in needed:
                if ssrc in self.skipped:
                    self.skipped.discard(ssrc)
                    self._tap.resume(ssrc)
            elif ssrc not in self.skipped and self._tap.skip(
                ssrc, functools.partial(self._idle_packet, layer)
            ):
                self.skipped.add(ssrc)

    def _idle_packet(self, layer: int, data: bytes) -> None:
        """A decrypted packet of an idle layer: only its payload size and frame end count
        (``rates`` and ``active``), read from the header as RtpPacket.parse would."""
        self.idle_packets += 1
        first = data[0]
        size = len(data) - 12 - 4 * (first & 0x0F)
        if first & 0x10:
            start = len(data) - size
            if size < 4:
                return
            size -= 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
        if first & 0x20:
            size -= data[-1]
        if size > 0:
            self._octets[layer] += size
        if data[1] & 0x80:
            self._frame_at[layer] = time.monotonic()

    def active(self) -> tuple[bool, ...]:
        """Per layer: frames of it arrive."""
        since = time.monotonic() - LAYER_IDLE_S
        return tuple(at > since for at in self._frame_at)

    def rates(self) -> tuple[float | None, ...]:
        """Per layer: its measured bitrate (payload bits per second), None before known."""
        octets, at = self._rates_mark
        now = time.monotonic()
        if now - at >= LAYER_IDLE_S:
            self._rates = tuple(
                (new - old) * 8 / (now - at) if new > 0 else None
                for new, old in zip(self._octets, octets, strict=True)
            )
            self._rates_mark = (list(self._octets), now)
        return self._rates

    def _on_sender_report(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self.sender_reports[ssrc] = (ntp_timestamp, rtp_timestamp)
        if self.rids:
            layer = self.layer_of_ssrc.get(ssrc)
        else:
            layer = 0 if ssrc == self.media_ssrc else None
        if layer is None:
            return
        for subscription in self.subscriptions:
            if subscription.layer == layer:
                subscription.sender_report(ntp_timestamp, rtp_timestamp)

    def update_remb(self) -> None:
        """Pass the weakest subscriber's REMB on to the publisher (module docstring)."""
        estimates = [e for e in (s.remb for s in self.subscriptions) if e is not None]
        if not estimates or self.media_ssrc is None:
            return
        if self.rids:
            ssrcs = [ssrc for ssrc in self.layer_ssrcs if ssrc is not None]
            bitrate = REMB_MAX_BPS
        else:
            ssrcs = [self.media_ssrc]
            bitrate = max(REMB_MIN_BPS, min(REMB_MAX_BPS, min(estimates)))
        now = time.monotonic()
        if self._remb_sent is not None:
            last, at = self._remb_sent
            if now - at < REMB_INTERVAL_S and bitrate > last * REMB_DROP:
                return
        self._remb_sent = bitrate, now
        self._spawn(hooks.send_remb(self.receiver, bitrate, ssrcs))

    def _send_pli(self, layer: int) -> None:
        ssrc = self.layer_ssrcs[layer] if self.rids else self.media_ssrc
        if ssrc is None:
            return  # nothing received yet: the first frame a publisher sends is a keyframe
        self.counters.keyframe_requests_to += 1
        self._spawn(hooks.send_pli(self.receiver, ssrc))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for keyframes in self.layer_keyframes:
            keyframes.close()
        for ssrc in self.skipped:
            self._tap.resume(ssrc)
        self.skipped.clear()
        self.subscriptions.clear()
        self.recorders.clear()
        for sampler in self.samplers:
            sampler.cancel()


class ForwardingRelay:
    """The hub's relay: RTP packets from each publisher to each subscriber, never decoded
    (except one sampled keyframe for a snapshot, in a worker thread)."""

    receives_simulcast = True

    def __init__(
        self, ladder: fallback.Ladder | None = None, layers: simulcast.Policy | None = None
    ) -> None:
        self._sources: dict[MediaStreamTrack, _Source] = {}
        self._ports: dict[RTCRtpSender, _Port] = {}
        self.ladder = ladder or fallback.Ladder()
        self.layers = layers or simulcast.Policy()
        # (subscriber's counters, step): a subscriber moved on the fallback ladder.
        self.on_step: Callable[[Counters, str], None] | None = None
        # Per subscriber (keyed by its Counters, one per peer connection).
        self._links: dict[int, tuple[Counters, _Link]] = {}
        self._ticker: asyncio.TimerHandle | None = None

    def publish(
        self,
        track: MediaStreamTrack,
        receiver: RTCRtpReceiver,
        counters: Counters,
        rids: tuple[str, ...] = (),
    ) -> None:
        self._sources[track] = _Source(track, receiver, counters, rids)

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
            port.link = self._link(counters)
            port.link.ports.add(port)
            port.video_paused = port.link.state.step != fallback.FULL
        if port.subscription is not None:
            port.subscription.stop()
        subscription = ForwardedSubscription(source, port, counters, publisher, self.layers)
        port.subscription = subscription
        source.subscriptions.append(subscription)
        source.update_intake()
        return subscription

    def forget_sender(self, sender: RTCRtpSender) -> None:
        """The subscriber's connection closed: drop its sender's state."""
        port = self._ports.pop(sender, None)
        if port is not None:
            port.close()
            for key, (_counters, link) in list(self._links.items()):
                link.ports.discard(port)
                if not link.ports:
                    del self._links[key]
            if port.subscription is not None:
                port.subscription.stop()

    def arriving_layers(self, track: MediaStreamTrack) -> list[str]:
        """The simulcast layers (RIDs) of ``track`` whose frames arrive now, lowest first."""
        source = self._sources.get(track)
        if source is None or not source.rids:
            return []
        return [rid for rid, on in zip(source.rids, source.active(), strict=True) if on]

    def step_of(self, counters: Counters) -> str:
        """Where this subscriber is on the fallback ladder."""
        found = self._links.get(id(counters))
        return found[1].state.step if found else fallback.FULL

    def _link(self, counters: Counters) -> _Link:
        found = self._links.get(id(counters))
        if found is not None:
            return found[1]

        def on_step(step: str) -> None:
            if self.on_step is not None:
                self.on_step(counters, step)

        link = _Link(self.ladder, on_step)
        self._links[id(counters)] = (counters, link)
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().call_later(LADDER_TICK_S, self._tick)
        return link

    def _tick(self) -> None:
        self._ticker = None
        if not self._links:
            return
        now = time.monotonic()
        for _counters, link in list(self._links.values()):
            link.tick(now)
        self._ticker = asyncio.get_running_loop().call_later(LADDER_TICK_S, self._tick)

    def record(self, track: MediaStreamTrack, part: Part) -> bool:
        """Write ``track``'s packets into ``part`` too, from its next keyframe on."""
        source = self._sources.get(track)
        if source is None or source.kind not in ("audio", "video"):
            return False
        source.recorders.append(part.track(source.kind, source.keyframes.request))
        if source.kind == "video":
            source.keyframes.request()
        return True

    def unrecord(self, part: Part) -> None:
        """Stop giving packets to ``part``."""
        for source in self._sources.values():
            source.recorders = [r for r in source.recorders if r.part is not part]

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

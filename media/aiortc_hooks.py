"""Every use of aiortc 1.16.0's private code, in one module (pinned ==1.16.0 in pyproject.toml).

aiortc has no API for forwarding RTP (aiortc #55, #449): a receiver always decodes, a sender
always encodes or packs. So the relay reaches into both, per instance (never patching a class).

- receiver: ``_handle_rtp_packet`` is replaced by its first half (RR statistics, RTX unwrap,
  NACK generation on aiortc's own objects), which hands us the packet instead of
  reassembling and decoding it; ``_handle_rtcp_packet`` is wrapped to read sender reports;
  ``_send_rtcp_pli`` and ``_send_rtcp`` ask the publisher for keyframes and a bitrate (REMB).
- sender: its parameters are captured from ``send``; packets are written with the transport's
  ``_send_rtp`` and kept in the sender's own history; ``_handle_rtcp_packet`` is wrapped to see
  PLI/FIR/REMB and to answer NACKs with RTX for whichever codec was forwarded; the SR
  counters are kept so that aiortc's RTCP loop reports what we sent.
- transports: wrapped per peer to count datagrams they drop (bad SRTP, malformed RTP/RTCP);
  aiortc peers that receive from the relay route by SSRC (``route_by_ssrc``).

``check_hooks`` names any hook an upgrade moved; tests/unit/test_aiortc_hooks.py runs it.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pylibsrtp
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import depayload, get_decoder, is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RTP_HISTORY_SIZE,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unwrap_rtx,
    wrap_rtx,
)

from media.rtpwrite import RtpWriter

# A receiver takes one media SSRC and its RTX SSRC (and a new pair if the browser restarts
# its sender); per-SSRC state beyond this would let a peer grow the relay's memory at will.
MAX_SSRCS_PER_RECEIVER = 8
_RX = "_RTCRtpReceiver__"
_TX = "_RTCRtpSender__"
_RX_CODECS = _RX + "codecs"
_RX_STREAMS = _RX + "remote_streams"
_RX_RTX_SSRC = _RX + "rtx_ssrc"
_RX_NACK = _RX + "nack_generator"
_RX_ACTIVE = _RX + "active_ssrc"
_RX_RTCP_SSRC = _RX + "rtcp_ssrc"
_TX_HISTORY = _TX + "rtp_history"
_TX_NTP = _TX + "ntp_timestamp"
_TX_TS = _TX + "rtp_timestamp"
_TX_PACKETS = _TX + "packet_count"
_TX_OCTETS = _TX + "octet_count"

# (class, method, parameter names) we wrap or call.
METHOD_HOOKS: tuple[tuple[type, str, tuple[str, ...]], ...] = (
    (RTCRtpReceiver, "_handle_rtp_packet", ("self", "packet", "arrival_time_ms")),
    (RTCRtpReceiver, "_handle_rtcp_packet", ("self", "packet")),
    (RTCRtpReceiver, "_send_rtcp", ("self", "packet")),
    (RTCRtpReceiver, "_send_rtcp_nack", ("self", "media_ssrc", "lost")),
    (RTCRtpReceiver, "_send_rtcp_pli", ("self", "media_ssrc")),
    (StreamStatistics, "add", ("self", "packet")),
    (NackGenerator, "add", ("self", "packet")),
    (RTCRtpSender, "send", ("self", "parameters")),
    (RTCRtpSender, "_handle_rtcp_packet", ("self", "packet")),
    (RTCDtlsTransport, "_send_rtp", ("self", "data")),
    (RTCDtlsTransport, "_handle_rtp_data", ("self", "data", "arrival_time_ms")),
    (RTCDtlsTransport, "_handle_rtcp_data", ("self", "data")),
)
# Undocumented aiortc functions we (or media/sampling.py) call, with their parameter names.
FUNCTION_HOOKS: tuple[tuple[Callable[..., Any], tuple[str, ...]], ...] = (
    (is_rtx, ("codec",)),
    (unwrap_rtx, ("rtx", "payload_type", "ssrc")),
    (wrap_rtx, ("packet", "payload_type", "sequence_number", "ssrc")),
    (depayload, ("codec", "payload")),
    (get_decoder, ("codec",)),
    (JitterFrame, ("data", "timestamp")),
)
RECEIVER_ATTRIBUTES = (_RX_CODECS, _RX_STREAMS, _RX_RTX_SSRC, _RX_NACK, _RX_ACTIVE, _RX_RTCP_SSRC)
SENDER_ATTRIBUTES = (_TX_HISTORY, _TX_NTP, _TX_TS, _TX_PACKETS, _TX_OCTETS, "_ssrc", "_rtx_ssrc")
TRANSPORT_ATTRIBUTES = ("_rx_srtp", "_rtp_router", "_rtp_header_extensions_map", "transport")


_NO_PARAMETERS = RTCRtpSendParameters()


class AiortcHookError(RuntimeError):
    """A private aiortc hook the forwarding relay needs is gone (aiortc was upgraded)."""


def check_hooks(
    receiver: RTCRtpReceiver | None = None, sender: RTCRtpSender | None = None
) -> list[str]:
    """Problems with the hooks, each naming the hook; empty when aiortc still fits."""
    problems = []
    for cls, name, params in METHOD_HOOKS:
        method = getattr(cls, name, None)
        if method is None:
            problems.append(f"hook {cls.__name__}.{name} is missing")
            continue
        if (found := tuple(inspect.signature(method).parameters)) != params:
            problems.append(f"hook {cls.__name__}.{name} takes {found}, expected {params}")
    for function, params in FUNCTION_HOOKS:
        if (found := tuple(inspect.signature(function).parameters)) != params:
            problems.append(f"hook {function.__qualname__} takes {found}, expected {params}")
    for instance, names in ((receiver, RECEIVER_ATTRIBUTES), (sender, SENDER_ATTRIBUTES)):
        for name in names if instance is not None else ():
            if not hasattr(instance, name):
                problems.append(f"hook {type(instance).__name__}.{name} is missing")
    for name in TRANSPORT_ATTRIBUTES if sender is not None else ():
        if not hasattr(sender.transport, name):  # type: ignore[union-attr]
            problems.append(f"hook RTCDtlsTransport.{name} is missing")
    return problems


def _require(instance: object, name: str) -> Any:
    try:
        return getattr(instance, name)
    except AttributeError:
        message = f"hook {type(instance).__name__}.{name} is missing: see media/aiortc_hooks.py"
        raise AiortcHookError(message) from None


# -- receiving -------------------------------------------------------------------------


def tap_receiver(
    receiver: RTCRtpReceiver,
    *,
    on_packet: Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]],
    on_dropped: Callable[[], None],
    on_sender_report: Callable[[int, int, int], None],
) -> None:
    """Route ``receiver``'s packets to ``on_packet``: aiortc's ``_handle_rtp_packet``
    (rtcrtpreceiver.py:471-567) up to RR statistics, RTX unwrap and NACKs, without REMB
    estimator, depayloading, jitter buffer (a frame interval of delay) and decoder.
    ``on_dropped``: what aiortc would discard. ``on_sender_report(ssrc, ntp, rtp_ts)``: SRs."""
    for name in RECEIVER_ATTRIBUTES:
        _require(receiver, name)
    codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, _RX_CODECS)
    streams: dict[int, StreamStatistics] = getattr(receiver, _RX_STREAMS)
    rtx_ssrcs: dict[int, int] = getattr(receiver, _RX_RTX_SSRC)
    nacks: NackGenerator | None = getattr(receiver, _RX_NACK)
    active: dict[int, Any] = getattr(receiver, _RX_ACTIVE)
    handle_rtcp = _require(receiver, "_handle_rtcp_packet")
    send_nack = _require(receiver, "_send_rtcp_nack")

    async def rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not receiver._enabled:
            return
        codec = codecs.get(packet.payload_type)
        stream = streams.get(packet.ssrc)
        if codec is None or (stream is None and len(streams) >= MAX_SSRCS_PER_RECEIVER):
            on_dropped()  # an unknown payload type, or a flood of made-up SSRCs
            return
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        # For getSynchronizationSources (a 10 s window): a timestamp per 16 packets is enough.
        if packet.sequence_number & 0xF == 0 or packet.ssrc not in active:
            active[packet.ssrc] = clock.current_datetime()
        if is_rtx(codec):
            original_ssrc = rtx_ssrcs.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in codecs:
                on_dropped()  # includes padding-only bandwidth probes
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            codec = codecs[apt]
        if nacks is not None and nacks.add(packet):
            await send_nack(packet.ssrc, sorted(nacks.missing))
        await on_packet(packet, codec)

    async def rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            on_sender_report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
        await handle_rtcp(packet)

    receiver._handle_rtp_packet = rtp  # type: ignore[method-assign]
    receiver._handle_rtcp_packet = rtcp  # type: ignore[method-assign]


async def send_remb(receiver: RTCRtpReceiver, bitrate_bps: int, media_ssrc: int) -> None:
    """Tell the publisher of ``media_ssrc`` the bitrate it may send (REMB)."""
    rtcp_ssrc = getattr(receiver, _RX_RTCP_SSRC)
    if rtcp_ssrc is not None:
        packet = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP,
            ssrc=rtcp_ssrc,
            media_ssrc=0,
            fci=pack_remb_fci(bitrate_bps, [media_ssrc]),
        )
        await receiver._send_rtcp(packet)


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Ask the publisher of ``media_ssrc`` for a keyframe (RTCP PLI, RFC 4585 §6.3.1)."""
    await receiver._send_rtcp_pli(media_ssrc)


# -- sending ---------------------------------------------------------------------------


class SenderPort:
    """Writes RTP into one ``RTCRtpSender``'s transport as if the sender had sent it.

    The sender's own loop idles (its track never yields); aiortc still runs its RTCP loop
    (SR/SDES from the counters kept here) and answers NACKs from the history kept here.
    """

    def __init__(self, sender: RTCRtpSender, on_rtcp: Callable[[Any], None]) -> None:
        for name in SENDER_ATTRIBUTES:
            _require(sender, name)
        self.sender = sender
        self.codecs: list[RTCRtpCodecParameters] = []
        self.mid: str | None = None
        self.on_ready: Callable[[], None] | None = None
        self._history: dict[int, RtpPacket] = getattr(sender, _TX_HISTORY)
        self.writer = RtpWriter(_NO_PARAMETERS)
        # Media payload type -> its RTX payload type (aiortc's own _retransmit knows only the
        # first codec's, but the relay forwards whichever codec the publisher sends).
        self._rtx_payload_types: dict[int, int] = {}
        self._rtx_sequence_number = random.getrandbits(16)
        start, handle_rtcp = sender.send, sender._handle_rtcp_packet

        async def send(parameters: Any) -> None:
            await start(parameters)
            self._configure(parameters)
            self.codecs = list(parameters.codecs)
            if self.on_ready is not None:
                self.on_ready()

        async def rtcp(packet: Any) -> None:
            on_rtcp(packet)
            if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                for sequence_number in packet.lost:
                    await self._retransmit(sequence_number)
                return
            await handle_rtcp(packet)

        sender.send = send  # type: ignore[method-assign]
        sender._handle_rtcp_packet = rtcp  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        """The answer is applied and the sender started: payload types and ids are known."""
        return bool(self.codecs)

    @property
    def ssrc(self) -> int:
        return int(self.sender._ssrc)

    def _configure(self, parameters: Any) -> None:
        self.mid = parameters.muxId
        self.writer = RtpWriter(parameters)
        for codec in parameters.codecs:
            apt = codec.parameters.get("apt")
            if is_rtx(codec) and isinstance(apt, int) and codec.payloadType is not None:
                self._rtx_payload_types[apt] = codec.payloadType

    async def send(self, packet: RtpPacket) -> None:
        """Send ``packet`` (already rewritten) and keep it for retransmission."""
        self._history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
        await self.sender.transport._send_rtp(self.writer.serialize(packet))
        sender = self.sender
        setattr(sender, _TX_PACKETS, getattr(sender, _TX_PACKETS) + 1)
        setattr(sender, _TX_OCTETS, getattr(sender, _TX_OCTETS) + len(packet.payload))

    async def _retransmit(self, sequence_number: int) -> None:
        """Answer a subscriber's NACK from the history, in RTX when negotiated (RFC 4588)."""
        packet = self._history.get(sequence_number % RTP_HISTORY_SIZE)
        if packet is None or packet.sequence_number != sequence_number:
            return
        rtx_payload_type = self._rtx_payload_types.get(packet.payload_type)
        if rtx_payload_type is not None:
            packet = wrap_rtx(
                packet,
                payload_type=rtx_payload_type,
                sequence_number=self._rtx_sequence_number,
                ssrc=self.sender._rtx_ssrc,
            )
            self._rtx_sequence_number = (self._rtx_sequence_number + 1) & 0xFFFF
        try:
            await self.sender.transport._send_rtp(self.writer.serialize(packet))
        except ConnectionError:
            return

    def set_sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        """aiortc's next SR for this sender: ``rtp_timestamp`` was sampled at ``ntp_timestamp``."""
        setattr(self.sender, _TX_NTP, ntp_timestamp)
        setattr(self.sender, _TX_TS, rtp_timestamp)


# -- transports ------------------------------------------------------------------------


def count_transport_drops(transport: RTCDtlsTransport, count: Callable[[str], None]) -> None:
    """Count what ``transport`` drops: ``srtp_rejected`` (wrong auth tag, replay, random
    bytes in the RTP range), ``rtp_malformed``, ``rtcp_malformed``, ``rtp_unrouted`` and
    ``datagrams_ignored`` (neither DTLS nor SRTP). Behaviour is unchanged.
    """
    for name in TRANSPORT_ATTRIBUTES:
        _require(transport, name)
    router = transport._rtp_router
    extensions = transport._rtp_header_extensions_map
    ice_recv = transport.transport._recv

    async def recv() -> bytes:
        data: bytes = await ice_recv()
        if data and not (19 < data[0] < 64 or 127 < data[0] < 192):
            count("datagrams_ignored")
        return data

    async def rtp(data: bytes, arrival_time_ms: int) -> None:
        try:
            packet = RtpPacket.parse(data, extensions)
        except ValueError:
            count("rtp_malformed")
            return
        receiver = router.route_rtp(packet)
        if receiver is None:
            count("rtp_unrouted")
            return
        await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)

    async def rtcp(data: bytes) -> None:
        try:
            packets = RtcpPacket.parse(data)
        except ValueError:
            count("rtcp_malformed")
            return
        for packet in packets:
            for recipient in router.route_rtcp(packet):
                await recipient._handle_rtcp_packet(packet)

    def on_state() -> None:
        session = transport._rx_srtp
        if transport.state == "connected" and session is not None:
            transport._rx_srtp = _CountingSrtp(session, count)  # type: ignore[assignment]

    transport.transport._recv = recv
    transport._handle_rtp_data = rtp  # type: ignore[method-assign]
    transport._handle_rtcp_data = rtcp  # type: ignore[method-assign]
    transport.on("statechange", on_state)


def route_by_ssrc(transport: RTCDtlsTransport) -> None:
    """For aiortc peers receiving from the relay (tests, bench): route RTP by SSRC or RTX SSRC.

    aiortc's ``route_rtp`` binds an unknown SSRC for good to the one receiver with the packet's
    payload type: a stream arriving before its receiver registered lands on another's, and
    RTX (whose SSRC is never registered) is dropped once two video receivers share the RTX
    payload type. Browsers demultiplex by MID and RTX SSRC instead.
    """
    router = _require(transport, "_rtp_router")

    def route(packet: RtpPacket) -> Any:
        receiver = router.ssrc_table.get(packet.ssrc)
        if receiver is None:
            for candidate in router.receivers:
                if packet.ssrc in getattr(candidate, _RX_RTX_SSRC, {}):
                    receiver = router.ssrc_table[packet.ssrc] = candidate
        return receiver

    router.route_rtp = route


def replace_rtp_handler(
    transport: RTCDtlsTransport, handle: Callable[[bytes, int], Awaitable[None]]
) -> Callable[[bytes, int], Awaitable[None]]:
    """For load generators: ``handle(data, arrival_time_ms=…)`` gets every decrypted RTP
    packet of ``transport`` unparsed; returns aiortc's own handler for packets it passes on."""
    own: Callable[[bytes, int], Awaitable[None]] = _require(transport, "_handle_rtp_data")
    transport._handle_rtp_data = handle  # type: ignore[assignment]
    return own


def receiver_of_ssrc(transport: RTCDtlsTransport, ssrc: int) -> tuple[Any, int | None]:
    """(receiver, media SSRC) for an SSRC of ``transport``: the media SSRC is the SSRC
    itself, or the one an RTX SSRC repairs; (None, None) for an SSRC no receiver expects."""
    router = _require(transport, "_rtp_router")
    for candidate in router.receivers:  # RTX first: route_by_ssrc files RTX SSRCs too
        media_ssrc = getattr(candidate, _RX_RTX_SSRC, {}).get(ssrc)
        if media_ssrc is not None:
            return candidate, media_ssrc
    receiver = router.ssrc_table.get(ssrc)
    return (receiver, ssrc) if receiver is not None else (None, None)


class _CountingSrtp:
    """The transport's inbound SRTP session, counting what fails authentication."""

    def __init__(self, session: pylibsrtp.Session, count: Callable[[str], None]) -> None:
        self._session = session
        self._count = count

    def unprotect(self, data: bytes) -> bytes:
        try:
            return bytes(self._session.unprotect(data))
        except pylibsrtp.Error:
            self._count("srtp_rejected")
            raise

    def unprotect_rtcp(self, data: bytes) -> bytes:
        try:
            return bytes(self._session.unprotect_rtcp(data))
        except pylibsrtp.Error:
            self._count("srtp_rejected")
            raise

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
- transports: wrapped per peer to count datagrams they drop (bad SRTP, malformed RTP/RTCP),
  and to take SRTP straight from the ICE connection's ``data_received`` once connected
  (``_deliver_now``) instead of through its queue and the DTLS transport's receive task
  and to route an SSRC no ``a=ssrc`` line named by its MID header extension (a browser's
  simulcast layers, media/simulcast.py); ``parse_stream_ids`` makes a transport read the RID
  extensions aiortc does not negotiate; aiortc peers that receive from the relay route by
  SSRC (``route_by_ssrc``).
- simulcast in the receiver: each SSRC gets its own NACK bookkeeping (aiortc keeps one
  sequence for the receiver), and an unsignalled RTX stream is paired with its layer by the
  repaired-RID extension.
- idle layers (``ReceiverTap.skip``): the decrypted packets of a media SSRC nobody needs now
  go, unparsed, to a small function instead of the receiver; its statistics and NACK
  bookkeeping restart when it is resumed, so a resumed layer is neither reported as lost
  nor NACKed for what it skipped.

``check_hooks`` names any hook an upgrade moved; tests/unit/test_aiortc_hooks.py runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import pylibsrtp
from aioice import Connection
from aioice.ice import StunProtocol
from aiortc import RTCRtpCodecParameters, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import depayload, get_decoder, is_rtx
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
    RTCRtpSendParameters,
)
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
    is_rtcp,
    pack_remb_fci,
    unwrap_rtx,
    wrap_rtx,
)

from media.rtpwrite import RtpWriter

logger = logging.getLogger(__name__)

RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
# A receiver takes one media SSRC and its RTX SSRC per simulcast layer (three pairs, and a
# new pair if the browser restarts its sender); per-SSRC state beyond this would let a peer
# grow the relay's memory at will.
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
_DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
# Set on a receiver tap_receiver took over: it reads no arrival time (aiortc's receiver feeds
# it to its REMB estimator, which the tap leaves out).
_NO_ARRIVAL_TIME = "_hearth_no_arrival_time"

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
    (RTCDtlsTransport, "_recv_next", ("self",)),
    (Connection, "data_received", ("self", "data", "component")),
    (StunProtocol, "datagram_received", ("self", "data", "addr")),
)
# Undocumented aiortc functions we (or media/sampling.py) call, with their parameter names.
FUNCTION_HOOKS: tuple[tuple[Callable[..., Any], tuple[str, ...]], ...] = (
    (is_rtx, ("codec",)),
    (unwrap_rtx, ("rtx", "payload_type", "ssrc")),
    (wrap_rtx, ("packet", "payload_type", "sequence_number", "ssrc")),
    (depayload, ("codec", "payload")),
    (get_decoder, ("codec",)),
    (JitterFrame, ("data", "timestamp")),
    (is_rtcp, ("msg",)),
)
RECEIVER_ATTRIBUTES = (_RX_CODECS, _RX_STREAMS, _RX_RTX_SSRC, _RX_NACK, _RX_ACTIVE, _RX_RTCP_SSRC)
SENDER_ATTRIBUTES = (_TX_HISTORY, _TX_NTP, _TX_TS, _TX_PACKETS, _TX_OCTETS, "_ssrc", "_rtx_ssrc")
TRANSPORT_ATTRIBUTES = (
    "_rx_srtp",
    "_rtp_router",
    "_rtp_header_extensions_map",
    "transport",
    "_state",
    _DTLS_RX_BYTES,
    _DTLS_RX_PACKETS,
)


_NO_PARAMETERS = RTCRtpSendParameters()
# Per transport (count_transport_drops): media SSRC -> what takes its decrypted packets
# instead of the receiver (ReceiverTap.skip).
_SHORTCUTS: weakref.WeakKeyDictionary[RTCDtlsTransport, dict[int, Callable[[bytes], None]]] = (
    weakref.WeakKeyDictionary()
)


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


class ReceiverTap:
    """What ``tap_receiver`` returns: takes a media SSRC's packets off the receiver's path."""

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        streams: dict[int, StreamStatistics],
        nack_of: dict[int, NackGenerator],
    ) -> None:
        self._receiver = receiver
        self._streams = streams
        self._nack_of = nack_of

    def skip(self, ssrc: int, take: Callable[[bytes], None]) -> bool:
        """Give ``ssrc``'s packets, decrypted (SRTP has authenticated them) and unparsed, to
        ``take`` instead of the receiver: no RTP parse, no receiver statistics (its receiver
        reports stop), no NACKs. False when the transport is not hooked
        (``count_transport_drops``): the packets then take the usual path."""
        table = _SHORTCUTS.get(self._receiver.transport)
        if table is None:
            return False
        table[ssrc] = take
        self._forget(ssrc)
        return True

    def resume(self, ssrc: int) -> None:
        """``ssrc``'s packets take the receiver's path again, its statistics and NACK
        bookkeeping started afresh from the next packet (a gap of skipped packets is no loss)."""
        table = _SHORTCUTS.get(self._receiver.transport)
        if table is not None:
            table.pop(ssrc, None)
        self._forget(ssrc)

    def _forget(self, ssrc: int) -> None:
        self._streams.pop(ssrc, None)
        self._nack_of.pop(ssrc, None)


def tap_receiver(
    receiver: RTCRtpReceiver,
    *,
    on_packet: Callable[[RtpPacket, RTCRtpCodecParameters], Awaitable[None]],
    on_dropped: Callable[[], None],
    on_sender_report: Callable[[int, int, int], None],
) -> ReceiverTap:
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
    # One NACK generator per media SSRC (aiortc keeps one sequence for the receiver; its own
    # generator only says whether NACKs were negotiated), and the media SSRC of each RID,
    # for RTX streams that name their layer by repaired RID.
    nack_of: dict[int, NackGenerator] = {}
    ssrc_of_rid: dict[str, int] = {}
    # Codec -> is RTX (is_rtx lowercases the codec's name on every call).
    rtx_of: dict[int, tuple[RTCRtpCodecParameters, bool]] = {}

    async def rtp(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not receiver._enabled:
            return
        ssrc = packet.ssrc
        codec = codecs.get(packet.payload_type)
        stream = streams.get(ssrc)
        if codec is None or (stream is None and len(streams) >= MAX_SSRCS_PER_RECEIVER):
            on_dropped()  # an unknown payload type, or a flood of made-up SSRCs
            return
        if stream is None:
            stream = streams[ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        # For getSynchronizationSources (a 10 s window): a timestamp per 16 packets is enough.
        if packet.sequence_number & 0xF == 0 or ssrc not in active:
            active[ssrc] = clock.current_datetime()
        known = rtx_of.get(packet.payload_type)
        if known is None or known[0] is not codec:
            known = rtx_of[packet.payload_type] = (codec, is_rtx(codec))
        if known[1]:
            original_ssrc = rtx_ssrcs.get(packet.ssrc)
            if original_ssrc is None and packet.extensions.repaired_rtp_stream_id is not None:
                original_ssrc = ssrc_of_rid.get(packet.extensions.repaired_rtp_stream_id)
                if original_ssrc is not None:
                    rtx_ssrcs[packet.ssrc] = original_ssrc
            apt = codec.parameters.get("apt")
            # Chrome probes bandwidth with RTX packets of padding alone: no original sequence
            # number, or one with nothing after it once the padding is gone. Unwrapped, such
            # a packet would pass for one of the layer's (a NACK for the gap up to its number,
            # a packet forwarded, counted in the layer's rate): it is dropped here.
            if original_ssrc is None or len(packet.payload) <= 2 or apt not in codecs:
                on_dropped()  # includes those padding-only probes
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            codec = codecs[apt]
        elif packet.extensions.rtp_stream_id is not None:
            rid = packet.extensions.rtp_stream_id
            if ssrc_of_rid.get(rid) != packet.ssrc and len(ssrc_of_rid) < MAX_SSRCS_PER_RECEIVER:
                ssrc_of_rid[rid] = packet.ssrc
        if nacks is not None:
            generator = nack_of.get(packet.ssrc)
            if generator is None:
                generator = nack_of[packet.ssrc] = NackGenerator()
            if generator.add(packet):
                await send_nack(packet.ssrc, sorted(generator.missing))
        await on_packet(packet, codec)

    async def rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            on_sender_report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)
        await handle_rtcp(packet)

    receiver._handle_rtp_packet = rtp  # type: ignore[method-assign]
    receiver._handle_rtcp_packet = rtcp  # type: ignore[method-assign]
    setattr(receiver, _NO_ARRIVAL_TIME, True)
    return ReceiverTap(receiver, streams, nack_of)


async def send_remb(receiver: RTCRtpReceiver, bitrate_bps: int, media_ssrcs: list[int]) -> None:
    """Tell the publisher of ``media_ssrcs`` the bitrate it may send, all together (REMB)."""
    rtcp_ssrc = getattr(receiver, _RX_RTCP_SSRC)
    if rtcp_ssrc is not None:
        packet = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP,
            ssrc=rtcp_ssrc,
            media_ssrc=0,
            fci=pack_remb_fci(bitrate_bps, media_ssrcs),
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
        self.header_extensions: list[Any] = []
        self.mid: str | None = None
        self.on_ready: Callable[[], None] | None = None
        self._history: dict[int, RtpPacket] = getattr(sender, _TX_HISTORY)
        self.writer = RtpWriter(_NO_PARAMETERS)
        # Media payload type -> its RTX payload type (aiortc's own _retransmit knows only the
        # first codec's, but the relay forwards whichever codec the publisher sends).
        self._rtx_payload_types: dict[int, int] = {}
        self._rtx_sequence_number = random.getrandbits(16)
        # NACKs for packets before this sequence number are not answered (``repair_from``).
        self.repair_floor: int | None = None
        start, handle_rtcp = sender.send, sender._handle_rtcp_packet

        async def send(parameters: Any) -> None:
            await start(parameters)
            self._configure(parameters)
            self.codecs = list(parameters.codecs)
            self.header_extensions = list(parameters.headerExtensions)
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

    def repair_from(self, sequence_number: int) -> None:
        """The stream restarts at ``sequence_number`` (a keyframe the subscriber's decoder
        starts again from): repairs of earlier packets would only load its link."""
        self.repair_floor = sequence_number

    async def _retransmit(self, sequence_number: int) -> None:
        """Answer a subscriber's NACK from the history, in RTX when negotiated (RFC 4588)."""
        floor = self.repair_floor
        if floor is not None and 0 < (floor - sequence_number) & 0xFFFF < 0x8000:
            return  # from before the restart (repair_from)
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
    ``datagrams_ignored`` (neither DTLS nor SRTP). Behaviour is unchanged, except that an
    SSRC a ``ReceiverTap`` skips goes to its function before the RTP header is parsed, and
    that once the transport is connected SRTP is handled as it arrives (``_deliver_now``).
    """
    for name in TRANSPORT_ATTRIBUTES:
        _require(transport, name)
    router = transport._rtp_router
    extensions = transport._rtp_header_extensions_map
    ice_recv = transport.transport._recv
    connection: Connection = _require(transport.transport, "_connection")
    queue = _require(connection, "_queue")
    shortcuts: dict[int, Callable[[bytes], None]] = _SHORTCUTS.setdefault(transport, {})
    from_bytes = int.from_bytes

    async def recv() -> bytes:
        data: bytes = await ice_recv()
        if data and not (19 < data[0] < 64 or 127 < data[0] < 192):
            count("datagrams_ignored")
        return data

    async def rtp(data: bytes, arrival_time_ms: int) -> None:
        if shortcuts and len(data) >= 12:
            take = shortcuts.get(from_bytes(data[8:12], "big"))
            if take is not None:
                take(data)
                return
        try:
            packet = RtpPacket.parse(data, extensions)
        except ValueError:
            count("rtp_malformed")
            return
        receiver = router.route_rtp(packet)
        if receiver is None and packet.ssrc not in router.ssrc_table:
            # An SSRC no a=ssrc line named (simulcast layers): its MID says whose it is.
            receiver = router.mid_table.get(packet.extensions.mid)
            if receiver is not None:
                router.ssrc_table[packet.ssrc] = receiver
        if receiver is None:
            count("rtp_unrouted")
            return
        if arrival_time_ms < 0 and not getattr(receiver, _NO_ARRIVAL_TIME, False):
            arrival_time_ms = clock.current_ms()  # handled as it arrived: now is its arrival
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

    queued = connection.data_received
    connected = DtlsState.CONNECTED

    def data_received(data: bytes, component: int) -> None:
        """aioice hands over a datagram that is not STUN: SRTP on a connected transport is
        unprotected and handled now, as RTCDtlsTransport._recv_next would once the DTLS
        transport's task took it from the queue; anything else (DTLS, a datagram while
        something is still queued, so that none overtakes another) goes through the queue."""
        srtp = transport._rx_srtp
        if (
            srtp is None
            or not data
            or not 127 < data[0] < 192
            or transport._state is not connected
            or queue.qsize()
        ):
            queued(data, component)
            return
        setattr(transport, _DTLS_RX_BYTES, getattr(transport, _DTLS_RX_BYTES) + len(data))
        setattr(transport, _DTLS_RX_PACKETS, getattr(transport, _DTLS_RX_PACKETS) + 1)
        try:
            if is_rtcp(data):
                coro = rtcp(srtp.unprotect_rtcp(data))
            else:
                data = srtp.unprotect(data)
                if shortcuts and len(data) >= 12:
                    take = shortcuts.get(from_bytes(data[8:12], "big"))
                    if take is not None:
                        take(data)
                        return
                coro = rtp(data, -1)  # the arrival time is read only if the receiver wants it
        except pylibsrtp.Error:
            return  # counted by _CountingSrtp; aiortc drops it too
        if not _deliver_now(coro):
            # Something went wrong inside (logged): the transport's own path from now on.
            connection.data_received = queued  # type: ignore[method-assign]

    transport.transport._recv = recv
    connection.data_received = data_received  # type: ignore[method-assign]
    transport._handle_rtp_data = rtp  # type: ignore[method-assign]
    transport._handle_rtcp_data = rtcp  # type: ignore[method-assign]
    transport.on("statechange", on_state)
    for protocol in list(getattr(connection, "_protocols", ())):
        if type(protocol) is StunProtocol and hasattr(protocol, "local_candidate"):
            _pass_media_on(protocol)


def _pass_media_on(protocol: StunProtocol) -> None:
    """Hand RTP and RTCP (first byte 128-191, never STUN: RFC 7983) straight to the
    connection: aioice tries to parse every datagram as STUN first and catches the error."""
    parse_first = protocol.datagram_received
    connection = protocol.receiver
    component = protocol.local_candidate.component

    def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
        if data and 127 < data[0] < 192:  # type: ignore[operator]
            connection.data_received(data, component)  # type: ignore[arg-type]
        else:
            parse_first(data, addr)

    protocol.datagram_received = datagram_received  # type: ignore[method-assign]


def parse_stream_ids(transport: RTCDtlsTransport, rid_id: int, repaired_id: int | None) -> None:
    """Make ``transport`` read the RID (and repaired-RID) header extensions under these ids:
    aiortc parses them but never negotiates them, and its map only ever adds ids."""
    extensions = [RTCRtpHeaderExtensionParameters(id=rid_id, uri=RID_URI)]
    if repaired_id is not None:
        extensions.append(RTCRtpHeaderExtensionParameters(id=repaired_id, uri=REPAIRED_RID_URI))
    _require(transport, "_rtp_header_extensions_map").configure(
        RTCRtpParameters(headerExtensions=extensions)
    )


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


# Coroutines _deliver_now had to leave running (they awaited something not yet done).
_UNFINISHED: set[asyncio.Task[None]] = set()


def _deliver_now(coro: Any) -> bool:
    """Run ``coro`` here and now, as far as it goes without waiting; if it must wait (it
    awaited a future not yet done), a task finishes it. The relay's receive path normally
    never waits (sending is a ``sendto``), so a packet costs no task step and no queue.
    False when it raised: logged, as the DTLS transport's task would have."""
    try:
        awaited = coro.send(None)
    except StopIteration:
        return True
    except Exception:
        logger.exception("handling a received RTP or RTCP packet failed")
        return False
    task = asyncio.ensure_future(_finish(coro, awaited))
    _UNFINISHED.add(task)
    task.add_done_callback(_UNFINISHED.discard)
    return True


async def _finish(coro: Any, awaited: Any) -> None:
    """Go on with ``coro``, which yielded ``awaited`` (a future, or None: a bare yield)."""
    try:
        while True:
            if awaited is None:
                await asyncio.sleep(0)
            else:
                with contextlib.suppress(Exception):  # coro reads the outcome when resumed
                    await awaited
            try:
                awaited = coro.send(None)
            except StopIteration:
                return
    except Exception:
        logger.exception("handling a received RTP or RTCP packet failed")
    finally:
        coro.close()


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

"""Idle simulcast layers skip the receiver (media/forwarding.py, ``_Source.update_intake``).

A real aiortc receiver and DTLS transport, hooked as the relay hooks them, are fed
decrypted RTP straight into the transport's RTP handler (the point where SRTP hands it on).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpCodecParameters
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RtpPacket

from media import aiortc_hooks
from media.counters import Counters
from media.forwarding import _Source

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
RIDS = ("q", "h", "f")
SSRCS = (1111, 2222, 3333)
# A VP8 keyframe's first packet (descriptor S=1, partition 0; P bit clear; start code and a
# 64x48 size), and a delta frame's.
KEY = bytes([0x10, 0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A, 64, 0, 48, 0]) + b"k" * 40
DELTA = bytes([0x10, 0x51, 0x01, 0x00]) + b"d" * 60


class Subscription:
    """What ``_Source`` asks of a subscription: its layers, and where packets go."""

    def __init__(self, layer: int) -> None:
        self.layer = self.target = layer
        self.got: list[tuple[int, int]] = []  # (layer, sequence number)

    async def forward(
        self, packet: RtpPacket, codec: Any, key: bool, abs_send: int, layer: int
    ) -> None:
        self.got.append((layer, packet.sequence_number))

    def sender_report(self, ntp_timestamp: int, rtp_timestamp: int) -> None:
        return None


async def _scene() -> tuple[RTCPeerConnection, _Source, Any, list[Any]]:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="recvonly")
    receiver = transceiver.receiver
    transport = receiver.transport
    getattr(receiver, aiortc_hooks._RX_CODECS)[96] = VP8
    nacks: list[Any] = []

    async def send_nack(media_ssrc: int, lost: list[int]) -> None:
        nacks.append((media_ssrc, lost))

    receiver._send_rtcp_nack = send_nack  # type: ignore[method-assign]
    transport._rtp_router.register_receiver(receiver, ssrcs=[], payload_types=[96], mid="0")
    transport._rtp_header_extensions_map.configure(
        RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI)])
    )
    aiortc_hooks.count_transport_drops(transport, Counters().count)
    aiortc_hooks.parse_stream_ids(transport, 2, None)
    source = _Source(VideoStreamTrack(), receiver, Counters(), RIDS)
    return pc, source, transport, nacks


def _rtp(transport: Any, layer: int, seq: int, payload: bytes, rid: bool = False) -> bytes:
    packet = RtpPacket(
        payload_type=96,
        marker=1,
        sequence_number=seq & 0xFFFF,
        timestamp=seq * 3000,
        ssrc=SSRCS[layer],
        payload=payload,
    )
    packet.extensions.mid = "0"
    if rid:
        packet.extensions.rtp_stream_id = RIDS[layer]
    return packet.serialize(transport._rtp_header_extensions_map)


async def _feed(transport: Any, layers: range | list[int], seqs: range, payload: bytes) -> None:
    for seq in seqs:
        for layer in layers:
            await transport._handle_rtp_data(_rtp(transport, layer, seq, payload, True), 0)


def test_idle_layers_skip_the_receiver_and_a_switch_to_one_resumes_it_cleanly() -> None:
    async def run() -> None:
        pc, source, transport, nacks = await _scene()
        streams = getattr(source.receiver, aiortc_hooks._RX_STREAMS)
        try:
            # Nobody subscribed: only the top layer (recordings, snapshots, counters) is read.
            await _feed(transport, range(3), range(100, 105), KEY)
            assert source.layer_ssrcs == list(SSRCS) and source.primary == 2
            assert source.skipped == {SSRCS[0], SSRCS[1]}
            sub = Subscription(2)
            source.subscriptions.append(sub)  # type: ignore[arg-type]
            source.update_intake()
            skipped_before = source.idle_packets
            octets = list(source._octets)
            await _feed(transport, range(3), range(105, 135), DELTA)
            # Only the forwarded layer reaches the subscription; the idle ones still count
            # their size and frames (the layer choice needs their rate and arrival).
            assert {layer for layer, _seq in sub.got} == {2}
            assert source.idle_packets - skipped_before == 60
            assert source._octets[0] - octets[0] == 30 * len(DELTA)
            assert source._octets[1] - octets[1] == 30 * len(DELTA)
            assert source.active() == (True, True, True)
            assert SSRCS[0] not in streams and SSRCS[1] not in streams  # no receiver reports
            # A switch to the quarter layer: it is resumed before its keyframe is asked for,
            # and 1,000 skipped packets are neither NACKed nor reported as lost.
            sub.target = 0
            source.update_intake()
            assert source.skipped == {SSRCS[1]}
            await _feed(transport, [0], range(1135, 1140), DELTA)
            await _feed(transport, [0], range(1140, 1141), KEY)
            assert [seq for layer, seq in sub.got if layer == 0] == list(range(1135, 1141))
            assert nacks == []
            assert streams[SSRCS[0]].packets_received == 6
            assert streams[SSRCS[0]].packets_lost == 0
            # A gap after resuming is a loss again, NACKed.
            await _feed(transport, [0], range(1143, 1144), DELTA)
            assert nacks == [(SSRCS[0], [1141, 1142])]
            # The switch done, the layer left is idle; the top one stays read (primary).
            sub.layer = 0
            source.update_intake()
            assert source.skipped == {SSRCS[1]}
            sub.target = sub.layer = 1
            source.update_intake()
            assert source.skipped == {SSRCS[0]}
            source.close()
            assert source.skipped == set()
            assert aiortc_hooks._SHORTCUTS[transport] == {}
        finally:
            await pc.close()

    asyncio.run(run())


def test_the_idle_count_reads_the_payload_size_as_the_parser_does() -> None:
    async def run() -> None:
        pc, source, transport, _nacks = await _scene()
        try:
            await _feed(transport, range(3), range(1, 2), KEY)  # learn the layers
            assert SSRCS[0] in source.skipped
            before = source._octets[0]
            packet = RtpPacket(
                payload_type=96, marker=0, sequence_number=2, ssrc=SSRCS[0], payload=b"p" * 77
            )
            packet.csrc = [7, 8]
            packet.extensions.mid = "0"
            packet.padding_size = 5
            data = packet.serialize(transport._rtp_header_extensions_map)
            parsed = RtpPacket.parse(data, transport._rtp_header_extensions_map)
            await transport._handle_rtp_data(data, 0)
            assert source._octets[0] - before == len(parsed.payload) == 77
            assert source._frame_at[0] > 0  # from the first (marked) packet, not this one
        finally:
            await pc.close()

    asyncio.run(run())


class PlainSrtp:
    """An inbound SRTP session whose packets are already plain (the keys are not the point)."""

    def unprotect(self, data: bytes) -> bytes:
        return data

    def unprotect_rtcp(self, data: bytes) -> bytes:
        return data


def test_srtp_on_a_connected_transport_is_handled_as_it_arrives_unless_some_is_queued() -> None:
    async def run() -> None:
        pc, source, transport, _nacks = await _scene()
        connection = transport.transport._connection
        queue = connection._queue
        try:
            sub = Subscription(2)
            source.subscriptions.append(sub)  # type: ignore[arg-type]
            transport._rx_srtp = PlainSrtp()
            transport._state = DtlsState.CONNECTED
            connection.data_received(_rtp(transport, 2, 7, KEY, True), 1)
            # No task step was needed: the packet reached the subscription inside the call.
            assert sub.got == [(2, 7)] and queue.qsize() == 0
            connection.data_received(b"\x16\xfe\xfd", 1)  # DTLS: to the queue
            connection.data_received(_rtp(transport, 2, 8, DELTA, True), 1)
            # Queued behind the DTLS record, so that it does not overtake it.
            assert sub.got == [(2, 7)] and queue.qsize() == 2
            assert queue.get_nowait()[0] == b"\x16\xfe\xfd"
            assert queue.get_nowait()[0] == _rtp(transport, 2, 8, DELTA, True)
        finally:
            transport._state = DtlsState.CLOSED
            await pc.close()

    asyncio.run(run())


def test_a_delivery_that_must_wait_is_finished_by_a_task_and_a_failure_is_reported() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[int] = loop.create_future()
        seen: list[object] = []

        async def quick() -> None:
            seen.append("quick")

        async def waits() -> None:
            seen.append(await gate)

        async def fails() -> None:
            raise RuntimeError("broken handler")

        assert aiortc_hooks._deliver_now(quick()) and seen == ["quick"]
        assert aiortc_hooks._deliver_now(waits()) and seen == ["quick"]
        gate.set_result(5)
        for _ in range(3):
            await asyncio.sleep(0)
        assert seen == ["quick", 5] and not aiortc_hooks._UNFINISHED
        assert not aiortc_hooks._deliver_now(fails())

    asyncio.run(run())

"""Chrome's padding on the RTX stream is not video (media/aiortc_hooks.py, ``tap_receiver``).

Chrome probes bandwidth with RTX packets that carry only padding: no original sequence
number at all, or one with nothing after it once the padding is removed. They must leave
the path at intake: neither forwarded, nor NACK bookkeeping, nor the layer's rate.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from media import aiortc_hooks
from tests.unit.test_idle_layers import DELTA, KEY, SSRCS, Subscription, _rtp, _scene

RTX = RTCRtpCodecParameters(
    mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96}
)
RTX_SSRC = 4444
REPAIRED_RID_ID = 3


def _rtx(transport: object, seq: int, payload: bytes, padding: int) -> bytes:
    packet = RtpPacket(
        payload_type=97, marker=0, sequence_number=seq, timestamp=0, ssrc=RTX_SSRC, payload=payload
    )
    packet.padding_size = padding
    packet.extensions.mid = "0"
    packet.extensions.repaired_rtp_stream_id = "f"
    return packet.serialize(transport._rtp_header_extensions_map)  # type: ignore[attr-defined]


def test_padding_only_rtx_is_dropped_at_intake_while_repairs_go_through() -> None:
    async def run() -> None:
        pc, source, transport, nacks = await _scene()
        getattr(source.receiver, aiortc_hooks._RX_CODECS)[97] = RTX
        transport._rtp_router.payload_type_table[97] = {source.receiver}
        aiortc_hooks.parse_stream_ids(transport, 2, REPAIRED_RID_ID)
        streams = getattr(source.receiver, aiortc_hooks._RX_STREAMS)
        try:
            sub = Subscription(2)
            source.subscriptions.append(sub)  # type: ignore[arg-type]
            for seq in range(100, 105):
                await transport._handle_rtp_data(_rtp(transport, 2, seq, KEY, True), 0)
            await transport._handle_rtp_data(_rtp(transport, 2, 106, DELTA, True), 0)
            assert nacks == [(SSRCS[2], [105])]
            # A real repair (RTX of 105) is unwrapped and forwarded as the top layer's.
            await transport._handle_rtp_data(_rtx(transport, 1, (105).to_bytes(2) + DELTA, 0), 0)
            assert sub.got[-1] == (2, 105)
            got, octets = list(sub.got), source._octets[2]
            received = streams[SSRCS[2]].packets_received

            # Padding only: no original sequence number, then one with nothing after it (one
            # far ahead, which would make the gap before it look lost).
            await transport._handle_rtp_data(_rtx(transport, 2, b"", 200), 0)
            await transport._handle_rtp_data(_rtx(transport, 3, (130).to_bytes(2), 200), 0)
            await transport._handle_rtp_data(_rtx(transport, 4, (107).to_bytes(2), 200), 0)
            assert sub.got == got, sub.got
            assert source._octets[2] == octets
            assert streams[SSRCS[2]].packets_received == received
            assert nacks == [(SSRCS[2], [105])]
            # The top layer goes on as before: 107 is no duplicate, nothing was lost.
            await transport._handle_rtp_data(_rtp(transport, 2, 107, DELTA, True), 0)
            assert sub.got[-1] == (2, 107) and nacks == [(SSRCS[2], [105])]
        finally:
            await pc.close()

    asyncio.run(run())

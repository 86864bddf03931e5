"""The forwarding relay's hooks into aiortc's private code still fit the installed aiortc.

Each failure names the hook that moved; media/aiortc_hooks.py is the one module to adapt.
"""

from __future__ import annotations

import asyncio
import importlib.metadata

from aiortc import RTCPeerConnection
from aiortc.rtp import RTP_HISTORY_SIZE

from media import aiortc_hooks


def test_aiortc_is_the_version_the_hooks_were_written_for() -> None:
    version = importlib.metadata.version("aiortc")
    assert version == "1.16.0", (
        f"aiortc {version} is installed; media/aiortc_hooks.py was written for 1.16.0: "
        "re-read the hooked code before changing the pin"
    )


def test_hooked_methods_keep_their_names_and_signatures() -> None:
    assert aiortc_hooks.check_hooks() == []


def test_hooked_attributes_exist_on_a_real_receiver_and_sender() -> None:
    async def build() -> list[str]:
        pc = RTCPeerConnection()
        try:
            transceiver = pc.addTransceiver("video")
            return aiortc_hooks.check_hooks(transceiver.receiver, transceiver.sender)
        finally:
            await pc.close()

    assert asyncio.run(build()) == []


def test_the_sender_history_is_as_large_as_assumed() -> None:
    # A 1 Mbps video stream sends ~100 packets/s: 128 covers a NACK round trip of 1 s.
    assert RTP_HISTORY_SIZE == 128


def test_a_missing_hook_is_named_in_the_error() -> None:
    class Bare:
        pass

    try:
        aiortc_hooks.tap_receiver(
            Bare(),  # type: ignore[arg-type]
            on_packet=None,  # type: ignore[arg-type]
            on_dropped=lambda: None,
            on_sender_report=lambda ssrc, ntp, rtp: None,
        )
    except aiortc_hooks.AiortcHookError as exc:
        assert "_RTCRtpReceiver__codecs" in str(exc)
    else:
        raise AssertionError("a receiver without the hooked attribute was accepted")


def test_the_rtp_router_still_has_the_tables_route_by_ssrc_reads() -> None:
    async def build() -> list[str]:
        pc = RTCPeerConnection()
        try:
            router = pc.addTransceiver("video").receiver.transport._rtp_router
            return [
                f"hook RtpRouter.{name} is missing (media/aiortc_hooks.py route_by_ssrc)"
                for name in ("ssrc_table", "receivers", "route_rtp")
                if not hasattr(router, name)
            ]
        finally:
            await pc.close()

    assert asyncio.run(build()) == []

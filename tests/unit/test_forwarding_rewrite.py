"""Per-subscriber rewriting of forwarded RTP: numbering, keyframe start, payload types, SRs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media import forwarding
from media.counters import Counters
from media.forwarding import ForwardedSubscription
from media.rtpwrite import RtpWriter

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
SUBSCRIBER_VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=120)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2, payloadType=111)


@dataclass
class FakeHooks:
    ssrc: int = 4242
    mid: str = "3"
    ready: bool = True
    sent: list[RtpPacket] = field(default_factory=list)
    report: tuple[int, int] | None = None
    repair_floor: int | None = None

    async def send(self, packet: RtpPacket) -> None:
        self.sent.append(packet)

    def set_sender_report(self, ntp: int, rtp: int) -> None:
        self.report = (ntp, rtp)

    def repair_from(self, sequence_number: int) -> None:
        self.repair_floor = sequence_number


@dataclass
class FakePort:
    hooks: FakeHooks = field(default_factory=FakeHooks)
    next_seq: int = 65530  # wraps during the test
    last_ts: int | None = None
    last_sent_at: float = 0.0
    remb: Any = None
    subscription: Any = None
    settled: bool = True
    video_paused: bool = False
    sent: int = 0
    octets: int = 0

    def payload_type(self, codec: RTCRtpCodecParameters) -> int | None:
        return SUBSCRIBER_VP8.payloadType if codec.mimeType == "video/VP8" else None


@dataclass
class FakeKeyframes:
    requests: int = 0

    def request(self) -> None:
        self.requests += 1


@dataclass
class FakeSource:
    kind: str = "video"
    keyframes: FakeKeyframes = field(default_factory=FakeKeyframes)
    sender_reports: dict[int, tuple[int, int]] = field(default_factory=dict)
    subscriptions: list[Any] = field(default_factory=list)
    rids: tuple[str, ...] = ()  # no simulcast (tests/unit/test_simulcast.py has layers)

    @property
    def layer_keyframes(self) -> list[FakeKeyframes]:
        return [self.keyframes]


def _packet(seq: int, ts: int, marker: int = 0, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        marker=marker,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=b"x" * 10,
    )


def _forward(sub: ForwardedSubscription, packets: list[tuple[RtpPacket, bool]]) -> None:
    sub.request_keyframe()  # the subscriber applied the answer

    async def run() -> None:
        for packet, keyframe in packets:
            await sub.forward(packet, VP8, keyframe, abs_send=0x123456)

    asyncio.run(run())


def test_video_starts_on_a_keyframe_and_continues_the_senders_numbering() -> None:
    port, source = FakePort(), FakeSource()
    sub = ForwardedSubscription(source, port, Counters(), Counters())  # type: ignore[arg-type]

    _forward(
        sub,
        [
            (_packet(100, 9000, marker=1), False),  # a delta frame: not sent
            (_packet(101, 12000), True),  # keyframe start
            (_packet(102, 12000), False),
            (_packet(103, 12000, marker=1), False),
            (_packet(104, 15000), False),
            (_packet(100, 9000), False),  # a late packet from before the start
        ],
    )

    sent = port.hooks.sent
    assert [p.sequence_number for p in sent] == [65530, 65531, 65532, 65533]
    assert {p.ssrc for p in sent} == {4242} and {p.payload_type for p in sent} == {120}
    assert sent[3].timestamp - sent[0].timestamp == 3000
    assert sent[0].extensions.mid == "3" and sent[0].extensions.abs_send_time == 0x123456
    assert port.next_seq == 65534


def test_a_paused_subscriber_gets_no_video_but_audio_and_video_resumes_without_a_gap() -> None:
    port, source = FakePort(), FakeSource()
    sub = ForwardedSubscription(source, port, Counters(), Counters())  # type: ignore[arg-type]
    _forward(sub, [(_packet(10, 1000, marker=1), True)])
    port.video_paused = True  # the fallback ladder (media/fallback.py)
    _forward(sub, [(_packet(11, 4000, marker=1), False), (_packet(12, 7000, marker=1), True)])
    assert len(port.hooks.sent) == 1
    audio_port = FakePort(video_paused=True)
    audio = ForwardedSubscription(FakeSource(kind="audio"), audio_port, Counters(), Counters())  # type: ignore[arg-type]
    _forward(audio, [(_packet(1, 960), False), (_packet(2, 1920), False)])
    assert len(audio_port.hooks.sent) == 2
    port.video_paused = False
    _forward(sub, [(_packet(13, 10000, marker=1), False), (_packet(14, 13000, marker=1), True)])
    assert [p.sequence_number for p in port.hooks.sent] == [65530, 65531]  # from a keyframe


def test_a_new_source_on_the_same_sender_continues_without_a_gap() -> None:
    port = FakePort()
    first = ForwardedSubscription(FakeSource(), port, Counters(), Counters())  # type: ignore[arg-type]
    _forward(first, [(_packet(10, 1000, marker=1), True), (_packet(11, 4000, marker=1), False)])
    first.stop()
    counters, publisher = Counters(), Counters()
    second = ForwardedSubscription(FakeSource(), port, counters, publisher)  # type: ignore[arg-type]

    _forward(second, [(_packet(5000, 777_000, marker=1, ssrc=2), True)])

    seqs = [p.sequence_number for p in port.hooks.sent]
    assert seqs == [65530, 65531, 65532]
    assert port.hooks.sent[2].timestamp > port.hooks.sent[1].timestamp
    assert counters.video_frames_to == 1 and publisher.video_frames_from == 1


def test_sender_reports_are_translated_by_the_timestamp_offset() -> None:
    port = FakePort()
    sub = ForwardedSubscription(FakeSource(), port, Counters(), Counters())  # type: ignore[arg-type]
    _forward(sub, [(_packet(1, 90_000, marker=1), True)])
    offset = port.hooks.sent[0].timestamp - 90_000

    sub.sender_report(ntp_timestamp=555, rtp_timestamp=180_000)

    assert port.hooks.report == (555, (180_000 + offset) & 0xFFFFFFFF)


def test_a_codec_the_subscriber_did_not_negotiate_is_counted_not_sent() -> None:
    port, counters = FakePort(), Counters()
    sub = ForwardedSubscription(FakeSource(kind="audio"), port, counters, Counters())  # type: ignore[arg-type]

    sub.request_keyframe()

    async def run() -> None:
        await sub.forward(_packet(1, 960), OPUS, False, abs_send=0)

    asyncio.run(run())
    assert port.hooks.sent == [] and counters.send_failures == 1


def test_the_fast_serializer_writes_what_aiortc_would() -> None:
    parameters = RTCRtpSendParameters(
        codecs=[OPUS],
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
            RTCRtpHeaderExtensionParameters(
                id=3, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            ),
            RTCRtpHeaderExtensionParameters(
                id=5, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"
            ),
        ],
        muxId="12",
    )
    extensions = HeaderExtensionsMap()
    extensions.configure(parameters)

    writer = RtpWriter(parameters)
    for level in (None, (True, 30), (False, 127)):
        packet = RtpPacket(
            payload_type=111,
            marker=1,
            sequence_number=65535,
            timestamp=0xFFFFFFFF,
            ssrc=0xDEADBEEF,
            payload=b"opus",
        )
        packet.extensions.mid = "12"
        packet.extensions.abs_send_time = 0xABCDEF
        packet.extensions.audio_level = level
        assert writer.serialize(packet) == packet.serialize(extensions)


def test_the_publisher_is_told_the_weakest_subscribers_bitrate_within_limits(
    monkeypatch: Any,
) -> None:
    told: list[int] = []

    async def send_remb(receiver: Any, bitrate_bps: int, media_ssrc: int) -> None:
        told.append(bitrate_bps)

    monkeypatch.setattr(forwarding.hooks, "send_remb", send_remb)

    async def run() -> None:
        pc = RTCPeerConnection()
        receiver = pc.addTransceiver("video").receiver
        source = forwarding._Source(VideoStreamTrack(), receiver, Counters())
        source.media_ssrc = 1234
        ports = [FakePort(), FakePort()]
        for port in ports:
            source.subscriptions.append(
                ForwardedSubscription(source, port, Counters(), Counters())  # type: ignore[arg-type]
            )
        now = forwarding.time.monotonic()
        ports[0].remb, ports[1].remb = (900_000, now), (400_000, now)
        source.update_remb()  # the weaker one
        ports[1].remb = (50_000, now)
        source.update_remb()  # a drop goes out at once, but never below the floor
        ports[1].remb = (60_000_000, now)
        source.update_remb()  # a rise waits for the interval
        await asyncio.sleep(0)
        await pc.close()

    asyncio.run(run())
    assert told == [400_000, forwarding.REMB_MIN_BPS]

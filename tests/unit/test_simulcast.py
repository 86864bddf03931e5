"""Simulcast: the SDP lines, the layer choice (media/simulcast.py) and a subscription's switch
between layers at a keyframe with continuous numbering (media/forwarding.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiortc.rtp import RtpPacket

from media import simulcast
from media.counters import Counters
from media.fallback import Ladder, LinkState, Report
from media.fallback import on_report as ladder_report
from media.forwarding import ForwardedSubscription
from media.simulcast import Choice, Policy
from tests.unit.test_forwarding_rewrite import VP8, FakeKeyframes, FakePort

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=rtpmap:111 opus/48000/2",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=mid:1",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        "a=rtpmap:96 VP8/90000",
        "a=rid:q send",
        "a=rid:h send",
        "a=rid:f send",
        "a=simulcast:send q;h;~f",
        "",
    ]
)


def test_offered_reads_layers_lowest_first_and_the_extension_ids() -> None:
    found = simulcast.offered(OFFER)
    assert list(found) == ["1"]
    assert found["1"] == simulcast.Offered("1", ("q", "h", "f"), 10, 11)


def test_an_offer_without_the_rid_extension_or_with_one_layer_is_no_simulcast() -> None:
    assert simulcast.offered(OFFER.replace("a=extmap:10 ", "a=extmap:10 urn:x:")) == {}
    one = OFFER.replace("a=simulcast:send q;h;~f", "a=simulcast:send q")
    assert simulcast.offered(one) == {}
    # A rid the section did not declare, or a malformed one, is not a layer.
    assert simulcast.offered(OFFER.replace("a=rid:h send", "a=rid:h/x send"))["1"].rids == (
        "q",
        "f",
    )


def test_add_receive_writes_the_lines_into_that_section_only() -> None:
    answer = "\r\n".join(
        [
            "v=0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "a=mid:0",
            "m=video 9 UDP/TLS/RTP/SAVPF 96",
            "a=mid:1",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "",
        ]
    )
    out = simulcast.add_receive(answer, simulcast.offered(OFFER))
    audio, video = out.split("m=video")
    assert "rid" not in audio
    assert "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n" in video
    assert "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n" in video
    assert "a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n" in video
    # Applied again (a re-offer that kept them), nothing is doubled.
    again = simulcast.add_receive(out.replace("a=rid:q recv\r\n", ""), {})
    assert again.count("rtp-stream-id") == 2
    assert simulcast.add_receive(answer, {}) == answer


def test_vp8_keyframe_size_is_read_from_the_payload_header() -> None:
    # Descriptor with a 15-bit picture id, then a keyframe tag, start code, 640x360.
    payload = bytes((0x90, 0x80, 0x80, 0x01, 0x50, 0x22, 0x00, 0x9D, 0x01, 0x2A))
    payload += (640).to_bytes(2, "little") + (360).to_bytes(2, "little") + b"\x00" * 8
    assert simulcast.vp8_keyframe_size(payload) == (640, 360)
    delta = bytes((0x90, 0x80, 0x80, 0x01, 0x51)) + payload[5:]
    assert simulcast.vp8_keyframe_size(delta) is None
    assert simulcast.vp8_keyframe_size(payload[:8]) is None


def test_the_tile_size_caps_the_layer() -> None:
    heights = (180, 360, 720)
    assert simulcast.size_cap(None, heights) == 2
    assert simulcast.size_cap(150, heights) == 0
    assert simulcast.size_cap(300, heights) == 1
    assert simulcast.size_cap(361, heights) == 2
    assert simulcast.size_cap(2000, heights) == 2
    assert simulcast.size_cap(100, (None, None, None)) == 2


def test_a_layer_that_does_not_arrive_is_replaced_by_the_nearest_below_then_above() -> None:
    assert simulcast.available(2, (True, True, False)) == 1
    assert simulcast.available(0, (False, True, True)) == 1
    assert simulcast.available(1, (False, False, False)) is None


FAST = Policy(down_after_s=1.0, up_after_s=4.0, max_up_after_s=16.0, flap_window_s=20.0)
RATES = (150_000.0, 500_000.0, 1_500_000.0)


def _run(choice: Choice, reports: list[Report], cap: int = 2) -> list[int]:
    layers = []
    for report in reports:
        choice = simulcast.on_report(choice, report, RATES, cap, FAST)
        layers.append(simulcast.target(choice, cap))
    return layers


def test_bad_reports_take_the_subscriber_down_one_layer_after_a_second() -> None:
    reports = [Report(at=t, loss=0.2) for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)]
    assert _run(Choice(layer=2), reports) == [2, 2, 1, 1, 1, 0]


def test_a_low_remb_goes_straight_to_the_layer_it_can_carry() -> None:
    # It is sent 1.5 Mb/s and can take 200 kb/s: the half layer (500 kb/s) would not fit.
    report = Report(at=0.0, loss=0.0, remb_bps=200_000, sent_bps=1_500_000)
    later = Report(at=1.0, loss=0.0, remb_bps=200_000, sent_bps=1_500_000)
    assert _run(Choice(layer=2), [report, later]) == [2, 0]


def test_good_reports_bring_it_back_one_layer_at_a_time_and_a_flap_doubles_the_wait() -> None:
    choice = Choice(layer=0)
    good = [Report(at=float(t), loss=0.0) for t in range(0, 10)]
    assert _run(choice, good) == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2]
    # Up at 4 s, bad right after: down again, and the next rise waits 8 s instead of 4.
    choice = simulcast.on_report(Choice(layer=0), Report(at=0.0, loss=0.0), RATES, 2, FAST)
    choice = simulcast.on_report(choice, Report(at=4.0, loss=0.0), RATES, 2, FAST)
    assert choice.layer == 1
    for t in (5.0, 6.0):
        choice = simulcast.on_report(choice, Report(at=t, loss=0.3), RATES, 2, FAST)
    assert (choice.layer, choice.flaps) == (0, 1)
    layers = []
    for t in range(7, 16):
        choice = simulcast.on_report(choice, Report(at=float(t), loss=0.0), RATES, 2, FAST)
        layers.append(choice.layer)
    assert layers == [0] * 8 + [1]  # good from 7 s, up at 15 s


def test_a_remb_lagging_behind_a_rise_is_not_bad_but_loss_is_one_layer_down() -> None:
    # Just raised to the top layer (1.5 Mb/s): the estimate is still near the half layer's
    # rate it came from, which is how a browser's estimate follows a rise. Not bad...
    lagging = [
        Report(at=float(t), loss=0.0, remb_bps=600_000, sent_bps=1_500_000) for t in (0, 1, 2)
    ]
    assert _run(Choice(layer=2), lagging) == [2, 2, 2]
    # ... with loss, one layer down ...
    lossy = [Report(at=t, loss=0.3, remb_bps=600_000, sent_bps=1_500_000) for t in (0.0, 1.0)]
    assert _run(Choice(layer=2), lossy) == [2, 1]
    # ... and with an estimate under even the half layer's rate, straight to the quarter.
    lossy = [Report(at=t, loss=0.3, remb_bps=400_000, sent_bps=1_500_000) for t in (0.0, 1.0)]
    assert _run(Choice(layer=2), lossy) == [2, 0]


def test_middling_reports_hold_the_layer() -> None:
    fair = [Report(at=float(t), loss=0.05) for t in range(20)]
    assert set(_run(Choice(layer=1), fair)) == {1}


def test_a_small_tile_holds_the_layer_down_without_losing_what_bandwidth_allows() -> None:
    choice = Choice(layer=2)
    good = [Report(at=float(t), loss=0.0) for t in range(10)]
    assert set(_run(choice, good, cap=0)) == {0}
    # The tile grows again: straight back to the layer the link carried.
    assert simulcast.target(choice, 2) == 2
    # A capped subscriber does not climb above what it was tested at.
    assert _run(Choice(layer=0), good, cap=1)[-1] == 1


def test_the_fallback_ladder_waits_while_a_lower_layer_is_left() -> None:
    ladder = Ladder(pause_after_s=1.0)
    state = LinkState()
    for t in (0.0, 1.0, 2.0, 3.0):
        state = ladder_report(state, Report(at=t, loss=0.3), ladder, lower_layer=True)
    assert state.step == "full"
    for t in (4.0, 5.0):
        state = ladder_report(state, Report(at=t, loss=0.3), ladder, lower_layer=False)
    assert state.step == "video_paused"
    # Loss even audio cannot live with still counts.
    state = LinkState()
    for t in (0.0, 1.0, 2.0):
        state = ladder_report(state, Report(at=t, loss=0.6), ladder, lower_layer=True)
    assert state.step == "audio_lost"


# -- the switch in the forwarder ----------------------------------------------------------


@dataclass
class LayeredSource:
    kind: str = "video"
    rids: tuple[str, ...] = ("q", "h", "f")
    layer_keyframes: list[FakeKeyframes] = field(
        default_factory=lambda: [FakeKeyframes(), FakeKeyframes(), FakeKeyframes()]
    )
    sender_reports: dict[int, tuple[int, int]] = field(default_factory=dict)
    subscriptions: list[object] = field(default_factory=list)
    heights: list[int | None] = field(default_factory=lambda: [180, 360, 720])
    arriving: tuple[bool, ...] = (True, True, True)

    def active(self) -> tuple[bool, ...]:
        return self.arriving

    def rates(self) -> tuple[float | None, ...]:
        return RATES

    def update_intake(self) -> None:
        """The real source skips or resumes layers here (tested with a real one below)."""


def _packet(layer: int, seq: int, ts: int, marker: int = 1) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        marker=marker,
        sequence_number=seq,
        timestamp=ts,
        ssrc=1000 + layer,
        payload=b"x" * 10,
    )


def test_a_switch_waits_for_a_keyframe_of_the_new_layer_and_continues_the_numbering() -> None:
    port, source = FakePort(), LayeredSource()
    sub = ForwardedSubscription(source, port, Counters(), Counters(), FAST)  # type: ignore[arg-type]
    sub.request_keyframe()
    assert [k.requests for k in source.layer_keyframes] == [0, 0, 1]  # starts at the top

    async def send(packets: list[tuple[int, RtpPacket, bool]]) -> None:
        for layer, packet, keyframe in packets:
            await sub.forward(packet, VP8, keyframe, 0x123456, layer)

    # Every layer's frames arrive interleaved, each with its own numbering.
    asyncio.run(
        send(
            [
                (0, _packet(0, 500, 10_000), True),
                (2, _packet(2, 9000, 70_000), True),
                (1, _packet(1, 300, 40_000), False),
                (2, _packet(2, 9001, 73_000), False),
            ]
        )
    )
    assert [p.sequence_number for p in port.hooks.sent] == [65530, 65531]
    assert sub.rid == "f"
    # Bad reports: the target is the half layer, asked for by PLI on that layer.
    for t in (0.0, 1.0):
        sub.on_report(Report(at=t, loss=0.3))
    assert [k.requests for k in source.layer_keyframes] == [0, 1, 1]
    # Until its keyframe comes, reports are about the layer being left: no further fall,
    # the keyframe is asked for again (the publisher's keyframe throttle applies).
    for t in (2.0, 3.0):
        sub.on_report(Report(at=t, loss=0.3))
    assert [k.requests for k in source.layer_keyframes] == [0, 3, 1]
    asyncio.run(
        send(
            [
                (1, _packet(1, 301, 43_000), False),  # not a keyframe: not yet
                (2, _packet(2, 9002, 76_000), False),  # the old layer still flows meanwhile
                (1, _packet(1, 302, 46_000), True),  # the switch
                (2, _packet(2, 9003, 79_000), False),  # the old layer is dropped from here
                (1, _packet(1, 303, 49_000), False),
            ]
        )
    )
    sent = port.hooks.sent
    assert [p.sequence_number for p in sent] == [65530, 65531, 65532, 65533, 65534]
    assert sub.rid == "h" and sub.switches == 1
    assert all(p.ssrc == port.hooks.ssrc for p in sent)
    # Timestamps go on forward across the switch, then follow the new layer's clock.
    assert 0 < (sent[3].timestamp - sent[2].timestamp) & 0xFFFFFFFF < 90_000
    assert (sent[4].timestamp - sent[3].timestamp) & 0xFFFFFFFF == 3000


def test_a_tile_size_and_a_missing_layer_move_the_target() -> None:
    port, source = FakePort(), LayeredSource()
    sub = ForwardedSubscription(source, port, Counters(), Counters(), FAST)  # type: ignore[arg-type]
    sub.request_keyframe()
    sub.set_wanted_size(320, 180)
    assert source.layer_keyframes[0].requests == 1
    sub.set_wanted_size(1280, 720)
    source.arriving = (True, True, False)  # the browser stopped its top layer
    sub.on_report(Report(at=0.0, loss=0.0))
    assert source.layer_keyframes[1].requests == 1

"""SDP from browsers: what the hub refuses before aiortc sees it, and how re-offers are numbered."""

from __future__ import annotations

import re

import pytest
from aiortc import RTCBundlePolicy
from aiortc import sdp as aiortc_sdp

from media.errors import MediaError
from media.ice import ice_configuration
from media.rtpmap import remap_offer, rtp_mapping
from media.sdp import (
    MAX_CANDIDATES,
    MAX_OFFER_MEDIA_SECTIONS,
    MAX_SDP_BYTES,
    validate_answer,
    validate_offer,
)

FINGERPRINT = ":".join(["AB"] * 32)
TRANSPORT = (
    "a=ice-ufrag:Hh3k\r\n"
    "a=ice-pwd:Zr4sT0XkXq3oWmQ8qJ2f8l9e\r\n"
    "a=ice-options:trickle\r\n"
    f"a=fingerprint:sha-256 {FINGERPRINT}\r\n"
    "a=setup:actpass\r\n"
)
CANDIDATE = "a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0\r\n"
# Trimmed from Chromium 156's offer for camera + microphone + a data channel.
CHROME_OFFER = (
    "v=0\r\n"
    "o=- 4215775240449105457 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS stream\r\n"
    "m=audio 54321 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    f"{CANDIDATE}{TRANSPORT}"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream audio-track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:1001 cname:abc\r\n"
    "m=video 54321 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 98 99\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    f"{CANDIDATE}{TRANSPORT}"
    "a=mid:1\r\n"
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:13 urn:3gpp:video-orientation\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:stream video-track\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:105 rtx/90000\r\n"
    "a=fmtp:105 apt=104\r\n"
    "a=rtpmap:98 VP9/90000\r\n"
    "a=fmtp:98 profile-id=0\r\n"
    "a=rtpmap:99 rtx/90000\r\n"
    "a=fmtp:99 apt=98\r\n"
    "a=ssrc-group:FID 2001 2002\r\n"
    "a=ssrc:2001 cname:abc\r\n"
    "a=ssrc:2002 cname:abc\r\n"
    "m=application 54321 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    f"{CANDIDATE}{TRANSPORT}"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n"
)


def refused(sdp: object, code: str = "bad_sdp") -> MediaError:
    with pytest.raises(MediaError) as caught:
        validate_offer(sdp)
    assert caught.value.code == code
    # A refusal names sizes, counts and positions, never the addresses in the SDP.
    assert "192.168" not in str(caught.value)
    return caught.value


def test_accepts_chromes_offer_and_summarises_it() -> None:
    summary = validate_offer(CHROME_OFFER)

    assert summary.media_kinds == ("audio", "video", "application")
    assert summary.candidates == 3


@pytest.mark.parametrize("sdp", ["", "   \r\n", "hello, I am not an SDP"])
def test_refuses_empty_and_garbage_offers(sdp: str) -> None:
    refused(sdp)


def test_refuses_something_other_than_text() -> None:
    assert "bytes" in str(refused(CHROME_OFFER.encode()))


def test_refuses_an_offer_over_64_kib_by_encoded_size() -> None:
    padding = MAX_SDP_BYTES - len(CHROME_OFFER) - len("a=x-pad:\r\n")
    at_limit = CHROME_OFFER + "a=x-pad:" + "x" * padding + "\r\n"
    assert len(at_limit.encode()) == MAX_SDP_BYTES
    validate_offer(at_limit)

    refused(CHROME_OFFER + "a=x-pad:" + "x" * 70 * 1024 + "\r\n", "sdp_too_large")
    # 40 000 characters, 80 000 bytes in UTF-8.
    refused(CHROME_OFFER + "a=x-pad:" + "é" * 40_000 + "\r\n", "sdp_too_large")


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_refuses_control_characters(char: str) -> None:
    error = refused(CHROME_OFFER.replace("a=mid:1", f"a=mid:{char}1"))
    assert f"U+{ord(char):04X}" in str(error)


def test_refuses_more_media_sections_than_allowed() -> None:
    extra = "".join(
        f"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n{TRANSPORT}a=rtcp-mux\r\na=mid:x{i}\r\n"
        for i in range(17)
    )
    error = refused(CHROME_OFFER + extra)
    assert f"20 media sections, at most {MAX_OFFER_MEDIA_SECTIONS}" in str(error)


def test_refuses_more_candidates_than_allowed() -> None:
    many = CHROME_OFFER.replace(CANDIDATE, CANDIDATE * 17)  # 3 sections x 17 = 51
    assert f"51 candidates, at most {MAX_CANDIDATES}" in str(refused(many))
    validate_offer(CHROME_OFFER.replace(CANDIDATE, CANDIDATE * 16))


def test_refuses_an_offer_without_a_dtls_fingerprint() -> None:
    without = CHROME_OFFER.replace(f"a=fingerprint:sha-256 {FINGERPRINT}\r\n", "")
    assert "fingerprint" in str(refused(without))


def test_refuses_a_fingerprint_aiortc_cannot_verify() -> None:
    sha1 = CHROME_OFFER.replace("a=fingerprint:sha-256", "a=fingerprint:sha-1")
    assert "sha-256" in str(refused(sha1))


def test_accepts_a_session_level_fingerprint() -> None:
    lines = CHROME_OFFER.replace(f"a=fingerprint:sha-256 {FINGERPRINT}\r\n", "")
    session_level = lines.replace("t=0 0\r\n", f"t=0 0\r\na=fingerprint:sha-256 {FINGERPRINT}\r\n")
    validate_offer(session_level)


@pytest.mark.parametrize(
    ("remove", "named"),
    [
        ("a=setup:actpass\r\n", "a=setup"),
        ("a=ice-ufrag:Hh3k\r\n", "ICE credentials"),
        ("a=rtcp-mux\r\n", "rtcp-mux"),
        ("a=mid:1\r\n", "a=mid"),
        ("a=group:BUNDLE 0 1 2\r\n", "BUNDLE"),
    ],
)
def test_refuses_offers_missing_what_the_hub_relies_on(remove: str, named: str) -> None:
    assert named in str(refused(CHROME_OFFER.replace(remove, "")))


def test_refuses_a_repeated_media_id_and_unknown_media_kinds() -> None:
    assert "repeats" in str(refused(CHROME_OFFER.replace("a=mid:1", "a=mid:0")))
    assert "'text'" in str(refused(CHROME_OFFER.replace("m=application", "m=text")))


def test_a_parser_error_keeps_the_sdp_text_out_of_the_message() -> None:
    broken = CHROME_OFFER.replace("a=rtpmap:111 opus", "a=rtpmap:1x1 opus")
    error = refused(broken)
    assert "does not parse (ValueError)" in str(error)
    assert "1x1" not in str(error)


def test_answers_are_limited_by_the_offer_they_answer() -> None:
    answer = CHROME_OFFER.replace("a=group:BUNDLE 0 1 2\r\n", "")  # bundling is not demanded
    assert validate_answer(answer, max_media=3).media_kinds == ("audio", "video", "application")
    with pytest.raises(MediaError, match="3 media sections, at most 2"):
        validate_answer(answer, max_media=2)


# An aiortc re-offer: the browser's two sections (recvonly here), the data channel, and a
# server-added audio + video pair, all in aiortc's own numbering.
AIORTC_SECTION = {
    "audio": (
        "m=audio 9 UDP/TLS/RTP/SAVPF 96 9 0 8\r\n"
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:96 opus/48000/2\r\na=rtpmap:9 G722/8000\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    ),
    "video": (
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98 99 100 101 102\r\n"
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
        "a=rtcp-mux\r\n"
        "a=rtpmap:97 VP8/90000\r\na=rtcp-fb:97 nack\r\na=rtcp-fb:97 nack pli\r\n"
        "a=rtpmap:98 rtx/90000\r\na=fmtp:98 apt=97\r\n"
        "a=rtpmap:99 H264/90000\r\n"
        "a=fmtp:99 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
        "a=rtpmap:100 rtx/90000\r\na=fmtp:100 apt=99\r\n"
        "a=rtpmap:101 H264/90000\r\n"
        "a=fmtp:101 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
        "a=rtpmap:102 rtx/90000\r\na=fmtp:102 apt=101\r\n"
    ),
}


def aiortc_reoffer(kinds: list[str]) -> str:
    sections = "".join(
        AIORTC_SECTION[kind] + f"a=mid:{mid}\r\n{TRANSPORT}" for mid, kind in enumerate(kinds)
    )
    mids = " ".join(str(i) for i in range(len(kinds)))
    return f"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE {mids}\r\n" + sections


def numbering(sdp: str) -> tuple[dict[int, str], dict[int, str]]:
    """Payload type -> codec and extension id -> URI over the whole description, asserting
    that no number means two things (Chrome refuses that within a BUNDLE group)."""
    payload_types: dict[int, str] = {}
    extension_ids: dict[int, str] = {}
    for media in aiortc_sdp.SessionDescription.parse(sdp).media:
        for codec in media.rtp.codecs:
            assert codec.payloadType is not None
            name = f"{codec.mimeType}/{codec.clockRate} {sorted(codec.parameters.items())}"
            assert payload_types.setdefault(codec.payloadType, name) == name
            assert codec.payloadType in media.fmt
        for extension in media.rtp.headerExtensions:
            assert extension_ids.setdefault(extension.id, extension.uri) == extension.uri
    return payload_types, extension_ids


def test_reoffers_use_the_browsers_payload_types_and_extension_ids() -> None:
    mapping = rtp_mapping(CHROME_OFFER)

    reoffer = remap_offer(aiortc_reoffer(["audio", "video", "audio", "video"]), mapping)

    payload_types, extension_ids = numbering(reoffer)
    assert payload_types[111].startswith("audio/opus/48000")
    assert payload_types[96].startswith("video/VP8/90000")
    assert payload_types[97] == "video/rtx/90000 [('apt', 96)]"
    assert "profile-level-id', '42001f'" in payload_types[102]
    assert payload_types[105] == "video/rtx/90000 [('apt', 104)]"
    assert extension_ids == {
        4: "urn:ietf:params:rtp-hdrext:sdes:mid",
        1: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        2: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    }
    assert re.search(r"^m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8\r$", reoffer, re.M)
    assert re.search(r"^m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105\r$", reoffer, re.M)


def test_numbers_the_browser_never_assigned_avoid_its_numbers_and_stay_stable() -> None:
    audio_only = CHROME_OFFER.split("m=video")[0].replace(
        "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0"
    )
    mapping = rtp_mapping(audio_only)

    first = remap_offer(aiortc_reoffer(["audio", "video"]), mapping)
    second = remap_offer(aiortc_reoffer(["audio", "video", "video"]), mapping)

    payload_types, extension_ids = numbering(first)
    browser_pts = {111, 63, 9, 0, 8, 13, 110, 126}
    vp8 = next(pt for pt, name in payload_types.items() if name.startswith("video/VP8"))
    assert vp8 not in browser_pts
    abs_send_time = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    assert extension_ids[2] == abs_send_time  # the browser named it in its audio section
    assert numbering(second) == (payload_types, extension_ids)


def test_ice_servers_become_an_explicit_max_bundle_configuration() -> None:
    empty = ice_configuration([])
    assert empty.iceServers == [] and empty.bundlePolicy == RTCBundlePolicy.MAX_BUNDLE

    configured = ice_configuration(
        [
            {"urls": "stun:stun.example.org:3478"},
            {"urls": ["turn:turn.example.org?transport=tcp"], "username": "u", "credential": "c"},
        ]
    )
    assert configured.iceServers is not None
    assert [server.urls for server in configured.iceServers] == [
        ["stun:stun.example.org:3478"],
        ["turn:turn.example.org?transport=tcp"],
    ]


@pytest.mark.parametrize(
    ("servers", "named"),
    [
        ([{"urls": "http://example.org"}], "is not a stun:"),
        ([{"urls": "turn:turn.example.org"}], "without credentials"),
        ([{"urls": []}], "non-empty list"),
        ([{"url": "stun:stun.example.org"}], "unknown keys ['url']"),
        (["stun:stun.example.org"], "must be a dict"),
        ([{"urls": "stun:x", "credentialType": "oauth"}], "credentialType"),
    ],
)
def test_refuses_ice_servers_it_cannot_use(servers: list[object], named: str) -> None:
    with pytest.raises(MediaError) as caught:
        ice_configuration(servers)  # type: ignore[arg-type]
    assert caught.value.code == "bad_ice_servers"
    assert named in str(caught.value)

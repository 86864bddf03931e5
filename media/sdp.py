"""Checks on SDP from a browser before any of it reaches a peer connection.

Pure functions over text: a refused description leaves nothing to clean up. The limits are
generous for a browser (one camera, one microphone, one data channel, a screen share) and
small enough that a hostile page cannot make the server parse or gather much.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiortc import sdp as aiortc_sdp

from media.errors import BAD_SDP, SDP_TOO_LARGE, MediaError

# A browser's offer with audio, video, a data channel and fifty candidates is about 6 KiB.
MAX_SDP_BYTES = 64 * 1024
# Audio + video + data channel + a screen share is 4; 8 leaves room without inviting abuse.
MAX_OFFER_MEDIA_SECTIONS = 8
# Each candidate may make aioice resolve a name or send checks; browsers gather well under 50.
MAX_CANDIDATES = 50
MEDIA_KINDS = frozenset({"audio", "video", "application"})
# The digests aiortc can verify (rtcdtlstransport.X509_DIGEST_ALGORITHMS).
FINGERPRINT_ALGORITHMS = frozenset({"sha-256", "sha-384", "sha-512"})

# Control characters other than tab, CR and LF have no place in SDP (RFC 8866 §9).
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class SdpSummary:
    """What a valid description holds, for logs and limits (no addresses, no keys)."""

    media_kinds: tuple[str, ...]
    candidates: int


def validate_offer(sdp: object) -> SdpSummary:
    """Refuse a browser's offer that is too large, malformed or unsafe to apply."""
    return _validate(sdp, max_media=MAX_OFFER_MEDIA_SECTIONS, require_bundle=True)


def validate_answer(sdp: object, *, max_media: int) -> SdpSummary:
    """Refuse a browser's answer to a server offer of ``max_media`` media sections."""
    return _validate(sdp, max_media=max_media, require_bundle=False)


def _validate(sdp: object, *, max_media: int, require_bundle: bool) -> SdpSummary:
    if not isinstance(sdp, str):
        raise MediaError(BAD_SDP, f"SDP must be a string, got {type(sdp).__name__}")
    size = len(sdp) if len(sdp) > MAX_SDP_BYTES else len(sdp.encode("utf-8", "surrogatepass"))
    if size > MAX_SDP_BYTES:
        raise MediaError(SDP_TOO_LARGE, f"SDP is {size} bytes, at most {MAX_SDP_BYTES} allowed")
    if not sdp.strip():
        raise MediaError(BAD_SDP, "SDP is empty")
    bad = _CONTROL_CHAR.search(sdp)
    if bad:
        raise MediaError(
            BAD_SDP, f"SDP has control character U+{ord(bad.group()):04X} at offset {bad.start()}"
        )
    lines = sdp.splitlines()
    if lines[0].strip() != "v=0":
        raise MediaError(BAD_SDP, "SDP must start with 'v=0'")
    media_count = sum(1 for line in lines if line.startswith("m="))
    if media_count > max_media:
        raise MediaError(
            BAD_SDP, f"SDP has {media_count} media sections, at most {max_media} allowed"
        )
    candidate_count = sum(1 for line in lines if line.startswith("a=candidate:"))
    if candidate_count > MAX_CANDIDATES:
        raise MediaError(
            BAD_SDP, f"SDP has {candidate_count} candidates, at most {MAX_CANDIDATES} allowed"
        )

    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # noqa: BLE001 - aiortc's parser raises whatever it meets
        # The parser's message quotes SDP text (addresses), so only its type is kept.
        raise MediaError(BAD_SDP, f"SDP does not parse ({type(exc).__name__})") from None

    if not description.media:
        raise MediaError(BAD_SDP, "SDP has no media sections")
    mids: list[str] = []
    for index, media in enumerate(description.media):
        _check_media_section(index, media)
        mids.append(str(media.rtp.muxId))
    if len(set(mids)) != len(mids):
        raise MediaError(BAD_SDP, "SDP repeats a media id (a=mid)")
    if require_bundle:
        bundled = {
            str(item)
            for group in description.group
            if group.semantic == "BUNDLE"
            for item in group.items
        }
        if not set(mids) <= bundled:
            raise MediaError(BAD_SDP, "SDP must BUNDLE every media section on one transport")
    return SdpSummary(
        media_kinds=tuple(media.kind for media in description.media),
        candidates=sum(len(media.ice_candidates) for media in description.media),
    )


def _check_media_section(index: int, media: aiortc_sdp.MediaDescription) -> None:
    where = f"media section {index}"
    if media.kind not in MEDIA_KINDS:
        raise MediaError(
            BAD_SDP, f"{where} has kind {media.kind[:16]!r}, expected audio, video or application"
        )
    if not media.rtp.muxId:
        raise MediaError(BAD_SDP, f"{where} has no media id (a=mid)")
    # aiortc drops the DTLS parameters of a section without a=setup.
    if media.dtls is None:
        raise MediaError(BAD_SDP, f"{where} has no DTLS role (a=setup)")
    if not media.dtls.fingerprints:
        raise MediaError(BAD_SDP, f"{where} has no DTLS fingerprint (a=fingerprint)")
    if not any(f.algorithm.lower() in FINGERPRINT_ALGORITHMS for f in media.dtls.fingerprints):
        raise MediaError(
            BAD_SDP, f"{where} has no DTLS fingerprint with sha-256, sha-384 or sha-512"
        )
    if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
        raise MediaError(BAD_SDP, f"{where} has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
    if media.kind in ("audio", "video") and not media.rtcp_mux:
        raise MediaError(BAD_SDP, f"{where} does not multiplex RTCP (a=rtcp-mux)")

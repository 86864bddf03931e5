"""Keep a server re-offer in the browser's numbering: payload types and header extension ids.

aiortc 1.16.0 rebuilds every media section in ``createOffer`` from its own defaults (opus 96,
VP8 97, extmap 1 = sdes:mid ...; rtcpeerconnection.py ``createOffer``), whereas its first
answer used the numbers the browser offered. A browser rejects a re-offer that binds an
extension id to another URI ("RTP extension ID reassignment", aiortc issue #686; Chrome 148+
also remembers every id for the life of the connection), and a payload type that changes
meaning would make it send media the server's receivers (configured once, at their start)
no longer recognise. So the hub rewrites each re-offer to the numbering the browser chose in
its offer, allocating unused numbers only for codecs and extensions the browser never named.

aiortc reads the numbers back from the browser's answer (``find_common_codecs`` keeps
dynamic payload types of the remote side, header extensions keep remote ids), so its
senders use exactly what the rewritten offer announced.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from aiortc import RTCRtpCodecParameters
from aiortc import sdp as aiortc_sdp

# RFC 3551 dynamic range first, then the range browsers use once it is full (RFC 8108 allows
# 35-63 for RTP when RTCP-mux is used, which WebRTC requires).
_FREE_PAYLOAD_TYPES: tuple[int, ...] = (*range(96, 128), *range(35, 64))
# One-byte header extension ids (RFC 8285); aiortc writes only the one-byte form.
_FREE_EXTENSION_IDS: tuple[int, ...] = tuple(range(1, 15))


@dataclass
class RtpMapping:
    """Payload type per codec and id per header extension URI, as one browser numbered them."""

    payload_types: dict[Hashable, int] = field(default_factory=dict)
    extension_ids: dict[str, int] = field(default_factory=dict)


def rtp_mapping(offer_sdp: str) -> RtpMapping:
    """The browser's numbering, read from its (already validated) offer."""
    mapping = RtpMapping()
    for media in aiortc_sdp.SessionDescription.parse(offer_sdp).media:
        if media.kind not in ("audio", "video"):
            continue
        for key, pt, _ in _keyed_codecs(media.rtp.codecs):
            mapping.payload_types.setdefault(key, pt)
        for extension in media.rtp.headerExtensions:
            mapping.extension_ids.setdefault(extension.uri, extension.id)
    return mapping


def remap_offer(offer_sdp: str, mapping: RtpMapping) -> str:
    """``offer_sdp`` (aiortc's own re-offer) renumbered to ``mapping``.

    Numbers the browser never assigned are allocated once and remembered in ``mapping``, so
    successive re-offers of one connection stay consistent with each other too.
    """
    description = aiortc_sdp.SessionDescription.parse(offer_sdp)
    used_pts = set(mapping.payload_types.values())
    used_ids = set(mapping.extension_ids.values())
    for media in description.media:
        if media.kind not in ("audio", "video"):
            continue
        renumbered: dict[int, int] = {}
        for key, old_pt, _ in _keyed_codecs(media.rtp.codecs):
            new_pt = mapping.payload_types.get(key)
            if new_pt is None:
                # Static payload types (PCMU 0, PCMA 8, G722 9) keep their number.
                new_pt = old_pt if old_pt < 35 else _first_free(used_pts)
                mapping.payload_types[key] = new_pt
                used_pts.add(new_pt)
            renumbered[old_pt] = new_pt
        for _, old_pt, codec in _keyed_codecs(media.rtp.codecs):
            apt = codec.parameters.get("apt")
            if isinstance(apt, int) and apt in renumbered:
                codec.parameters["apt"] = renumbered[apt]
            codec.payloadType = renumbered[old_pt]
        media.fmt = [renumbered.get(pt, pt) for pt in media.fmt]

        kept = []
        for extension in media.rtp.headerExtensions:
            ext_id = mapping.extension_ids.get(extension.uri)
            if ext_id is None:
                free = [i for i in _FREE_EXTENSION_IDS if i not in used_ids]
                if not free:
                    continue
                ext_id = mapping.extension_ids[extension.uri] = free[0]
                used_ids.add(ext_id)
            extension.id = ext_id
            kept.append(extension)
        media.rtp.headerExtensions = kept
    return str(description)


def _first_free(used: set[int]) -> int:
    for pt in _FREE_PAYLOAD_TYPES:
        if pt not in used:
            return pt
    raise ValueError("no free RTP payload type left")


def _keyed_codecs(
    codecs: list[RTCRtpCodecParameters],
) -> list[tuple[Hashable, int, RTCRtpCodecParameters]]:
    """(key, payload type, codec): the key is equal for the same codec in two descriptions."""
    by_pt = {codec.payloadType: codec for codec in codecs}
    keyed: list[tuple[Hashable, int, RTCRtpCodecParameters]] = []
    for codec in codecs:
        if codec.payloadType is None:
            continue
        if codec.mimeType.lower().endswith("/rtx"):
            apt = codec.parameters.get("apt")
            base = by_pt.get(apt) if isinstance(apt, int) else None
            if base is None:
                continue
            keyed.append((("rtx", codec.clockRate, _base_key(base)), codec.payloadType, codec))
        else:
            keyed.append((_base_key(codec), codec.payloadType, codec))
    return keyed


def _base_key(codec: RTCRtpCodecParameters) -> Hashable:
    mime = codec.mimeType.lower()
    if mime == "video/h264":
        # H.264 variants differ by profile and packetization mode (RFC 6184 §8.1).
        return (
            mime,
            codec.clockRate,
            str(codec.parameters.get("profile-level-id", "")).lower(),
            str(codec.parameters.get("packetization-mode", "0")),
        )
    return (mime, codec.clockRate, codec.channels)

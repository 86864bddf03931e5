"""Simulcast: a publisher sends its video in up to three layers, each subscriber gets one.

A browser that is offered simulcast sends one RTP stream per layer, each with its own SSRC
and an RTP stream id (RID, RFC 8852) in a header extension; Hearth's page names them ``q``,
``h`` and ``f`` (a quarter, half and full resolution) and lists them lowest first in its
``a=simulcast:send`` line (RFC 8853), which is the order the relay ranks them by.

aiortc knows none of this (its SDP parser drops ``a=rid``/``a=simulcast``, its answer never
names the RID extensions), so Hearth handles it around aiortc, in three places:

- SDP (this module, pure text): ``offered`` reads which video sections of a browser's offer
  carry simulcast and the ids it gave the RID extensions; ``add_receive`` writes the
  matching ``a=extmap``, ``a=rid:… recv`` and ``a=simulcast:recv`` lines into the relay's
  answer and into every later server offer (aiortc never sees them, so it cannot drop them).
- Receiving (media/aiortc_hooks.py): the transport parses the RID extensions; an SSRC no
  ``a=ssrc`` line named is routed by its MID; each layer gets its own NACK bookkeeping, and a
  layer's RTX stream is paired with its media stream by the repaired-RID extension.
- Forwarding (media/forwarding.py): one ``_Source`` per published track holds its layers;
  each video subscription forwards one of them, rewritten into the subscriber's single SSRC.

The choice of layer per subscriber is the pure part below, tested with synthetic report
sequences (tests/unit/test_simulcast.py), in the manner of media/fallback.py:

- The tile size the page asks for caps the layer: the smallest layer at least that tall
  (heights are read from VP8 keyframe headers, no decoding), the top one when none is known.
- Bandwidth: each receiver report of that subscriber (loss, or the share of packets it
  NACKed, and its REMB) is good, bad or neither. After ``down_after_s`` of bad reports the
  subscriber goes one layer down. After ``up_after_s`` of good reports it tries one layer
  up; a fall within ``flap_window_s`` of a rise doubles the next wait (up to
  ``max_up_after_s``), so a link on the edge does not keep switching.
- The REMB is judged against the measured rate of the layer *below* the one sent, not
  against what is sent: a browser's estimate grows only to about 1.5x what it receives, by
  some 8 % a second, so for many seconds after a rise it is under the new layer's rate on a
  link that carries it well, yet at once above the layer it came from. An estimate under
  even the layer below is bad, and then the subscriber goes straight down to the highest
  layer whose rate the estimate covers. A link that cannot carry a layer shows it in loss.
  For the same reason a REMB does not have to reach the next layer's rate before a rise.
- On the lowest layer, bad reports are the fallback ladder's (media/fallback.py): video
  pauses, then audio goes alone.

The forwarder switches only on a keyframe of the layer it switches to (it asks for one by
PLI on that layer's SSRC) and continues the subscriber's sequence numbers and timestamps
across the switch, as when a sender is reused for another publisher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from media.fallback import Report

RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
MAX_LAYERS = 3
# RFC 8851 allows 255 characters of letters, digits, '-' and '_'; browsers use one or two.
_RID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


# -- SDP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offered:
    """One video section of a browser's offer that sends simulcast."""

    mid: str
    rids: tuple[str, ...]  # lowest layer first
    rid_id: int
    repaired_rid_id: int | None


def offered(sdp: str) -> dict[str, Offered]:
    """mid -> simulcast of each video section that sends it with the RID extension; a
    section with fewer than two usable layers is left out (it is an ordinary stream)."""
    found: dict[str, Offered] = {}
    for section in _sections(sdp):
        if not section or not section[0].startswith("m=video "):
            continue
        mid, rid_id, repaired_id, send = None, None, None, None
        rids: set[str] = set()
        for line in section:
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=extmap:"):
                ext_id, uri = _extmap(line)
                if uri == RID_URI:
                    rid_id = ext_id
                elif uri == REPAIRED_RID_URI:
                    repaired_id = ext_id
            elif line.startswith("a=rid:"):
                parts = line[6:].split()
                if len(parts) >= 2 and parts[1] == "send" and _RID.match(parts[0]):
                    rids.add(parts[0])
            elif line.startswith("a=simulcast:"):
                fields = line[12:].split()
                if len(fields) >= 2 and fields[0] == "send":
                    send = fields[1]
        if mid is None or rid_id is None or send is None:
            continue
        # "q;h;f", each maybe "~paused" or "a,b" alternatives: the first alternative counts.
        order = [item.split(",")[0].lstrip("~") for item in send.split(";")]
        layers = tuple(dict.fromkeys(r for r in order if r in rids))[:MAX_LAYERS]
        if len(layers) >= 2:
            found[mid] = Offered(mid, layers, rid_id, repaired_id)
    return found


def add_receive(sdp: str, simulcast: dict[str, Offered]) -> str:
    """``sdp`` (the relay's answer or offer) receiving simulcast in each section of
    ``simulcast``: the RID extensions with the browser's ids, ``a=rid:… recv`` per layer
    and ``a=simulcast:recv``."""
    if not simulcast:
        return sdp
    newline = "\r\n" if "\r\n" in sdp else "\n"
    out: list[str] = []
    for section in _sections(sdp):
        mid = next((line[6:].strip() for line in section if line.startswith("a=mid:")), None)
        found = simulcast.get(mid) if mid is not None else None
        if found is None or not section[0].startswith("m=video ") or " 0 " in section[0][7:10]:
            out.extend(section)
            continue
        extra = []
        uris = {_extmap(line)[1] for line in section if line.startswith("a=extmap:")}
        if RID_URI not in uris:
            extra.append(f"a=extmap:{found.rid_id} {RID_URI}")
        if found.repaired_rid_id is not None and REPAIRED_RID_URI not in uris:
            extra.append(f"a=extmap:{found.repaired_rid_id} {REPAIRED_RID_URI}")
        extra += [f"a=rid:{rid} recv" for rid in found.rids]
        extra.append("a=simulcast:recv " + ";".join(found.rids))
        out.extend(section + extra)
    return newline.join(out) + newline


def _sections(sdp: str) -> list[list[str]]:
    """The session part, then each media section, as lists of lines."""
    sections: list[list[str]] = [[]]
    for line in sdp.splitlines():
        if not line:
            continue
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    return sections


def _extmap(line: str) -> tuple[int | None, str]:
    parts = line[9:].split()
    if len(parts) < 2:
        return None, ""
    try:
        return int(parts[0].split("/")[0]), parts[1]
    except ValueError:
        return None, ""


# -- picture size ------------------------------------------------------------------------


def vp8_keyframe_size(payload: bytes) -> tuple[int, int] | None:
    """(width, height) from the first RTP payload of a VP8 keyframe (RFC 7741 descriptor,
    then the keyframe header of RFC 6386 §9.1), or None."""
    if not payload:
        return None
    index = 1
    first = payload[0]
    if first & 0x80:
        if len(payload) < 2:
            return None
        extension, index = payload[1], 2
        if extension & 0x80:
            if len(payload) <= index:
                return None
            index += 2 if payload[index] & 0x80 else 1
        if extension & 0x40:
            index += 1
        if extension & 0x30:
            index += 1
    header = payload[index : index + 10]
    if len(header) < 10 or header[0] & 0x01 or header[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(header[6:8], "little") & 0x3FFF
    height = int.from_bytes(header[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def size_cap(wanted_height: int | None, heights: tuple[int | None, ...]) -> int:
    """The highest layer a tile ``wanted_height`` pixels tall needs: the lowest layer at
    least that tall, else the top one (also when no height is known)."""
    top = len(heights) - 1
    if wanted_height is None:
        return top
    for index, height in enumerate(heights):
        if height is not None and height >= wanted_height:
            return index
    return top


def available(target: int, active: tuple[bool, ...]) -> int | None:
    """The layer to forward for ``target`` when only ``active`` layers arrive: the highest
    active one at or below it, else the lowest active one above it, else None."""
    for index in range(min(target, len(active) - 1), -1, -1):
        if active[index]:
            return index
    for index in range(target + 1, len(active)):
        if active[index]:
            return index
    return None


# -- bandwidth ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Thresholds and times (seconds) of the layer choice."""

    # A report is bad at this loss, or when the subscriber's REMB is under the measured rate
    # of the layer below the one it is sent (times ``remb_share``; 0 leaves REMB out); good
    # at or under ``good_loss`` and not bad.
    bad_loss: float = 0.10
    good_loss: float = 0.02
    remb_share: float = 1.0
    down_after_s: float = 1.0
    up_after_s: float = 6.0
    max_up_after_s: float = 48.0
    flap_window_s: float = 30.0


@dataclass(frozen=True)
class Choice:
    """One subscriber's layer as bandwidth allows (the size cap applies on top)."""

    layer: int
    bad_since: float | None = None
    good_since: float | None = None
    raised_at: float | None = None
    flaps: int = 0


def target(choice: Choice, cap: int) -> int:
    return min(choice.layer, cap)


def up_wait(choice: Choice, policy: Policy) -> float:
    wait: float = policy.up_after_s * 2.0 ** min(choice.flaps, 8)
    return min(policy.max_up_after_s, wait)


def on_report(
    choice: Choice,
    report: Report,
    rates_bps: tuple[float | None, ...],
    cap: int,
    policy: Policy,
) -> Choice:
    """The choice after one receiver report; ``rates_bps``: each layer's measured rate."""
    now = report.at
    current = min(choice.layer, cap)
    below = rates_bps[current - 1] if current > 0 else None
    remb_low = (
        report.remb_bps is not None
        and below is not None
        and report.remb_bps < below * policy.remb_share
    )
    bad = report.loss >= policy.bad_loss or remb_low
    good = not bad and report.loss <= policy.good_loss
    choice = replace(
        choice,
        bad_since=(choice.bad_since if choice.bad_since is not None else now) if bad else None,
        good_since=(choice.good_since if choice.good_since is not None else now) if good else None,
    )
    if bad and current > 0 and choice.bad_since is not None:
        if now - choice.bad_since < policy.down_after_s:
            return choice
        layer = current - 1
        if remb_low and report.remb_bps is not None:
            while layer > 0 and (rate := rates_bps[layer]) is not None and rate > report.remb_bps:
                layer -= 1
        recent = choice.raised_at is not None and now - choice.raised_at < policy.flap_window_s
        return replace(
            choice,
            layer=layer,
            bad_since=None,
            good_since=None,
            flaps=choice.flaps + 1 if recent else choice.flaps,
        )
    if (
        good
        and current < cap
        and choice.good_since is not None
        and now - choice.good_since >= up_wait(choice, policy)
    ):
        return replace(choice, layer=current + 1, good_since=None, raised_at=now)
    return choice


def can_step_down(choice: Choice, cap: int) -> bool:
    """A layer below is left: bad reports are this choice's, not yet the fallback ladder's."""
    return min(choice.layer, cap) > 0

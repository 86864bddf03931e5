"""What happened to one participant's media, as plain counts (MediaHub.counters)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    """Frames forwarded to and from one participant; data-channel messages; renegotiations;
    keyframe requests; and every datagram or packet of theirs that was dropped, by reason.

    A *frame* is a decoded frame with the transcoding relay and an RTP frame (the packet
    with the marker bit for video, each packet for audio) with the forwarding relay.
    """

    video_frames_to: int = 0
    audio_frames_to: int = 0
    video_frames_from: int = 0
    audio_frames_from: int = 0
    video_frames_received: int = 0
    audio_frames_received: int = 0
    data_messages_in: int = 0
    data_messages_out: int = 0
    renegotiations: int = 0
    # PLI/FIR this participant sent about media forwarded to it, and PLIs sent to it.
    keyframe_requests_from: int = 0
    keyframe_requests_to: int = 0
    # Dropped on arrival from this participant's address (docs: bench/README.md, Relay).
    srtp_rejected: int = 0
    rtp_malformed: int = 0
    rtcp_malformed: int = 0
    rtp_unrouted: int = 0
    rtp_dropped: int = 0
    datagrams_ignored: int = 0
    # Packets for this participant that could not be sent (transport closed, no codec).
    send_failures: int = 0

    def absorb(self, other: Counters) -> None:
        """Add ``other``'s counts to these (a hub's totals over every peer it has had)."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def count(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)

    def count_forwarded(self, publisher: Counters, kind: str) -> None:
        if kind == "video":
            self.video_frames_to += 1
            publisher.video_frames_from += 1
        else:
            self.audio_frames_to += 1
            publisher.audio_frames_from += 1

    def count_received(self, kind: str) -> None:
        if kind == "video":
            self.video_frames_received += 1
        else:
            self.audio_frames_received += 1

    def as_dict(self) -> dict[str, int]:
        values = asdict(self)
        values["frames_to"] = self.video_frames_to + self.audio_frames_to
        values["frames_from"] = self.video_frames_from + self.audio_frames_from
        return values

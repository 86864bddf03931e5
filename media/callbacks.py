"""What the hub reports to its caller (server/ wires these to Socket.IO and the database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# (room_id, participant_id, step): "full" | "video_paused" | "audio_lost" (media/fallback.py).
StepHandler = Callable[[str, str, str], Awaitable[None]]


@dataclass(frozen=True)
class MediaCallbacks:
    # (room_id, participant_id, offer_sdp): send the server's offer to that browser, which
    # answers through MediaHub.handle_answer (from inside this callback or later).
    renegotiate: Callable[[str, str, str], Awaitable[None]]
    # (room_id, participant_id, state): "connecting" | "connected" | "failed" | "closed".
    peer_state: Callable[[str, str, str], Awaitable[None]]
    # (room_id, participant_id, label, message): a text message on a data channel the client
    # opened; a returned string is sent back on that channel. Exceptions are logged.
    data_message: Callable[[str, str, str, str], Awaitable[str | None]]
    # A subscriber moved on the fallback ladder (its link could or could not carry video, or
    # even audio); optional, so callers that predate it keep working.
    media_step: StepHandler | None = None

"""Every Socket.IO event name, once. ``web/static/js/lib/events.js`` mirrors this list and
``tests/unit/test_events_mirror.py`` keeps the two equal."""

from __future__ import annotations

NAMESPACE = "/visit"

# Client → server (each answers through its acknowledgement).
JOIN = "join"
ADMIT = "admit"
DENY = "deny"
TO_LOBBY = "to_lobby"
LOBBY_MESSAGE = "lobby_message"
OFFER = "offer"
ANSWER = "answer"
LEAVE = "leave"
END_VISIT = "end_visit"
QUALITY = "quality"

# Server → client.
LOBBY = "lobby"
PARTICIPANTS = "participants"
RENEGOTIATE = "renegotiate"
ADMITTED = "admitted"
DENIED = "denied"
SENT_TO_LOBBY = "sent_to_lobby"
LOBBY_STATUS = "lobby_status"
VISIT_ENDED = "visit_ended"
REPLACED = "replaced"
READING = "reading"
STEP = "step"
ALERT = "alert"
# A mock crisis drill: a prompt for the family, a scripted diary entry, a recorded step.
DRILL = "drill"
# The server closed this participant's media connection (its media process stopped, or the
# browser did not answer an offer in time): offer a new one.
MEDIA_LOST = "media_lost"
# A message in a family's thread with the care team (issue 18), to the team's consoles.
FAMILY_MESSAGE = "family_message"
# A recording of the call started or stopped: {"active", "reason"?}; every page shows a banner
# while one runs.
RECORDING = "recording"
# A participant moved on the relay's fallback ladder (media/fallback.py): {"participant_id",
# "step": "full" | "video_paused" | "audio_lost"}; every page says so in words.
MEDIA_STEP = "media_step"

CLIENT_EVENTS = (
    JOIN,
    ADMIT,
    DENY,
    TO_LOBBY,
    LOBBY_MESSAGE,
    OFFER,
    ANSWER,
    LEAVE,
    END_VISIT,
    QUALITY,
)
SERVER_EVENTS = (
    LOBBY,
    PARTICIPANTS,
    RENEGOTIATE,
    ADMITTED,
    DENIED,
    SENT_TO_LOBBY,
    LOBBY_STATUS,
    VISIT_ENDED,
    REPLACED,
    READING,
    STEP,
    ALERT,
    DRILL,
    MEDIA_LOST,
    RECORDING,
    FAMILY_MESSAGE,
    MEDIA_STEP,
)

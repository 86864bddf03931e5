// Socket.IO event names. Mirrors signaling/events.py; tests/unit/test_events_mirror.py
// keeps the two lists equal.
export const NAMESPACE = "/visit";

export const JOIN = "join";
export const ADMIT = "admit";
export const DENY = "deny";
export const TO_LOBBY = "to_lobby";
export const LOBBY_MESSAGE = "lobby_message";
export const OFFER = "offer";
export const ANSWER = "answer";
export const LEAVE = "leave";
export const END_VISIT = "end_visit";
export const QUALITY = "quality";

export const LOBBY = "lobby";
export const PARTICIPANTS = "participants";
export const RENEGOTIATE = "renegotiate";
export const ADMITTED = "admitted";
export const DENIED = "denied";
export const SENT_TO_LOBBY = "sent_to_lobby";
export const LOBBY_STATUS = "lobby_status";
export const VISIT_ENDED = "visit_ended";
export const REPLACED = "replaced";
export const READING = "reading";
export const STEP = "step";
export const ALERT = "alert";
export const DRILL = "drill";
export const MEDIA_LOST = "media_lost";
export const FAMILY_MESSAGE = "family_message";
export const RECORDING = "recording";
export const MEDIA_STEP = "media_step";

export const CLIENT_EVENTS = [JOIN, ADMIT, DENY, TO_LOBBY, LOBBY_MESSAGE, OFFER, ANSWER, LEAVE, END_VISIT, QUALITY];
export const SERVER_EVENTS = [LOBBY, PARTICIPANTS, RENEGOTIATE, ADMITTED, DENIED, SENT_TO_LOBBY,
  LOBBY_STATUS, VISIT_ENDED, REPLACED, READING, STEP, ALERT, DRILL, MEDIA_LOST,
  RECORDING, FAMILY_MESSAGE, MEDIA_STEP];

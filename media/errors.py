"""The one error type media/ raises to its callers, with a stable machine-readable code."""

from __future__ import annotations

# Codes are part of the interface: signalling maps them to Socket.IO error payloads.
BAD_SDP = "bad_sdp"
SDP_TOO_LARGE = "sdp_too_large"
NO_SUCH_PEER = "no_such_peer"
WRONG_STATE = "wrong_state"
PEER_CLOSED = "peer_closed"
HUB_CLOSED = "hub_closed"
BAD_ICE_SERVERS = "bad_ice_servers"


class MediaError(Exception):
    """A media operation was refused; ``code`` says why, ``detail`` names the offending value.

    Details never hold SDP text or anything a participant typed: only sizes, counts and ids.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

"""WebRTC media with aiortc: one peer connection per participant and the relay between them.

Knows nothing of the database or of who a person is beyond an id; reports what happens
through callbacks that ``server`` supplies.
"""

from media.callbacks import MediaCallbacks
from media.errors import MediaError
from media.forwarding import ForwardingRelay
from media.hub import MediaHub
from media.relay import Relay, TranscodingRelay
from media.workers import WorkerPool

__all__ = [
    "ForwardingRelay",
    "MediaCallbacks",
    "MediaError",
    "MediaHub",
    "Relay",
    "TranscodingRelay",
    "WorkerPool",
]

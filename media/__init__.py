"""WebRTC media with aiortc: one peer connection per participant and the forwarding relay.

Knows nothing of the database or of who a person is beyond an id; reports what happens
through callbacks that ``server`` supplies.
"""

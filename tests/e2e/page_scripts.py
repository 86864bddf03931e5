"""Init scripts the browser tests give a page before its own scripts run."""

from __future__ import annotations

# Every RTCPeerConnection the page makes, in ``window.__peers``, for its statistics.
KEEP_PEERS = """(() => {
  const Original = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__peers.push(this); }
  };
})()"""


def canvas_camera(painter: str) -> str:
    """The page's camera becomes a 960x540 canvas at 15 frames a second (the fake
    microphone stays): the smallest picture for which Chrome sends three simulcast layers.
    ``painter`` is a JavaScript function of ``(context, width, height)`` that returns the
    function drawing frame ``n``."""
    return (
        """(() => {
  const painter = """
        + painter
        + """;
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    if (!constraints || !constraints.video) return stream;
    const width = 960, height = 540;
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const paint = painter(canvas.getContext("2d"), width, height);
    let n = 0;
    setInterval(() => {
      n += 1;
      paint(n);
    }, 66);
    for (const track of stream.getVideoTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    stream.addTrack(canvas.captureStream(15).getVideoTracks()[0]);
    return stream;
  };
})()"""
    )

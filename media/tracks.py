"""The outgoing track of one server-created transceiver, whose source can change.

aiortc 1.16.0 has no removeTrack, and an RTCRtpSender's loop ends for good as soon as its
track's ``recv()`` raises (rtcrtpsender.py ``_run_rtp``). A ``SlotTrack`` is therefore the
sender's permanent track: the hub attaches a relay subscription to it, detaches it when the
publisher leaves (``recv()`` then waits instead of ending) and attaches another publisher's
subscription later, reusing the transceiver and its encoder.

The sender's encoder outlives a change of source, and libvpx refuses a frame whose pts is
not after the previous one ("Invalid data found when processing input"), which ends the
sender for good. So after a change the slot continues the old timeline: frames of a later
source are shifted to follow the last frame sent. The relay hands one frame object to every
subscriber, so a shifted frame is a copy (about 0.3 ms for 640x480), never the shared one.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, convert_timebase
from av import AudioFrame, VideoFrame
from av.video.frame import PictureType

# Where a new source's first frame lands after the last one sent: one frame at 30 fps in
# aiortc's 90 kHz video clock; audio frames advance by their own sample count.
VIDEO_STEP_90KHZ = 3000


class SlotTrack(MediaStreamTrack):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._source: MediaStreamTrack | None = None
        self._on_frame: Callable[[Any], None] | None = None
        self._changed = asyncio.Event()
        self._change_waiter: asyncio.Future[Any] | None = None
        # Output timeline: last pts sent and its time base; shift applied to the source.
        self._last_pts: int | None = None
        self._last_time_base: Any = None
        self._shift = 0
        self._rebase = False
        self._keyframe = False

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def attach(self, source: MediaStreamTrack, on_frame: Callable[[Any], None]) -> None:
        """Forward ``source`` from the next frame on; ``on_frame`` counts what is forwarded."""
        self._source = source
        self._on_frame = on_frame
        self._rebase = self._last_pts is not None
        self._changed.set()

    def detach(self) -> MediaStreamTrack | None:
        """Stop forwarding at once; a pending ``recv()`` is interrupted, not ended."""
        source, self._source, self._on_frame = self._source, None, None
        self._changed.set()
        return source

    def request_keyframe(self) -> None:
        """Make the next video frame a keyframe, if this slot sent frames before.

        A browser re-enabling a reused transceiver holds no reference for the encoder's
        next delta frame; it would ask with a PLI, this saves the round trip.
        """
        self._keyframe = self._last_pts is not None and self.kind == "video"

    def stop(self) -> None:
        self.detach()
        if self._change_waiter is not None:
            self._change_waiter.cancel()
            self._change_waiter = None
        super().stop()

    async def recv(self) -> Any:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            # Clear before reading the source: a change after this line wakes the wait below.
            self._changed.clear()
            source = self._source
            if source is None:
                await self._changed.wait()
                continue
            frame = await self._pull(source)
            if frame is None or self._source is not source:
                continue
            frame = self._continue_timeline(frame)
            if self._on_frame is not None:
                self._on_frame(frame)
            return frame

    def _continue_timeline(self, frame: Any) -> Any:
        pts, time_base = getattr(frame, "pts", None), getattr(frame, "time_base", None)
        if pts is None or time_base is None:
            return frame
        if self._rebase and self._last_pts is not None:
            last = convert_timebase(self._last_pts, self._last_time_base, time_base)
            step = (
                frame.samples
                if isinstance(frame, AudioFrame)
                else convert_timebase(VIDEO_STEP_90KHZ, fractions.Fraction(1, 90_000), time_base)
            )
            self._shift = last + step - pts
            self._rebase = False
        if self._shift or self._keyframe:
            frame = _restamped(frame, pts + self._shift)
            if self._keyframe and isinstance(frame, VideoFrame):
                frame.pict_type = PictureType.I  # as aiortc's own encoder forces one
                self._keyframe = False
        self._last_pts, self._last_time_base = frame.pts, frame.time_base
        return frame

    async def _pull(self, source: MediaStreamTrack) -> Any:
        """The next frame of ``source``, or None when it was detached or ended meanwhile."""
        # The change waiter outlives single frames: one task per frame, not two.
        if self._change_waiter is None or self._change_waiter.done():
            self._change_waiter = asyncio.ensure_future(self._changed.wait())
        pull = asyncio.ensure_future(source.recv())
        try:
            await asyncio.wait({pull, self._change_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pull.done():
                pull.cancel()
        if not pull.done() or pull.cancelled():
            return None
        if pull.exception() is not None:
            # The publisher's track ended (it left or was replaced): wait for a new source.
            if self._source is source:
                self.detach()
            return None
        return pull.result()


def _restamped(frame: Any, pts: int) -> Any:
    """A copy of ``frame`` at ``pts``; other subscribers keep the original."""
    copy: VideoFrame | AudioFrame
    if isinstance(frame, VideoFrame):
        copy = VideoFrame.from_ndarray(frame.to_ndarray(), format=frame.format.name)
    elif isinstance(frame, AudioFrame):
        audio = AudioFrame.from_ndarray(
            frame.to_ndarray(), format=frame.format.name, layout=frame.layout.name
        )
        audio.sample_rate = frame.sample_rate
        copy = audio
    else:
        # An encoded packet (a forwarding relay): its relay owns the timeline.
        return frame
    copy.pts = pts
    copy.time_base = frame.time_base
    return copy

"""Test clients for live visits: a Socket.IO client with a person's cookie, and an aiortc
peer that publishes synthetic audio and video and answers the server's renegotiations."""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from collections import defaultdict
from typing import Any

import numpy as np
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av import VideoFrame

from tests.builders import Agent

TIMEOUT_S = 20.0
FPS = 15


class ColourTrack(MediaStreamTrack):
    """A solid colour, so the far end can tell whose picture it received. Small (160x120) and
    at 15 fps: every peer encodes its own picture and decodes everyone else's in software for
    as long as a test runs, and at 640x480 and 30 fps that made a long call test cost more CPU
    than the rest of its file."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__()
        self._image = np.zeros((120, 160, 3), dtype=np.uint8)
        self._image[:, :] = rgb
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._count += 1
            await asyncio.sleep(max(0.0, self._start + self._count / FPS - time.monotonic()))
        frame = VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = self._count * (90_000 // FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        return frame


def _centre_colour(frame: Any) -> tuple[int, int, int]:
    image = frame.to_ndarray(format="rgb24")
    h, w = image.shape[:2]
    r, g, b = image[h // 2 - 8 : h // 2 + 8, w // 2 - 8 : w // 2 + 8].reshape(-1, 3).mean(axis=0)
    return int(r), int(g), int(b)


class VisitClient:
    """One person in a visit: their socket, their peer connection, what they received."""

    def __init__(self, agent: Agent, origin: str = "http://hearth.test") -> None:
        self.agent = agent
        self.origin = origin
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.pc: RTCPeerConnection | None = None
        self.remote_frames: dict[str, int] = defaultdict(int)  # stream id -> decoded frames
        self.remote_kinds: dict[str, set[str]] = defaultdict(set)
        self.last_colour: dict[str, tuple[int, int, int]] = {}
        self._readers: list[asyncio.Task[None]] = []
        self.participant_id: str | None = None
        self.sources: dict[str, str] = {}  # mid -> publisher participant id
        self.channel: Any = None
        self.channel_open = asyncio.Event()
        self.replies: list[dict[str, Any]] = []
        for name in (
            "lobby",
            "participants",
            "admitted",
            "denied",
            "sent_to_lobby",
            "lobby_status",
            "visit_ended",
            "replaced",
            "reading",
            "alert",
            "step",
            "drill",
            "media_lost",
        ):
            self.sio.on(name, self._recorder(name), namespace="/visit")
        self.sio.on("renegotiate", self._on_renegotiate, namespace="/visit")

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.events[name].append(data)

        return record

    async def connect(self, *, origin: str | None = None, cookie: bool = True) -> None:
        cookies = "; ".join(f"{c.key}={c.value}" for c in self.agent.http.cookie_jar)
        headers = {"Origin": origin or self.origin}
        if cookie and cookies:
            headers["Cookie"] = cookies
        await self.sio.connect(
            self.agent.url("/"),
            headers=headers,
            namespaces=["/visit"],
            transports=["websocket"],
            socketio_path="socket.io",
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace="/visit", timeout=TIMEOUT_S)

    async def join(self, encounter_id: int) -> dict[str, Any]:
        reply = await self.call("join", {"encounter_id": encounter_id})
        self.participant_id = reply.get("participant_id")
        return reply

    async def publish(
        self, rgb: tuple[int, int, int] = (255, 0, 255), *, media: bool = True
    ) -> dict[str, Any]:
        """Open a fresh peer connection publishing audio and video; returns the ack.

        ``media=False`` opens the readings channel alone, as a family member whose camera and
        microphone are off does: for tests about what travels beside the call, where encoding
        and decoding pictures for the whole test would only spend the shared cores."""
        await self.close_peer()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        if media:
            pc.addTrack(AudioStreamTrack())
            pc.addTrack(ColourTrack(rgb))
        channel = pc.createDataChannel("readings")
        self.channel = channel
        self.channel_open = asyncio.Event()
        channel.on("open", self.channel_open.set)
        channel.on("message", self._on_channel_message)
        pc.on("track", self._on_track)
        await pc.setLocalDescription(await pc.createOffer())
        reply = await self.call("offer", {"sdp": pc.localDescription.sdp, "type": "offer"})
        if "sdp" in reply:
            self.sources = reply.get("sources", {})
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], reply["type"]))
        return reply

    def _on_channel_message(self, message: str) -> None:
        self.replies.append(json.loads(message))

    async def send_reading(self, message: Any) -> dict[str, Any]:
        """Send one message on the readings channel; the server's ack or nack for it."""
        await asyncio.wait_for(self.channel_open.wait(), TIMEOUT_S)
        before = len(self.replies)
        self.channel.send(message if isinstance(message, str) else json.dumps(message))
        await self.wait_for(lambda: len(self.replies) > before)
        return self.replies[before]

    def _on_track(self, track: Any) -> None:
        self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            owner = self._owner_of(track)
            self.remote_kinds[owner].add(track.kind)
            if track.kind == "video" and getattr(frame, "width", 0) > 0:
                self.remote_frames[owner] += 1
                self.last_colour[owner] = _centre_colour(frame)

    def _owner_of(self, track: Any) -> str:
        if self.pc is None:
            return "?"
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                return self.sources.get(transceiver.mid or "", "?")
        return "?"

    async def _on_renegotiate(self, offer: dict[str, Any]) -> None:
        pc = self.pc
        if pc is None:
            return
        self.sources = offer.get("sources", {})
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.call("answer", {"sdp": pc.localDescription.sdp, "type": "answer"})

    def frames_from(self, owner: str | None) -> int:
        return self.remote_frames.get(owner or "", 0)

    async def wait_for(self, predicate: Any, within: float = TIMEOUT_S) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.05)

    async def close_peer(self) -> None:
        for task in self._readers:
            task.cancel()
        self._readers.clear()
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

    async def close(self) -> None:
        await self.close_peer()
        if self.sio.connected:
            await self.sio.disconnect()

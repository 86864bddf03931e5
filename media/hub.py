"""MediaHub: one peer connection per participant, relaying media among everyone in a room.

The caller admits participants (the lobby lives in signalling) before it hands their offers
here, so the hub relays among every peer it holds in a room. It reports through
``MediaCallbacks`` and never learns who a participant is beyond an id.

Negotiation: the browser offers once per page load (any offer replaces that participant's
peer connection). Everything after that is server-initiated: when a participant connects or
leaves, every other connected participant gets a new offer through
``callbacks.renegotiate`` and answers through ``handle_answer``. A newcomer's own first
server offer waits until its connection is up, which proves the browser applied the answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from media.callbacks import MediaCallbacks
from media.counters import Counters
from media.errors import BAD_SDP, HUB_CLOSED, NO_SUCH_PEER, PEER_CLOSED, WRONG_STATE, MediaError
from media.forwarding import ForwardingRelay
from media.ice import ice_configuration
from media.peer import Peer, Publication
from media.recording import RoomRecording
from media.relay import Relay
from media.sdp import validate_answer, validate_offer

logger = logging.getLogger(__name__)

# A browser answers a renegotiation within a second; past this the peer is failed and
# closed, because aiortc cannot roll an offer back and the peer could never renegotiate again.
ANSWER_TIMEOUT_S = 15.0
# A snapshot waits this long for the next decoded frame (a camera sends 15-30 per second).
SNAPSHOT_TIMEOUT_S = 2.0


@dataclass
class _Room:
    room_id: str
    relay: Relay
    peers: dict[str, Peer] = field(default_factory=dict)
    # Peers being closed whose "closed" report is still due (close_room owes it if it
    # cancels the task that was going to send it).
    leaving: set[Peer] = field(default_factory=set)
    recording: RoomRecording | None = None


class MediaHub:
    def __init__(
        self,
        *,
        ice_servers: list[dict[str, Any]],
        callbacks: MediaCallbacks,
        relay_factory: Callable[[], Relay] = ForwardingRelay,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> None:
        ice_configuration(ice_servers)  # refuse a bad list now, not at the first call
        self._ice_servers = [dict(server) for server in ice_servers]
        self._callbacks = callbacks
        # Makes each new room's relay; a room keeps the relay it was made with.
        self.relay_factory = relay_factory
        self._answer_timeout_s = answer_timeout_s
        self._rooms: dict[str, _Room] = {}
        # Counts of every peer connection closed so far; with the live ones: totals().
        self._retired = Counters()
        # Background work (state reports, renegotiations) by room, cancelled on close_room.
        self._tasks: dict[asyncio.Task[None], str] = {}
        # Parts of recordings that ended with their room, until stop_recording asks.
        self._ended_recordings: dict[str, list[dict[str, Any]]] = {}
        self._closed = False

    # -- offers and answers ------------------------------------------------------------

    async def handle_offer(self, room_id: str, participant_id: str, sdp: str) -> str:
        """Answer a browser's offer with a new peer connection (replacing any older one)."""
        if self._closed:
            raise MediaError(HUB_CLOSED, "the media hub is shut down")
        summary = validate_offer(sdp)
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(room_id, self.relay_factory())
            if isinstance(room.relay, ForwardingRelay):
                room.relay.on_step = lambda counters, step, r=room: self._on_step(r, counters, step)
        peer = Peer(
            participant_id,
            ice_configuration(self._ice_servers),
            room.relay,
            on_data=lambda label, message: self._callbacks.data_message(
                room_id, participant_id, label, message
            ),
        )
        self._watch(room, peer)
        # Registered before the first await: a concurrent remove() or newer offer finds it.
        old = room.peers.get(participant_id)
        room.peers[participant_id] = peer
        logger.info(
            "room %s: participant %s offers %s%s",
            room_id,
            participant_id,
            "+".join(summary.media_kinds),
            " (replacing its peer connection)" if old is not None else "",
        )
        if old is not None:
            await self._drop(room, old)
        try:
            answer = await peer.accept_offer(sdp)
        except Exception as exc:
            superseded = peer.closed
            await self._drop(room, peer)
            if superseded:
                raise MediaError(
                    PEER_CLOSED, f"participant {participant_id} left or re-offered"
                ) from None
            logger.info(
                "room %s: participant %s offer refused by aiortc",
                room_id,
                participant_id,
                exc_info=True,
            )
            raise MediaError(BAD_SDP, f"offer refused ({type(exc).__name__})") from None
        if peer.closed:
            raise MediaError(PEER_CLOSED, f"participant {participant_id} left or re-offered")
        return answer

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        """Apply a browser's answer to the server's latest offer for it."""
        room, peer = self._find(room_id, participant_id)
        if room is None or peer is None:
            raise MediaError(
                NO_SUCH_PEER,
                f"no peer connection for participant {participant_id} in room {room_id}",
            )
        async with peer.lock:
            if peer.closed:
                raise MediaError(
                    NO_SUCH_PEER, f"participant {participant_id}'s peer connection is closed"
                )
            if not peer.negotiating:
                raise MediaError(
                    WRONG_STATE,
                    f"no server offer is waiting for participant {participant_id}'s answer",
                )
            validate_answer(sdp, max_media=peer.offered_media)
            try:
                await peer.accept_answer(sdp)
                refused: Exception | None = None
            except Exception as exc:
                refused = exc
            again, peer.dirty = peer.dirty, False
        if refused is not None:
            # aiortc may have applied part of it; a peer in an unknown state is not kept.
            logger.info(
                "room %s: participant %s answer refused", room_id, participant_id, exc_info=refused
            )
            await self._fail(room, peer)
            raise MediaError(BAD_SDP, f"answer refused ({type(refused).__name__})")
        if again:
            self._spawn(room_id, self._sync(room, peer))

    # -- leaving -----------------------------------------------------------------------

    async def remove(self, room_id: str, participant_id: str) -> None:
        """Close that participant's peer connection; the others stop receiving it."""
        room, peer = self._find(room_id, participant_id)
        if room is None or peer is None:
            return
        await self._drop(room, peer, report=True)

    async def close_room(self, room_id: str) -> None:
        """End a visit: close every peer connection of the room and its background work."""
        await self._close_room(room_id, report=True)

    async def close(self) -> None:
        """Server shutdown: close everything, report nothing."""
        self._closed = True
        for room_id in list(self._rooms):
            await self._close_room(room_id, report=False)
        await self._cancel_tasks(list(self._tasks))

    # -- recording ---------------------------------------------------------------------

    async def start_recording(self, room_id: str, directory: str, name: str, key: bytes) -> None:
        """Record every connected participant of the room, and everyone who connects until
        ``stop_recording``, into sealed files ``{directory}/{name}-{n}.webm.sealed``
        (media/recording.py)."""
        room = self._rooms.get(room_id)
        if room is None or not any(p.connected and not p.closed for p in room.peers.values()):
            raise MediaError(NO_SUCH_PEER, f"nobody is connected in room {room_id}")
        if room.recording is not None:
            raise MediaError(WRONG_STATE, f"room {room_id} is already recording")
        if not isinstance(room.relay, ForwardingRelay):
            raise MediaError(WRONG_STATE, "only the forwarding relay records")
        self._ended_recordings.pop(room_id, None)
        room.recording = RoomRecording(Path(directory), name, key)
        for peer in list(room.peers.values()):
            self._record_peer(room, peer)
        logger.info("room %s: recording started", room_id)

    async def stop_recording(self, room_id: str) -> list[dict[str, Any]] | None:
        """Finish the room's recording; the parts written (one per participant connection),
        or None when the room was not recording. A recording that ended with its room is
        answered here once."""
        room = self._rooms.get(room_id)
        if room is None or room.recording is None:
            return self._ended_recordings.pop(room_id, None)
        recording, room.recording = room.recording, None
        parts = self._finish_recording(room, recording)
        logger.info("room %s: recording stopped, %d parts", room_id, len(parts))
        return parts

    def is_recording(self, room_id: str) -> bool:
        room = self._rooms.get(room_id)
        return room is not None and room.recording is not None

    def _record_peer(self, room: _Room, peer: Peer) -> None:
        recording = room.recording
        if (
            recording is None
            or recording.has(peer)
            or not peer.connected
            or peer.closed
            or not peer.published
            or not isinstance(room.relay, ForwardingRelay)
        ):
            return
        part = recording.part(peer, peer.participant_id)
        for track in peer.published:
            room.relay.record(track, part)

    def _end_recorded_peer(self, room: _Room, peer: Peer) -> None:
        recording = room.recording
        if recording is None or not recording.has(peer):
            return
        part = recording.end_part(peer)
        if part is not None and isinstance(room.relay, ForwardingRelay):
            room.relay.unrecord(part)

    def _finish_recording(self, room: _Room, recording: RoomRecording) -> list[dict[str, Any]]:
        if isinstance(room.relay, ForwardingRelay):
            for part in recording.parts():
                room.relay.unrecord(part)
        return recording.stop()

    # -- inspection --------------------------------------------------------------------

    def participants(self, room_id: str) -> list[str]:
        """Participants of the room with a live (connecting or connected) peer connection."""
        room = self._rooms.get(room_id)
        return [pid for pid, peer in room.peers.items() if not peer.closed] if room else []

    def tracks_of(self, room_id: str, participant_id: str) -> list[str]:
        _, peer = self._find(room_id, participant_id)
        if peer is None:
            return []
        return [track.kind for track in peer.published if track.readyState == "live"]

    def counters(self, room_id: str, participant_id: str) -> dict[str, int]:
        """Frames forwarded to (``*_to``) and from (``*_from``) the participant's current peer
        connection, frames received from it, data messages, renegotiations, keyframe requests
        and what was dropped from it by reason (media.counters); all 0 for a participant
        without one (in the lobby, say)."""
        _, peer = self._find(room_id, participant_id)
        return (peer.counters if peer is not None else Counters()).as_dict()

    def totals(self) -> dict[str, int]:
        """Every count of every peer connection since start (the live ones and those closed):
        only ever grows, so it can be exported as counters (server/app/metrics.py)."""
        total = Counters()
        total.absorb(self._retired)
        for room in self._rooms.values():
            for peer in room.peers.values():
                total.absorb(peer.counters)
        return total.as_dict()

    def sources(self, room_id: str, participant_id: str) -> dict[str, tuple[str, str]]:
        """mid -> (publisher participant id, kind) of the media sent to this participant, so the
        page can label each remote track; valid from the offer that introduced the mid."""
        _, peer = self._find(room_id, participant_id)
        return peer.sources() if peer is not None else {}

    def received_layers(self, room_id: str, participant_id: str) -> list[str]:
        """The simulcast layers (RIDs) of the participant's video whose frames reach the
        relay now, lowest first; empty without simulcast."""
        room, peer = self._find(room_id, participant_id)
        if room is None or peer is None or not isinstance(room.relay, ForwardingRelay):
            return []
        video = [t for t in peer.published if t.kind == "video"]
        return room.relay.arriving_layers(video[0]) if video else []

    def layers(self, room_id: str, participant_id: str) -> dict[str, str]:
        """publisher participant id -> the simulcast layer (RID) this participant is sent of
        that publisher's video (media/simulcast.py); publishers without simulcast are left out."""
        _, peer = self._find(room_id, participant_id)
        if peer is None:
            return {}
        sources = peer.sources()
        return {sources[mid][0]: rid for mid, rid in peer.layers().items() if mid in sources}

    async def snapshot(
        self, room_id: str, participant_id: str, *, timeout_s: float = SNAPSHOT_TIMEOUT_S
    ) -> numpy.ndarray | None:
        """A decoded picture of the participant's video as a BGR ``uint8`` array (OpenCV's
        layout), decoded in the default executor (the forwarding relay decodes one sampled
        keyframe); None without video or within the timeout."""
        _, peer = self._find(room_id, participant_id)
        return await peer.snapshot(timeout_s) if peer is not None else None

    # -- internals ---------------------------------------------------------------------

    def _on_step(self, room: _Room, counters: Counters, step: str) -> None:
        """A subscriber moved on the fallback ladder (media/fallback.py): tell the caller."""
        report = self._callbacks.media_step
        peer = next((p for p in room.peers.values() if p.counters is counters), None)
        if report is None or peer is None:
            return
        logger.info("room %s: participant %s is at %s", room.room_id, peer.participant_id, step)

        async def send() -> None:
            try:
                await report(room.room_id, peer.participant_id, step)
            except Exception:
                logger.exception("room %s: media_step callback failed", room.room_id)

        self._spawn(room.room_id, send())

    def _find(self, room_id: str, participant_id: str) -> tuple[_Room | None, Peer | None]:
        room = self._rooms.get(room_id)
        peer = room.peers.get(participant_id) if room is not None else None
        return room, peer

    def _watch(self, room: _Room, peer: Peer) -> None:
        def on_state() -> None:
            self._spawn(room.room_id, self._on_state(room, peer, peer.pc.connectionState))

        peer.pc.on("connectionstatechange", on_state)

    async def _on_state(self, room: _Room, peer: Peer, state: str) -> None:
        if state in ("connecting", "connected"):
            async with peer.events:
                if peer.closed:
                    return
                if state == "connected":
                    peer.connected = True
                    logger.info(
                        "room %s: participant %s connected", room.room_id, peer.participant_id
                    )
                await self._notify(room.room_id, peer.participant_id, state)
                if state == "connected":
                    self._record_peer(room, peer)
            if state == "connected":
                for other in list(room.peers.values()):
                    self._spawn(room.room_id, self._sync(room, other))
        elif state == "failed":
            await self._fail(room, peer)
        elif state == "closed" and not peer.closed:
            # The browser closed the connection (DTLS close_notify) and aiortc closed itself.
            await self._drop(room, peer, report=True)

    async def _sync(self, room: _Room, peer: Peer) -> None:
        """Bring what ``peer`` receives in line with the room; offer if the SDP changed."""
        async with peer.lock:
            # aiortc closes a connection itself when the browser closes it; the state
            # handler then drops the peer.
            if peer.closed or not peer.connected or peer.pc.signalingState == "closed":
                return
            if peer.negotiating:
                peer.dirty = True
                return
            wanted = [
                Publication(other.participant_id, track, other.counters)
                for other in room.peers.values()
                if other is not peer and other.connected and not other.closed
                for track in other.published
                if peer.receives(track.kind)
            ]
            if not peer.reconcile(wanted):
                return
            try:
                offer = await peer.create_offer()
            except Exception:
                if not peer.closed:  # else closed meanwhile: nothing went wrong
                    logger.exception(
                        "room %s: offer for participant %s failed",
                        room.room_id,
                        peer.participant_id,
                    )
                offer = None
            else:
                loop = asyncio.get_running_loop()
                peer.answer_timer = loop.call_later(
                    self._answer_timeout_s, self._on_answer_timeout, room, peer
                )
        if offer is None:
            await self._fail(room, peer)
            return
        if peer.closed:
            return
        try:
            await self._callbacks.renegotiate(room.room_id, peer.participant_id, offer)
        except Exception:
            logger.exception(
                "room %s: renegotiate callback failed for participant %s",
                room.room_id,
                peer.participant_id,
            )
            await self._fail(room, peer)

    def _on_answer_timeout(self, room: _Room, peer: Peer) -> None:
        peer.answer_timer = None
        if peer.negotiating and not peer.closed:
            logger.warning(
                "room %s: participant %s did not answer within %.0f s",
                room.room_id,
                peer.participant_id,
                self._answer_timeout_s,
            )
            self._spawn(room.room_id, self._fail(room, peer))

    async def _fail(self, room: _Room, peer: Peer) -> None:
        """Report a peer as failed, close and forget it; the browser must offer afresh."""
        async with peer.events:
            if peer.reported_closed or peer.closed:
                return
            await self._notify(room.room_id, peer.participant_id, "failed")
        await self._drop(room, peer, report=True)

    async def _drop(self, room: _Room, peer: Peer, *, report: bool = False) -> None:
        """Forget and close ``peer``; the others stop receiving it and are renegotiated.

        ``report``: tell peer_state it closed (not for a peer replaced by a newer offer).
        """
        if report:
            room.leaving.add(peer)
        if room.peers.get(peer.participant_id) is peer:
            del room.peers[peer.participant_id]
            self._retired.absorb(peer.counters)
        self._end_recorded_peer(room, peer)
        for other in room.peers.values():
            other.release_tracks(peer.published)
        await peer.close()
        if peer.connected:
            for other in list(room.peers.values()):
                self._spawn(room.room_id, self._sync(room, other))
        if report:
            await self._report(room.room_id, peer, "closed")
            room.leaving.discard(peer)
        # Forgotten only now, so that close_room still finds a peer whose report is due.
        if not room.peers and not room.leaving and self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]
            if room.recording is not None:  # everyone left: the recording ends with them
                recording, room.recording = room.recording, None
                self._ended_recordings[room.room_id] = self._finish_recording(room, recording)

    async def _report(self, room_id: str, peer: Peer, state: str) -> None:
        async with peer.events:
            if peer.reported_closed:
                return
            peer.reported_closed = state == "closed"
            await self._notify(room_id, peer.participant_id, state)

    async def _notify(self, room_id: str, participant_id: str, state: str) -> None:
        try:
            await self._callbacks.peer_state(room_id, participant_id, state)
        except Exception:
            logger.exception(
                "room %s: peer_state callback failed for participant %s", room_id, participant_id
            )

    async def _close_room(self, room_id: str, *, report: bool) -> None:
        room = self._rooms.pop(room_id, None)
        await self._cancel_tasks([t for t, r in self._tasks.items() if r == room_id])
        if room is None:
            return
        if room.recording is not None:
            recording, room.recording = room.recording, None
            self._ended_recordings[room_id] = self._finish_recording(room, recording)
        peers = [*room.peers.values(), *room.leaving]
        for peer in room.peers.values():
            self._retired.absorb(peer.counters)
        room.peers.clear()
        room.leaving.clear()
        await asyncio.gather(*(peer.close() for peer in peers))
        logger.info("room %s: closed %d peer connections", room_id, len(peers))
        if report:
            for peer in peers:
                await self._report(room_id, peer, "closed")

    async def _cancel_tasks(self, tasks: list[asyncio.Task[None]]) -> None:
        current = asyncio.current_task()
        tasks = [task for task in tasks if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, room_id: str, coro: Coroutine[Any, Any, None]) -> None:
        if self._closed:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks[task] = room_id
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            logger.error("media background task failed", exc_info=task.exception())

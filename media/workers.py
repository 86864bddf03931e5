"""WorkerPool: the media of many visits spread over worker processes, one core each.

One asyncio process forwards media on one core at most (aiortc's per-packet work holds the
GIL), so the pool runs N ``media.worker`` processes, each a MediaHub with the forwarding
relay, and pins each room to the worker with the fewest rooms when its first offer comes;
the room stays there until it is empty or closed. The pool has MediaHub's interface, so
signalling hands it offers, answers and leaves as it would the hub: each call goes to the
room's worker over its Unix socket (media.worker_link). The synchronous questions
(participants, tracks, sources, counters, totals) are answered from the views the workers
send after every change and once a second.

A worker that dies is started again at once; every participant it carried is reported
``failed`` through ``callbacks.peer_state`` (the app tells their pages to connect afresh,
and the pages offer again, landing on a live worker).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy

from media.callbacks import MediaCallbacks
from media.counters import Counters
from media.errors import HUB_CLOSED, NO_SUCH_PEER, MediaError
from media.ice import ice_configuration
from media.worker_link import MAX_MESSAGE_BYTES, Link

logger = logging.getLogger(__name__)

# A worker that cannot start (a broken install) is retried at most this often.
RESTART_DELAY_S = 1.0
# close() waits this long for a worker to end before killing it.
STOP_TIMEOUT_S = 5.0

_ZERO = Counters().as_dict()


@dataclass(eq=False)
class _Worker:
    slot: int
    process: asyncio.subprocess.Process
    link: Link
    reader_task: asyncio.Task[None] | None = None
    # room -> participant -> {"tracks", "sources", "counters"}: the worker's latest view.
    views: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


class WorkerPool:
    def __init__(
        self,
        *,
        workers: int,
        ice_servers: list[dict[str, Any]],
        callbacks: MediaCallbacks,
        host_addresses: list[str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("a worker pool needs at least one worker")
        ice_configuration(ice_servers)  # refuse a bad list now, not in every worker
        self._count = workers
        self._ice_servers = json.dumps(ice_servers)
        self._host_addresses = ",".join(host_addresses or [])
        self._callbacks = callbacks
        self._workers: list[_Worker | None] = [None] * workers
        self._pins: dict[str, _Worker] = {}
        self._busy: dict[str, int] = defaultdict(int)  # calls in flight, by room
        self._recording: set[str] = set()  # rooms whose worker records them
        # The worker each recording started on: its parts are asked of it even after the
        # room ended (and was unpinned) with the call.
        self._recorded_on: dict[str, _Worker] = {}
        self._retired = Counters().as_dict()
        # Reports to the app in the order the workers sent them (one consumer).
        self._reports: asyncio.Queue[tuple[str, tuple[str, ...]]] = asyncio.Queue()
        self._reporter: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._reporter = asyncio.ensure_future(self._report_loop())
        for slot in range(self._count):
            self._workers[slot] = await self._spawn(slot)

    async def close(self) -> None:
        self._closed = True
        workers = [w for w in self._workers if w is not None]
        for worker in workers:
            worker.link.close()  # the worker closes its hub and ends
        for worker in workers:
            try:
                await asyncio.wait_for(worker.process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            if worker.reader_task is not None:
                await asyncio.gather(worker.reader_task, return_exceptions=True)
        for task in [*self._tasks, *([self._reporter] if self._reporter else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (for tests and the operations page)."""
        return [w.process.pid for w in self._workers if w is not None]

    # -- the Media interface ------------------------------------------------------------

    async def handle_offer(self, room_id: str, participant_id: str, sdp: str) -> str:
        if self._closed:
            raise MediaError(HUB_CLOSED, "the media hub is shut down")
        worker = self._pins.get(room_id)
        if worker is None:
            worker = self._pins[room_id] = self._least_busy()
        answer = await self._call(worker, room_id, "offer", pid=participant_id, sdp=sdp)
        return str(answer)

    async def handle_answer(self, room_id: str, participant_id: str, sdp: str) -> None:
        worker = self._pins.get(room_id)
        if worker is None:
            raise MediaError(
                NO_SUCH_PEER,
                f"no peer connection for participant {participant_id} in room {room_id}",
            )
        await self._call(worker, room_id, "answer", pid=participant_id, sdp=sdp)

    async def remove(self, room_id: str, participant_id: str) -> None:
        worker = self._pins.get(room_id)
        if worker is not None:
            await self._call(worker, room_id, "remove", pid=participant_id)

    async def close_room(self, room_id: str) -> None:
        worker = self._pins.get(room_id)
        if worker is not None:
            await self._call(worker, room_id, "close_room")

    def participants(self, room_id: str) -> list[str]:
        return list(self._view(room_id))

    def tracks_of(self, room_id: str, participant_id: str) -> list[str]:
        return list(self._view(room_id).get(participant_id, {}).get("tracks", []))

    def sources(self, room_id: str, participant_id: str) -> dict[str, tuple[str, str]]:
        found = self._view(room_id).get(participant_id, {}).get("sources", {})
        return {mid: (pub, kind) for mid, (pub, kind) in found.items()}

    def counters(self, room_id: str, participant_id: str) -> dict[str, int]:
        return dict(self._view(room_id).get(participant_id, {}).get("counters", _ZERO))

    def totals(self) -> dict[str, int]:
        """Every count of every worker since start, those that died included."""
        total = dict(self._retired)
        for worker in self._workers:
            for name, value in (worker.totals if worker is not None else {}).items():
                total[name] = total.get(name, 0) + value
        return total

    async def snapshot(self, room_id: str, participant_id: str) -> numpy.ndarray | None:
        worker = self._pins.get(room_id)
        if worker is None:
            return None
        found = await self._call(worker, room_id, "snapshot", pid=participant_id)
        if found is None:
            return None
        data = base64.b64decode(found["data"])
        return numpy.frombuffer(data, numpy.uint8).reshape(found["shape"]).copy()

    async def start_recording(self, room_id: str, directory: str, name: str, key: bytes) -> None:
        """MediaHub.start_recording in the room's worker (the key goes down the worker's
        own socket, never to disk or a command line)."""
        worker = self._pins.get(room_id)
        if worker is None:
            raise MediaError(NO_SUCH_PEER, f"nobody is connected in room {room_id}")
        encoded = base64.b64encode(key).decode()
        await self._call(
            worker, room_id, "record_start", directory=directory, name=name, key=encoded
        )
        self._recording.add(room_id)
        self._recorded_on[room_id] = worker

    async def stop_recording(self, room_id: str) -> list[dict[str, Any]] | None:
        self._recording.discard(room_id)
        started_on = self._recorded_on.pop(room_id, None)
        worker = self._pins.get(room_id) or started_on
        if worker is None or worker.link.closed:
            return None
        found = await self._call(worker, room_id, "record_stop")
        return None if found is None else list(found)

    def is_recording(self, room_id: str) -> bool:
        """Whether the room's worker records it (as far as the pool knows: a room whose
        worker was lost, or whose people all left, is not)."""
        return room_id in self._recording and room_id in self._pins

    def room_worker(self, room_id: str) -> int | None:
        """The process id of the worker a room is pinned to, or None."""
        worker = self._pins.get(room_id)
        return worker.process.pid if worker is not None else None

    # -- internals ---------------------------------------------------------------------

    def _view(self, room_id: str) -> dict[str, dict[str, Any]]:
        worker = self._pins.get(room_id)
        return worker.views.get(room_id, {}) if worker is not None else {}

    def _least_busy(self) -> _Worker:
        live = [w for w in self._workers if w is not None and not w.link.closed]
        if not live:
            raise MediaError(HUB_CLOSED, "no media worker is running")
        rooms = defaultdict(int, {w: 0 for w in live})
        for worker in self._pins.values():
            rooms[worker] += 1
        return min(live, key=lambda w: (rooms[w], w.slot))

    async def _call(self, worker: _Worker, room_id: str, op: str, **fields: Any) -> Any:
        self._busy[room_id] += 1
        try:
            return await worker.link.request(op, room=room_id, **fields)
        finally:
            self._busy[room_id] -= 1
            if not self._busy[room_id]:
                del self._busy[room_id]
            self._unpin_if_empty(room_id, worker)

    def _unpin_if_empty(self, room_id: str, worker: _Worker) -> None:
        if (
            self._pins.get(room_id) is worker
            and not worker.views.get(room_id)
            and not self._busy.get(room_id)
        ):
            del self._pins[room_id]
            worker.views.pop(room_id, None)
            self._recording.discard(room_id)

    async def _spawn(self, slot: int) -> _Worker:
        parent_end, child_end = socket.socketpair()
        command = [sys.executable, "-m", "media.worker", "--fd", str(child_end.fileno())]
        command += ["--ice-servers", self._ice_servers]
        if self._host_addresses:
            command += ["--host-addresses", self._host_addresses]
        try:
            process = await asyncio.create_subprocess_exec(
                *command, pass_fds=(child_end.fileno(),), env=os.environ.copy()
            )
        finally:
            child_end.close()
        reader, writer = await asyncio.open_unix_connection(
            sock=parent_end, limit=MAX_MESSAGE_BYTES
        )
        holder: dict[str, _Worker] = {}
        link = Link(reader, writer, self._on_request, lambda m: self._on_event(holder["w"], m))
        worker = holder["w"] = _Worker(slot, process, link)
        worker.reader_task = asyncio.ensure_future(self._watch(worker))
        logger.info("media worker %d started (pid %d)", slot, process.pid)
        return worker

    async def _watch(self, worker: _Worker) -> None:
        await worker.link.run()
        if self._closed:
            return
        code = await worker.process.wait()
        logger.error(
            "media worker %d (pid %d) stopped with %s; its visits reconnect",
            worker.slot,
            worker.process.pid,
            code,
        )
        for name, value in worker.totals.items():
            self._retired[name] = self._retired.get(name, 0) + value
        worker.totals = {}
        lost = [room for room, pinned in self._pins.items() if pinned is worker]
        for room_id in lost:
            del self._pins[room_id]
            self._recording.discard(room_id)
            for participant_id in worker.views.pop(room_id, {}):
                self._reports.put_nowait(("state", (room_id, participant_id, "failed")))
                self._reports.put_nowait(("state", (room_id, participant_id, "closed")))
        if self._workers[worker.slot] is worker:
            self._workers[worker.slot] = None
            task = asyncio.ensure_future(self._restart(worker.slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _restart(self, slot: int) -> None:
        while not self._closed:
            try:
                self._workers[slot] = await self._spawn(slot)
                return
            except OSError:
                logger.exception("media worker %d could not start", slot)
                await asyncio.sleep(RESTART_DELAY_S)

    def _on_event(self, worker: _Worker, message: dict[str, Any]) -> None:
        kind = message["ev"]
        if kind == "view":
            room_id = str(message["room"])
            if message["peers"]:
                worker.views[room_id] = message["peers"]
            else:
                worker.views.pop(room_id, None)
                self._unpin_if_empty(room_id, worker)
        elif kind == "totals":
            worker.totals = dict(message["totals"])
        elif kind == "renegotiate":
            args = (str(message["room"]), str(message["pid"]), str(message["sdp"]))
            self._reports.put_nowait(("renegotiate", args))
        elif kind == "state":
            args = (str(message["room"]), str(message["pid"]), str(message["state"]))
            self._reports.put_nowait(("state", args))
        elif kind == "step":
            args = (str(message["room"]), str(message["pid"]), str(message["step"]))
            self._reports.put_nowait(("step", args))

    async def _report_loop(self) -> None:
        reports: dict[str, Callable[..., Any]] = {
            "renegotiate": self._callbacks.renegotiate,
            "state": self._callbacks.peer_state,
        }
        if self._callbacks.media_step is not None:
            reports["step"] = self._callbacks.media_step
        while True:
            kind, args = await self._reports.get()
            if kind not in reports:
                continue
            try:
                await reports[kind](*args)
            except Exception:
                logger.exception("media %s callback failed", kind)

    async def _on_request(self, op: str, message: dict[str, Any]) -> Any:
        if op != "data":
            raise MediaError(NO_SUCH_PEER, f"unknown request {op[:20]!r}")
        return await self._callbacks.data_message(
            str(message["room"]), str(message["pid"]), str(message["label"]), str(message["text"])
        )

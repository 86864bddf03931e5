"""A media worker process: one MediaHub with the forwarding relay, for the rooms the app pins
to it, driven over a Unix socket (media.worker_link) by media.workers.WorkerPool.

The hub's callbacks become events (``renegotiate``, ``state``) and requests (``data``, which
the app answers) on the link; after anything that may change a room the worker sends the
room's ``view`` (participants, their tracks, what each receives, their counters) so that the
app answers its synchronous questions from its copy. It ends when the app closes the link.

    python -m media.worker --fd N --ice-servers JSON [--host-addresses a,b]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import signal
import socket
from typing import Any

from media.callbacks import MediaCallbacks
from media.errors import WRONG_STATE, MediaError
from media.hub import MediaHub
from media.ice import use_host_addresses
from media.worker_link import MAX_MESSAGE_BYTES, Link

logger = logging.getLogger(__name__)

# Counters and totals go to the app this often even when nothing else happens.
VIEW_INTERVAL_S = 1.0


class Worker:
    def __init__(self, ice_servers: list[dict[str, Any]]) -> None:
        self.link: Link | None = None
        self.rooms: set[str] = set()
        self.hub = MediaHub(
            ice_servers=ice_servers,
            callbacks=MediaCallbacks(
                self._renegotiate, self._peer_state, self._data, media_step=self._media_step
            ),
        )

    def view(self, room_id: str) -> None:
        hub = self.hub
        peers = {
            pid: {
                "tracks": hub.tracks_of(room_id, pid),
                "sources": hub.sources(room_id, pid),
                "counters": hub.counters(room_id, pid),
            }
            for pid in hub.participants(room_id)
        }
        if not peers:
            self.rooms.discard(room_id)
        assert self.link is not None
        self.link.event("view", room=room_id, peers=peers)

    async def answer(self, op: str, message: dict[str, Any]) -> Any:
        room_id = str(message.get("room", ""))
        pid = str(message.get("pid", ""))
        try:
            if op == "offer":
                self.rooms.add(room_id)
                return await self.hub.handle_offer(room_id, pid, str(message["sdp"]))
            if op == "answer":
                return await self.hub.handle_answer(room_id, pid, str(message["sdp"]))
            if op == "remove":
                return await self.hub.remove(room_id, pid)
            if op == "close_room":
                return await self.hub.close_room(room_id)
            if op == "record_start":
                key = base64.b64decode(str(message["key"]))
                return await self.hub.start_recording(
                    room_id, str(message["directory"]), str(message["name"]), key
                )
            if op == "record_stop":
                return await self.hub.stop_recording(room_id)
            if op == "snapshot":
                image = await self.hub.snapshot(room_id, pid)
                if image is None:
                    return None
                return {
                    "shape": list(image.shape),
                    "data": base64.b64encode(image.tobytes()).decode(),
                }
            raise MediaError(WRONG_STATE, f"unknown media worker request {op[:20]!r}")
        finally:
            if room_id:
                self.view(room_id)

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(VIEW_INTERVAL_S)
            for room_id in list(self.rooms):
                self.view(room_id)
            assert self.link is not None
            self.link.event("totals", totals=self.hub.totals())

    async def _renegotiate(self, room_id: str, participant_id: str, sdp: str) -> None:
        self.view(room_id)  # the offer's sources first: the app sends them with the offer
        assert self.link is not None
        self.link.event("renegotiate", room=room_id, pid=participant_id, sdp=sdp)

    async def _peer_state(self, room_id: str, participant_id: str, state: str) -> None:
        self.view(room_id)
        assert self.link is not None
        self.link.event("state", room=room_id, pid=participant_id, state=state)

    async def _media_step(self, room_id: str, participant_id: str, step: str) -> None:
        assert self.link is not None
        self.link.event("step", room=room_id, pid=participant_id, step=step)

    async def _data(self, room_id: str, participant_id: str, label: str, text: str) -> str | None:
        assert self.link is not None
        reply = await self.link.request(
            "data", room=room_id, pid=participant_id, label=label, text=text
        )
        return None if reply is None else str(reply)


async def serve(fd: int, ice_servers: list[dict[str, Any]]) -> None:
    worker = Worker(ice_servers)
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=MAX_MESSAGE_BYTES)
    worker.link = Link(reader, writer, worker.answer, lambda message: None)
    ticker = asyncio.ensure_future(worker.tick())
    try:
        await worker.link.run()  # until the app closes the link or goes
    finally:
        ticker.cancel()
        await worker.hub.close()
        with contextlib.suppress(Exception):
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--ice-servers", default="[]")
    parser.add_argument("--host-addresses", default="")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="media worker %(process)d: %(message)s")
    # Ctrl-C reaches the whole process group: the app closes its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.host_addresses:
        use_host_addresses([a for a in args.host_addresses.split(",") if a])
    asyncio.run(serve(args.fd, json.loads(args.ice_servers)))


if __name__ == "__main__":
    main()

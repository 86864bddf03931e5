"""The pipe between the app and one media worker process: JSON messages, one per line.

Either end sends requests (``{"id", "op", ...}``, answered by ``{"id", "ok"}`` or
``{"id", "error": {"code", "detail"}}``) and one-way events (``{"ev", ...}``). Messages are
written whole, without an await between them, so what one end writes in one step arrives in
that order: a worker writes a room's view before the answer or offer that changed it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from media.errors import PEER_CLOSED, MediaError

logger = logging.getLogger(__name__)

# A still of a guest's video (640x480 BGR, base64) is the largest message, about 1.3 MB.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Link:
    """One end of the pipe. ``on_request(op, message)`` answers the other end's requests;
    ``on_event(message)`` takes its events, in order, from the reading loop itself."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_request: Callable[[str, dict[str, Any]], Awaitable[Any]],
        on_event: Callable[[dict[str, Any]], None],
    ) -> None:
        self._reader, self._writer = reader, writer
        self._on_request, self._on_event = on_request, on_event
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            self._writer.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def event(self, name: str, **fields: Any) -> None:
        self.send({"ev": name, **fields})

    async def request(self, op: str, **fields: Any) -> Any:
        if self.closed:
            raise MediaError(PEER_CLOSED, "the media worker is gone")
        ident = next(self._ids)
        future = self._pending[ident] = asyncio.get_running_loop().create_future()
        self.send({"id": ident, "op": op, **fields})
        try:
            return await future
        finally:
            self._pending.pop(ident, None)

    async def run(self) -> None:
        """Read until the other end goes; then every request still waiting fails."""
        try:
            while line := await self._reader.readline():
                message = json.loads(line)
                if "ev" in message:
                    self._on_event(message)
                elif "op" in message:
                    task = asyncio.ensure_future(self._answer(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    self._settle(message)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            logger.warning("media worker link broken", exc_info=True)
        finally:
            self.closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(MediaError(PEER_CLOSED, "the media worker stopped"))
            for task in list(self._tasks):
                task.cancel()

    def close(self) -> None:
        self.closed = True
        self._writer.close()

    def _settle(self, message: dict[str, Any]) -> None:
        future = self._pending.get(message.get("id", 0))
        if future is None or future.done():
            return
        if "error" in message:
            error = message["error"]
            future.set_exception(MediaError(error["code"], error["detail"]))
        else:
            future.set_result(message.get("ok"))

    async def _answer(self, message: dict[str, Any]) -> None:
        ident = message["id"]
        try:
            result = await self._on_request(message["op"], message)
        except MediaError as exc:
            self.send({"id": ident, "error": {"code": exc.code, "detail": exc.detail}})
        except Exception:
            logger.exception("media worker request %s failed", message["op"])
            self.send({"id": ident, "error": {"code": PEER_CLOSED, "detail": "internal error"}})
        else:
            self.send({"id": ident, "ok": result})

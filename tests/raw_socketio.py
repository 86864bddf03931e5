"""A Socket.IO client written at the packet level, to send what a well-behaved client
library refuses to: event packets that borrow reserved names, forged arguments, odd ids."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.builders import Agent

NAMESPACE = "/visit"


class RawSocket:
    """One engine.io v4 WebSocket carrying Socket.IO v5 packets in the ``/visit`` namespace."""

    def __init__(self, agent: Agent, origin: str = "http://hearth.test") -> None:
        self.agent = agent
        self.origin = origin
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: list[tuple[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self.namespace_closed = asyncio.Event()
        self._next_id = 1
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        cookies = "; ".join(f"{c.key}={c.value}" for c in self.agent.http.cookie_jar)
        url = self.agent.url("/socket.io/?EIO=4&transport=websocket")
        self.ws = await self.agent.http.ws_connect(
            url, headers={"Origin": self.origin, "Cookie": cookies}
        )
        opening = await self.ws.receive_str(timeout=10)
        assert opening.startswith("0"), opening
        await self.ws.send_str(f"40{NAMESPACE},")
        answer = await self.ws.receive_str(timeout=10)
        assert answer.startswith(f"40{NAMESPACE},"), answer
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        prefix = f"{NAMESPACE},"
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":  # engine.io ping
                await self.ws.send_str("3")
                continue
            if not text.startswith("4") or text[2:].find(prefix) != 0:
                continue
            kind, body = text[1], text[2 + len(prefix) :]
            if kind == "1":
                self.namespace_closed.set()
            elif kind == "2":
                name, *args = json.loads(body)
                self.events.append((name, args[0] if args else None))
            elif kind == "3":
                digits = len(body) - len(body.lstrip("0123456789"))
                self.acks[int(body[:digits])] = json.loads(body[digits:])
        self.namespace_closed.set()

    async def send(self, *packet: Any, ack: bool = True) -> Any:
        """Send an event packet of these arguments; with ``ack``, wait for its answer."""
        assert self.ws is not None
        if not ack:
            await self.ws.send_str(f"42{NAMESPACE},{json.dumps(list(packet))}")
            return None
        packet_id = self._next_id
        self._next_id += 1
        await self.ws.send_str(f"42{NAMESPACE},{packet_id}{json.dumps(list(packet))}")
        for _ in range(200):
            if packet_id in self.acks:
                answer = self.acks.pop(packet_id)
                return answer[0] if answer else None
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no acknowledgement for {packet[0]!r}")

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()

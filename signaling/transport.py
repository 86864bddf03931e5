"""The Socket.IO server Hearth runs: python-socketio's, with client packets that borrow a
reserved event name refused before they reach any handler.

python-socketio hands an ordinary event packet named ``connect`` or ``disconnect`` to the
namespace's ``on_connect``/``on_disconnect`` exactly as it hands the server's own connection
events. A client could then make the application forget a socket (or register one with an
environ of its own making) while that socket stays connected and stays in its rooms. Those
names, and the other names the Socket.IO protocol reserves, never come from a client here.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from signaling.errors import SignalingError

logger = logging.getLogger(__name__)

# Socket.IO reserves these names for the library's own events (the protocol's list, and what
# socket.io's JavaScript server refuses a client to emit).
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """An ``AsyncServer`` whose client events can never be taken for connection events."""

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or name in RESERVED_EVENTS:
            logger.debug("refused a client event with a reserved or missing name")
            if id is not None:
                refusal = SignalingError("reserved_event", "That event name is not allowed.")
                await self._send_packet(
                    eio_sid,
                    self.packet_class(
                        socketio.packet.ACK, namespace=namespace or "/", id=id, data=[refusal.ack()]
                    ),
                )
            return
        await super()._handle_event(eio_sid, namespace, id, data)

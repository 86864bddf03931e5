"""Several app nodes behind one address: each visit's room runs on one node, any node
accepts a participant's socket.

The first node that needs a visit's room claims it (``Nodes.claim``, atomic, held while the
node's heartbeat lasts); from then on that node, the owner, keeps the room (lobby, who is
admitted) and the visit's media. A socket that reaches another node stays there: its events
for the visit are handed to the owner (``Nodes.ask``), which runs the same handlers as for
its own sockets and answers; what the owner sends to a socket, puts it in a group or takes it
out of one, or disconnects it, crosses to the socket's node through Socket.IO's Redis queue.
So a family on node B and a clinician on node A wait, are admitted and talk in one room.

Presence (who waits, who is in the call) is published by the owner for every node to read,
and refreshed with the claims. A node whose claim lapsed (it stalled, another node took the
visit over) drops the room; a node whose sockets are in a visit whose owner has gone closes
those sockets' connections, so their pages reconnect and join the visit afresh on a live
node. Without Redis there is one node and :class:`signaling.namespace.VisitNamespace` alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict
from typing import Any, Protocol

from signaling import events as ev
from signaling.errors import SignalingError
from signaling.namespace import SESSION_CALLER, Handler, VisitNamespace
from signaling.ports import Caller
from signaling.rooms import Room

logger = logging.getLogger(__name__)

# What the namespace keeps in a socket's Socket.IO session: the visit it joined and the node
# that runs that visit's room.
SESSION_VISIT = "visit"
SESSION_OWNER = "owner"

Serve = Callable[[dict[str, Any]], Awaitable[Any]]


class Nodes(Protocol):
    """Which node runs each visit's room, and asking another node; ``server`` supplies it
    (on Redis). Every method that reaches another node raises a ``SignalingError`` with the
    code ``unavailable`` when it cannot."""

    node_id: str

    async def claim(self, encounter_id: int) -> str:
        """The node that runs this visit's room: this one if no live node does (claimed now,
        atomically, so two nodes never both win), else the one that does."""
        ...

    async def owners(self, encounter_ids: Collection[int]) -> dict[int, str | None]:
        """The live node running each of these visits' rooms, or None; claims nothing."""
        ...

    async def alive(self, node_ids: Collection[str]) -> set[str]:
        """Which of these nodes still beat."""
        ...

    async def keep(self, encounter_ids: Collection[int], release: Collection[int]) -> set[int]:
        """Beat this node's heartbeat, keep its claims on ``encounter_ids`` and their
        presence, give up those on ``release``; returns the visits it no longer holds."""
        ...

    async def set_presence(self, encounter_id: int, status: dict[str, int]) -> None:
        """Publish who waits and who is in the call, for every node to read."""
        ...

    async def presence(self, encounter_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """The published presence of these visits (those that have one)."""
        ...

    async def ask(self, node_id: str, request: dict[str, Any]) -> Any:
        """Hand ``request`` (JSON, with an ``op``) to that node's handler for its ``op`` and
        return the handler's answer."""
        ...

    def serve(self, op: str, handler: Serve) -> None:
        """Answer other nodes' requests with this ``op``."""
        ...


class ClusterNamespace(VisitNamespace):
    def __init__(self, *, nodes: Nodes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.nodes = nodes
        # The handlers that run a visit here; the namespace's own entries (which the
        # boundary calls after its rate and size checks) first find the visit's node.
        self._local: dict[str, Handler] = dict(self._handlers)
        self._handlers = {name: self._routed(name) for name in self._local}
        # Callers of sockets on other nodes that are in this node's rooms, by sid.
        self._remote: dict[str, Caller] = {}
        self._claimed: set[int] = set()
        nodes.serve("event", self._serve_event)
        nodes.serve("gone", self._serve_gone)
        nodes.serve("notify_guests", self._serve_notify_guests)

    @property
    def node_id(self) -> str:
        return self.nodes.node_id

    # -- who is on a socket ------------------------------------------------------------
    async def caller(self, sid: str) -> Caller | None:
        return await super().caller(sid) or self._remote.get(sid)

    # -- events from this node's sockets ------------------------------------------------
    def _routed(self, name: str) -> Handler:
        local = self._local[name]

        async def run(sid: str, data: Any) -> Any:
            session = await self.get_session(sid)
            visit, owner = session.get(SESSION_VISIT), session.get(SESSION_OWNER)
            if name == ev.JOIN:
                wanted = data.get("encounter_id") if isinstance(data, dict) else None
                if isinstance(wanted, int) and not isinstance(wanted, bool):
                    runs_it = await self.nodes.claim(wanted)
                    if runs_it == self.node_id:
                        self._claimed.add(wanted)
                    if visit is not None and visit != wanted:
                        # Out of the visit this socket was in (VisitNamespace._join does it
                        # when both rooms run here).
                        if owner != self.node_id:
                            await self._leave_elsewhere(sid, session)
                        elif runs_it != self.node_id:
                            with contextlib.suppress(SignalingError):
                                await self._local[ev.LEAVE](sid, None)
                    visit, owner = wanted, runs_it
            if owner is None or owner == self.node_id:
                reply = await local(sid, data)
            else:
                reply = await self._forward(owner, name, sid, session, data)
            if isinstance(reply, dict) and "error" not in reply:
                if name == ev.JOIN:
                    session[SESSION_VISIT], session[SESSION_OWNER] = visit, owner
                elif name in (ev.LEAVE, ev.END_VISIT):
                    session.pop(SESSION_VISIT, None)
                    session.pop(SESSION_OWNER, None)
            return reply

        return run

    async def _forward(
        self, owner: str, event: str, sid: str, session: dict[str, Any], data: Any
    ) -> Any:
        caller = session.get(SESSION_CALLER)
        if not isinstance(caller, Caller):
            raise SignalingError("session_expired", "Your connection has ended.")
        request = {"event": event, "sid": sid, "caller": asdict(caller), "data": data}
        return await self.nodes.ask(owner, {"op": "event", **request})

    async def _leave_elsewhere(self, sid: str, session: dict[str, Any]) -> None:
        owner = session.pop(SESSION_OWNER, None)
        session.pop(SESSION_VISIT, None)
        if owner is not None:
            # If that node has gone, the room went with it.
            with contextlib.suppress(SignalingError):
                await self._forward(owner, ev.LEAVE, sid, session, None)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            session = {}
        owner = session.get(SESSION_OWNER)
        if owner is None or owner == self.node_id:
            await super().on_disconnect(sid, reason)
            return
        # If the owner has gone, the visit's next node never knew this socket.
        with contextlib.suppress(SignalingError):
            await self.nodes.ask(owner, {"op": "gone", "sid": sid})

    # -- requests from other nodes ------------------------------------------------------
    async def _serve_event(self, request: dict[str, Any]) -> Any:
        sid = str(request["sid"])
        self._remote[sid] = Caller(**request["caller"])
        handler = self._local.get(str(request["event"]))
        if handler is None:
            return SignalingError("unknown_event", "Unknown event.").ack()
        try:
            return await handler(sid, request.get("data"))
        except SignalingError as exc:
            return exc.ack()
        except Exception as exc:  # noqa: BLE001 - the boundary, as in VisitNamespace
            code = getattr(exc, "code", None)
            if isinstance(code, str):
                return {"error": str(exc) or "The media server refused that.", "code": code}
            logger.exception("error handling a forwarded %s", request.get("event"))
            return {"error": "Something went wrong on our side.", "code": "internal_error"}

    async def _serve_gone(self, request: dict[str, Any]) -> None:
        await super().on_disconnect(str(request["sid"]))

    async def _serve_notify_guests(self, request: dict[str, Any]) -> None:
        await super().notify_guests(
            int(request["encounter_id"]), str(request["event"]), request.get("data")
        )

    # -- what the server asks of the rooms ---------------------------------------------
    async def notify(self, encounter_id: int, event: str, data: Any, *, group: str) -> None:
        # A room's groups are Socket.IO rooms: the Redis queue reaches them on every node.
        await self.emit(event, data, room=self._key(Room(encounter_id), group))

    async def notify_guests(self, encounter_id: int, event: str, data: Any) -> None:
        if self.rooms.get(encounter_id) is not None:
            await super().notify_guests(encounter_id, event, data)
            return
        request = {"op": "notify_guests", "encounter_id": encounter_id, "event": event}
        try:
            owner = (await self.nodes.owners([encounter_id])).get(encounter_id)
            if owner is not None and owner != self.node_id:
                await self.nodes.ask(owner, {**request, "data": data})
        except SignalingError:
            # As when nobody is in the call: the family's page loads the news when it next
            # asks, and this change has already been stored.
            logger.warning("could not reach the node running a visit to notify its family")

    async def live_statuses(self, encounter_ids: Collection[int]) -> dict[int, dict[str, int]]:
        """Who waits and who is in the call, for visits on any node."""
        here = {i: self.live_status(i) for i in encounter_ids if self.rooms.get(i) is not None}
        elsewhere = [i for i in encounter_ids if i not in here]
        found = await self.nodes.presence(elsewhere) if elsewhere else {}
        idle = {"waiting": 0, "in_call": 0}
        return {i: here.get(i) or found.get(i) or dict(idle) for i in encounter_ids}

    async def _broadcast(self, room: Room) -> None:
        await super()._broadcast(room)
        await self.nodes.set_presence(room.encounter_id, self.live_status(room.encounter_id))

    async def expel(self, should_go: Callable[[Caller], bool], reason: str) -> int:
        """This node's sockets (VisitNamespace.expel), and the people in this node's rooms
        whose sockets are on other nodes."""
        gone = await super().expel(should_go, reason)
        for room in self.rooms.all():
            for participant in list(room.participants.values()):
                sid = participant.sid
                caller = self._remote.get(sid) if sid else None
                if sid is None or caller is None or not should_go(caller):
                    continue
                await self._drop(room, participant)
                await self._broadcast(room)
                await self.emit(ev.DENIED, {"message": reason}, to=sid)
                await self.disconnect(sid)
                gone += 1
            self.rooms.discard_if_empty(room.encounter_id)
        return gone

    async def sweep(self) -> None:
        """This node's sockets (VisitNamespace.sweep), then the people in this node's rooms
        whose sockets are elsewhere: in a call here, so their sessions count as active."""
        await super().sweep()
        in_call: dict[str, bool] = {}
        in_rooms: set[str] = set()
        for room in self.rooms.all():
            talking = len(room.admitted()) > 1
            for p in room.participants.values():
                caller = self._remote.get(p.sid) if p.sid else None
                if caller is None or p.sid is None:
                    continue
                in_rooms.add(p.sid)
                active = talking and p.state == "admitted"
                in_call[caller.session_key] = in_call.get(caller.session_key, False) or active
        for sid in set(self._remote) - in_rooms:
            del self._remote[sid]  # no longer in a room here
        if not in_call:
            return
        ended = await self.gate.ended_sessions(in_call)
        if ended:
            await self.expel(lambda c: c.session_key in ended, "Your session has ended.")

    # -- claims and the owners' heartbeats ----------------------------------------------
    async def keep_claims(self) -> None:
        """Keep this node's claims (and give up those of rooms that have emptied); drop the
        rooms whose claims lapsed, and reconnect this node's sockets whose visit's node has
        gone, so that they join again on a live node."""
        held = {room.encounter_id for room in self.rooms.all()}
        try:
            lost = await self.nodes.keep(held, self._claimed - held)
        except SignalingError:
            logger.warning("could not renew this node's claims; trying again next round")
            return
        self._claimed = held - lost
        for encounter_id in lost:
            room = self.rooms.close(encounter_id)
            if room is None:
                continue
            logger.warning("another node took over a visit's room; its sockets reconnect")
            await self.media.close_room(room.room_id)
            for participant in room.participants.values():
                task = self._grace.pop(participant.participant_id, None)
                if task is not None:
                    task.cancel()
                if participant.sid is not None and participant.sid not in self._remote:
                    await self._reconnect(participant.sid)
        elsewhere: dict[str, tuple[int, str]] = {}
        for sid in self.connected_sids():
            try:
                session = await self.get_session(sid)
            except KeyError:
                continue
            visit, owner = session.get(SESSION_VISIT), session.get(SESSION_OWNER)
            if visit is not None and owner is not None and owner != self.node_id:
                elsewhere[sid] = (visit, owner)
        if not elsewhere:
            return
        try:
            owners = await self.nodes.owners({visit for visit, _owner in elsewhere.values()})
            unowned = {owner for visit, owner in elsewhere.values() if owners.get(visit) is None}
            alive = await self.nodes.alive(unowned) if unowned else set()
        except SignalingError:
            return  # Redis is not answering: nothing can be told about the owners now
        for sid, (visit, owner) in elsewhere.items():
            now = owners.get(visit)
            if now == owner:
                continue
            if now is None and owner in alive:
                # The room there emptied (the visit ended, this socket was turned away):
                # nothing to rejoin.
                await self._forget_place(sid)
                continue
            logger.info("a visit's room moved or its node went; a socket here reconnects")
            await self._reconnect(sid)

    async def _forget_place(self, sid: str) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return
        session.pop(SESSION_VISIT, None)
        session.pop(SESSION_OWNER, None)

    async def _reconnect(self, sid: str) -> None:
        """Close this socket's connection under it (not a Socket.IO disconnect, which tells
        a page to stay away): the page reconnects by itself and joins the visit again."""
        await self._forget_place(sid)
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        if eio_sid is not None:
            await self.server.eio.disconnect(eio_sid)

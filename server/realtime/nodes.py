"""``signaling.cluster.Nodes`` on Redis: which node runs each visit's room, node heartbeats,
published presence, and requests from one node to another.

Keys (under the Socket.IO queue's channel name, so deployments or test runs that share a
Redis and use different channels never meet):

- ``<channel>:node:<node id>``: this node's heartbeat, renewed every ``LEASE_S / 3`` and
  gone ``LEASE_S`` after the node stops;
- ``<channel>:visit:<encounter id>``: the node that runs the visit's room. A claim takes it
  only when it is unset or names a node that is not alive (one Lua script, so two nodes
  never both win); a node is alive while its heartbeat lasts and it listens on its channel.
  A node that dies closes its connection to Redis and so stops listening at once; one that
  hangs loses its heartbeat ``LEASE_S`` later. Its visits are taken over by the next node
  that needs them;
- ``<channel>:presence:<encounter id>``: who waits and who is in the call, as the owner last
  published it, kept as long as the claim.

Requests to another node go on that node's pub/sub channel ``<channel>:node:<node id>`` and
its answer comes back on the asker's. Redis must be private and need a password
(docs/operations.md): whoever can publish there can act in any visit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Collection
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from signaling.cluster import Serve
from signaling.errors import SignalingError

logger = logging.getLogger(__name__)

# A node whose heartbeat is this old has stopped: its visits may be claimed by another.
LEASE_S = 15.0
# How long a node waits for another's answer (an offer is answered in well under a second;
# the pages wait 15 s for their own acknowledgements).
ASK_TIMEOUT_S = 10.0
# Redis calls that hang this long count as Redis being unavailable.
REDIS_TIMEOUT_S = 3.0
# A listener whose connection to Redis broke subscribes again after this.
RESUBSCRIBE_DELAY_S = 1.0

# KEYS[1] visit key; ARGV: this node, lease of the claim (ms), heartbeat key prefix (which is
# also the prefix of the nodes' channels). A node is alive while its heartbeat lasts and it
# listens on its channel (a process that dies closes its Redis connection, and with it that).
_CLAIM = """
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. owner) == 1 then
  if redis.call('PUBSUB', 'NUMSUB', ARGV[3] .. owner)[2] > 0 then
    return owner
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
"""
# KEYS: visit keys to keep, then presence keys; ARGV: this node, lease (ms), how many to keep.
# A claim that lapsed unclaimed is taken again; returns the visit keys now another node's.
_KEEP = """
local lost = {}
local n = tonumber(ARGV[3])
for i = 1, n do
  local owner = redis.call('GET', KEYS[i])
  if owner == ARGV[1] or not owner then
    redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
    redis.call('PEXPIRE', KEYS[n + i], ARGV[2])
  else
    table.insert(lost, KEYS[i])
  end
end
return lost
"""
# KEYS: visit keys, then their presence keys; ARGV: this node, how many.
_RELEASE = """
local n = tonumber(ARGV[2])
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i], KEYS[n + i])
  end
end
return 0
"""

UNAVAILABLE = "The visit's server is not answering. Trying again may help."


def _unavailable() -> SignalingError:
    return SignalingError("unavailable", UNAVAILABLE)


class RedisNodes:
    def __init__(self, url: str, channel: str, *, lease_s: float = LEASE_S) -> None:
        self.node_id = uuid.uuid4().hex
        self._redis: Any = aioredis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
        )
        self._prefix = channel
        self._lease_ms = int(lease_s * 1000)
        # A claim without a heartbeat renewing it would outlive its node: claims last as long
        # as a heartbeat, and are kept with it.
        self._claim = self._redis.register_script(_CLAIM)
        self._keep = self._redis.register_script(_KEEP)
        self._release = self._redis.register_script(_RELEASE)
        self._handlers: dict[str, Serve] = {}
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    # -- keys ----------------------------------------------------------------------------
    def _node_key(self, node_id: str) -> str:
        return f"{self._prefix}:node:{node_id}"

    def _visit_key(self, encounter_id: int) -> str:
        return f"{self._prefix}:visit:{encounter_id}"

    def _presence_key(self, encounter_id: int) -> str:
        return f"{self._prefix}:presence:{encounter_id}"

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Beat and listen. A Redis that does not answer yet does not stop the node from
        starting (it is not ready, /readyz says so); the listener and the claims round keep
        trying."""
        try:
            await self._beat()
        except (RedisError, OSError):
            logger.warning("Redis is not answering; this node beats when it does")
        self._listener = asyncio.ensure_future(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), REDIS_TIMEOUT_S * 2)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._node_key(self.node_id))
        await self._redis.aclose()

    async def _beat(self) -> None:
        await self._redis.set(self._node_key(self.node_id), "1", px=self._lease_ms)

    # -- claims --------------------------------------------------------------------------
    async def claim(self, encounter_id: int) -> str:
        try:
            owner = await self._claim(
                keys=[self._visit_key(encounter_id)],
                args=[self.node_id, self._lease_ms, self._node_key("")],
            )
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        return str(owner)

    async def owners(self, encounter_ids: Collection[int]) -> dict[int, str | None]:
        ids = list(encounter_ids)
        if not ids:
            return {}
        try:
            found = await self._redis.mget([self._visit_key(i) for i in ids])
            nodes = {node for node in found if node}
            alive = await self.alive(nodes)
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        return {i: (node if node in alive else None) for i, node in zip(ids, found, strict=True)}

    async def alive(self, node_ids: Collection[str]) -> set[str]:
        nodes = sorted(node_ids)
        if not nodes:
            return set()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for node in nodes:
                    pipe.exists(self._node_key(node))
                    pipe.pubsub_numsub(self._node_key(node))
                found = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        beats, listeners = found[0::2], found[1::2]
        return {
            node
            for node, beat, listening in zip(nodes, beats, listeners, strict=True)
            if beat and listening and listening[0][1] > 0
        }

    async def keep(self, encounter_ids: Collection[int], release: Collection[int]) -> set[int]:
        held, gone = sorted(encounter_ids), sorted(release)
        try:
            await self._beat()
            if gone:
                await self._release(
                    keys=[self._visit_key(i) for i in gone] + [self._presence_key(i) for i in gone],
                    args=[self.node_id, len(gone)],
                )
            if not held:
                return set()
            lost = await self._keep(
                keys=[self._visit_key(i) for i in held] + [self._presence_key(i) for i in held],
                args=[self.node_id, self._lease_ms, len(held)],
            )
        except (RedisError, OSError) as exc:
            raise _unavailable() from exc
        by_key = {self._visit_key(i): i for i in held}
        return {by_key[key] for key in lost}

    # -- presence ------------------------------------------------------------------------
    async def set_presence(self, encounter_id: int, status: dict[str, int]) -> None:
        try:
            await self._redis.set(
                self._presence_key(encounter_id), json.dumps(status), px=self._lease_ms
            )
        except (RedisError, OSError):
            # Presence is a hint on the staff's lists; the call goes on without it.
            logger.warning("could not publish a visit's presence to Redis")

    async def presence(self, encounter_ids: Collection[int]) -> dict[int, dict[str, int]]:
        ids = list(encounter_ids)
        try:
            found = await self._redis.mget([self._presence_key(i) for i in ids])
        except (RedisError, OSError):
            logger.warning("could not read visits' presence from Redis")
            return {}
        return {i: json.loads(raw) for i, raw in zip(ids, found, strict=True) if raw}

    # -- requests between nodes ----------------------------------------------------------
    def serve(self, op: str, handler: Serve) -> None:
        self._handlers[op] = handler

    async def ask(self, node_id: str, request: dict[str, Any]) -> Any:
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        message = json.dumps({**request, "id": request_id, "from": self.node_id})
        try:
            if not await self._redis.publish(self._node_key(node_id), message):
                raise _unavailable()  # nobody listens there: that node has gone
            reply = await asyncio.wait_for(answer, ASK_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as exc:
            raise _unavailable() from exc
        finally:
            self._pending.pop(request_id, None)
        if "error" in reply:
            raise SignalingError("internal_error", "Something went wrong on our side.")
        return reply.get("result")

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._node_key(self.node_id))
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._receive(json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                logger.warning("the node's Redis channel broke; subscribing again")
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)
            except Exception:  # noqa: BLE001 - a message this node cannot read
                logger.exception("the node's Redis listener failed; subscribing again")
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _receive(self, message: dict[str, Any]) -> None:
        if "reply" in message:
            waiting = self._pending.get(str(message["reply"]))
            if waiting is not None and not waiting.done():
                waiting.set_result(message)
            return
        task = asyncio.ensure_future(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        handler = self._handlers.get(str(message.get("op")))
        reply: dict[str, Any] = {"reply": message.get("id")}
        try:
            if handler is None:
                raise LookupError(f"no handler for {str(message.get('op'))[:40]!r}")
            reply["result"] = await handler(message)
        except Exception:  # noqa: BLE001 - the asker gets an error, this node goes on
            logger.exception("a request from another node failed")
            reply["error"] = True
        with contextlib.suppress(RedisError, OSError):
            await self._redis.publish(self._node_key(str(message.get("from"))), json.dumps(reply))

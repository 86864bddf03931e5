"""Wiring the live parts: Socket.IO server, the ``/visit`` namespace and the media hub."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import socketio
from aiohttp import web

from media import MediaCallbacks, MediaHub, WorkerPool
from media.ice import use_host_addresses
from server.core.periodic import every
from server.core.settings import Settings
from server.realtime.gate import VisitGate
from server.realtime.live import LiveVisits
from server.realtime.nodes import LEASE_S, RedisNodes
from server.services.connection_events import note_connection
from server.services.context import SERVICES
from server.services.live import LIVE
from server.services.readings import Enterer, accept_message, publish_readings
from signaling.cluster import ClusterNamespace
from signaling.limits import TokenBucket
from signaling.namespace import VisitNamespace
from signaling.transport import GuardedServer

logger = logging.getLogger(__name__)

# engine.io refuses any packet over this, so one client cannot fill the server's memory with
# a single message (CVE-2020-36048).
MAX_SOCKET_MESSAGE_BYTES = 64 * 1024
# Every live socket's session is re-checked this often (one query round for all of them), so
# an expired session, or a link revoked or an account disabled on another node, loses its
# sockets within a few seconds.
SWEEP_INTERVAL_S = 2.0


@dataclass
class Realtime:
    sio: socketio.AsyncServer
    namespace: VisitNamespace
    hub: MediaHub | WorkerPool
    # With Redis (several nodes): which node runs each visit's room, and asking it.
    nodes: RedisNodes | None = None


REALTIME = web.AppKey("realtime", Realtime)
READING_BUCKETS = web.AppKey("reading_buckets", dict)
READINGS_CHANNEL = "readings"
# A device sends about one reading a second; a simulator in a drill a few. Ten a second per
# participant with bursts of 30 (a resend after a reconnect) is generous and still bounded.
READINGS_PER_S = 10.0
READINGS_BURST = 30
MAX_READING_BUCKETS = 10_000


def setup_realtime(app: web.Application, settings: Settings) -> Realtime:
    manager: socketio.AsyncRedisManager | None = None
    nodes: RedisNodes | None = None
    if settings.redis_url:
        channel = {"channel": settings.redis_channel} if settings.redis_channel else {}
        manager = socketio.AsyncRedisManager(settings.redis_url, **channel)
        nodes = RedisNodes(settings.redis_url, manager.channel)
    sio = GuardedServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=sorted(settings.origins),
        max_http_buffer_size=MAX_SOCKET_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    holder: dict[str, VisitNamespace] = {}

    async def renegotiate(room_id: str, participant_id: str, sdp: str) -> None:
        await holder["ns"].send_renegotiation(room_id, participant_id, sdp)

    # When each participant's sound stopped getting through (the fallback ladder's last step).
    audio_lost_at: dict[tuple[str, str], float] = {}
    # Each participant's last step below "full": a new peer connection starts at "full".
    below_full: set[tuple[str, str]] = set()

    async def note_step(
        room_id: str, participant_id: str, kind: str, seconds: float | None
    ) -> None:
        if not room_id.startswith("encounter-"):
            return
        svc = app[SERVICES]
        caller = await holder["ns"].caller_of(room_id, participant_id)
        role = caller.role if caller else "unknown"
        encounter_id = int(room_id.removeprefix("encounter-"))
        await note_connection(svc.db, svc.clock.now(), encounter_id, role, kind, seconds)

    async def media_step(room_id: str, participant_id: str, step: str) -> None:
        """A participant moved on the relay's fallback ladder: both sides are told in words,
        and each step down is a connection event for the visit's quality figures."""
        await holder["ns"].send_media_step(room_id, participant_id, step)
        if step == "full":
            below_full.discard((room_id, participant_id))
        else:
            below_full.add((room_id, participant_id))
        now = app[SERVICES].clock.now().timestamp()
        lost_since = audio_lost_at.pop((room_id, participant_id), None)
        if step == "audio_lost":
            audio_lost_at[(room_id, participant_id)] = lost_since or now
        elif lost_since is not None:  # sound came back: how long it was gone
            await note_step(room_id, participant_id, "poor_quality", now - lost_since)
        elif step == "video_paused":
            await note_step(room_id, participant_id, "sound_only", None)

    async def peer_state(room_id: str, participant_id: str, state: str) -> None:
        logger.info("peer %s in %s is %s", participant_id, room_id, state)
        lost_since = audio_lost_at.pop((room_id, participant_id), None)
        if state in ("closed", "failed") and lost_since is not None:
            # The connection ended while sound was not getting through: so did that stretch.
            now = app[SERVICES].clock.now().timestamp()
            await note_step(room_id, participant_id, "poor_quality", now - lost_since)
        elif lost_since is not None:
            audio_lost_at[(room_id, participant_id)] = lost_since
        if state == "connected" and (room_id, participant_id) in below_full:
            # A new connection (a reload, a reconnection) starts with video and sound again.
            below_full.discard((room_id, participant_id))
            await holder["ns"].send_media_step(room_id, participant_id, "full")
        if state == "failed":  # the server closed it: the page must offer a new one
            await holder["ns"].send_media_lost(room_id, participant_id)
        if state == "failed" and room_id.startswith("encounter-"):
            # The media connection could not be set up (or was lost for good): a failed join.
            caller = await holder["ns"].caller_of(room_id, participant_id)
            svc = app[SERVICES]
            await note_connection(
                svc.db,
                svc.clock.now(),
                int(room_id.removeprefix("encounter-")),
                caller.role if caller else "unknown",
                "failed_join",
            )

    async def data_message(room_id: str, participant_id: str, label: str, text: str) -> str | None:
        return await _on_data_message(app, holder["ns"], room_id, participant_id, label, text)

    callbacks = MediaCallbacks(
        renegotiate=renegotiate,
        peer_state=peer_state,
        data_message=data_message,
        media_step=media_step,
    )
    hub: MediaHub | WorkerPool
    if settings.media_worker_count:
        hub = WorkerPool(
            workers=settings.media_worker_count,
            ice_servers=settings.ice_server_list,
            callbacks=callbacks,
            host_addresses=settings.media_host_address_list,
        )
    else:
        if settings.media_host_address_list:
            use_host_addresses(settings.media_host_address_list)
        hub = MediaHub(ice_servers=settings.ice_server_list, callbacks=callbacks)
    namespace = (
        ClusterNamespace(nodes=nodes, gate=VisitGate(app), media=hub, origins=settings.origins)
        if nodes is not None
        else VisitNamespace(gate=VisitGate(app), media=hub, origins=settings.origins)
    )
    holder["ns"] = namespace
    sio.register_namespace(namespace)
    sio.attach(app, socketio_path="socket.io")
    realtime = Realtime(sio=sio, namespace=namespace, hub=hub, nodes=nodes)
    app[REALTIME] = realtime
    app[LIVE] = LiveVisits(namespace, hub, nodes)
    app[READING_BUCKETS] = {}
    app.cleanup_ctx.append(_lifecycle)
    return realtime


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    realtime = app[REALTIME]
    if isinstance(realtime.hub, WorkerPool):
        await realtime.hub.start()
    if realtime.nodes is not None:
        await realtime.nodes.start()
    try:
        async with contextlib.AsyncExitStack() as rounds:
            await rounds.enter_async_context(
                every(SWEEP_INTERVAL_S, realtime.namespace.sweep, "session sweep")
            )
            if isinstance(realtime.namespace, ClusterNamespace):
                await rounds.enter_async_context(
                    every(LEASE_S / 3, realtime.namespace.keep_claims, "visit claims")
                )
            yield
    finally:
        await realtime.namespace.close()
        await realtime.hub.close()
        if realtime.nodes is not None:
            await realtime.nodes.close()


async def _on_data_message(
    app: web.Application,
    namespace: VisitNamespace,
    room_id: str,
    participant_id: str,
    label: str,
    text: str,
) -> str | None:
    """A message on a participant's data channel: today only ``readings``."""
    if label != READINGS_CHANNEL:
        return json.dumps(
            {
                "nack": None,
                "code": "unknown_channel",
                "error": f"Hearth has no data channel called {label[:40]!r}.",
            }
        )
    caller = await namespace.caller_of(room_id, participant_id)
    if caller is None or not room_id.startswith("encounter-"):
        return json.dumps({"nack": None, "code": "not_joined", "error": "Join the visit first."})
    buckets = app[READING_BUCKETS]
    if participant_id not in buckets and len(buckets) >= MAX_READING_BUCKETS:
        # Forget the oldest participant's bucket: memory stays bounded over months of visits.
        buckets.pop(next(iter(buckets)))
    bucket = buckets.setdefault(
        participant_id, TokenBucket(rate=READINGS_PER_S, burst=READINGS_BURST)
    )
    if not bucket.take():
        return json.dumps(
            {"nack": None, "code": "rate_limited", "error": "Too many readings at once; slow down."}
        )
    encounter_id = int(room_id.removeprefix("encounter-"))
    svc = app[SERVICES]
    outcome = await accept_message(
        svc.db,
        svc.clock,
        encounter_id=encounter_id,
        text=text,
        who=Enterer(caller.user_id, caller.link_id, caller.role),
    )
    await publish_readings(app, encounter_id, outcome)
    return json.dumps(outcome.reply)

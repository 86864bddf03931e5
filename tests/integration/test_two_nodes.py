"""Two Hearth processes sharing PostgreSQL/SQLite and Redis: an alert raised on one node
reaches a coordinator's console connected to the other."""

from __future__ import annotations

import dataclasses

import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from server.api.health import REDIS_PING
from server.app.factory import create_app
from tests.builders import Agent
from tests.conftest import missing_service
from tests.visit_clients import VisitClient

REDIS_URL = "redis://127.0.0.1:6379/0"


async def _redis_answers() -> bool:
    client = aioredis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001 - any failure means no Redis here
        return False
    finally:
        await client.aclose()


async def test_an_alert_reaches_a_console_on_the_other_node(
    aiohttp_client, settings, clock, world
) -> None:
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    shared = dataclasses.replace(settings, redis_url=REDIS_URL)
    nodes = []
    for _ in range(2):
        server = TestServer(create_app(shared, clock=clock))
        await server.start_server(access_log=None)
        nodes.append(await aiohttp_client(server))
    node_a, node_b = nodes
    # The diary link is issued and used on node A; the coordinator watches on node B.
    coordinator_a = Agent(node_a)
    await coordinator_a.login("coord_a@hearth.test")
    status, link = await coordinator_a.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link
    token = link["diary_link"].rsplit("/", 1)[1]
    console = VisitClient(Agent(node_b))
    await console.agent.login("coord_a@hearth.test")
    await console.connect()
    try:
        family = Agent(node_a)
        status, body = await family.call(
            "POST",
            "/api/diary",
            {
                "token": token,
                "entry": {
                    "client_id": "e-1",
                    "recorded_at": clock.now().isoformat(),
                    "items": {"pain": 9},
                },
            },
        )
        assert status == 201, body
        await console.wait_for(lambda: console.events["alert"], within=10)
        assert console.events["alert"][0]["patient_id"] == world.patients["a"].id
        await family.close()
    finally:
        await console.close()
        await coordinator_a.close()


async def test_readiness_asks_redis_when_nodes_share_rooms(
    aiohttp_client, settings, clock, world
) -> None:
    alone = await aiohttp_client(create_app(settings, clock=clock))
    response = await alone.get("/readyz")
    assert response.status == 200
    assert (await response.json())["redis"] == "not_configured"
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    node = await aiohttp_client(
        create_app(dataclasses.replace(settings, redis_url=REDIS_URL), clock=clock)
    )
    response = await node.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok", "redis": "ok"}

    async def redis_down() -> None:
        raise ConnectionError("Redis is not answering")

    cut_off = create_app(dataclasses.replace(settings, redis_url=REDIS_URL), clock=clock)
    cut_off[REDIS_PING] = redis_down  # type: ignore[assignment]
    node = await aiohttp_client(cut_off)
    response = await node.get("/readyz")
    assert response.status == 503
    assert await response.json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unavailable",
    }

"""The family's waiting room opens 30 minutes before the booked start; the link, the device
check and the clinicians are not held to that window."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from server.app.factory import create_app
from server.store.models import AuditEvent
from tests.builders import World
from tests.visit_clients import VisitClient


@pytest.fixture
async def people(world):  # type: ignore[no-untyped-def]
    clients: list[VisitClient] = []

    async def person(who: str, agent_of: Any = None) -> VisitClient:
        client = VisitClient(await (agent_of or world).agent(who))
        clients.append(client)
        await client.connect()
        return client

    yield person
    for client in clients:
        await client.close()


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_family_is_refused_31_minutes_before_with_the_opening_time_and_let_in_at_29(
    world: World, people, clock, db
) -> None:
    encounter = world.encounters["a"]
    clock.set(encounter.starts_at - dt.timedelta(minutes=31))
    nurse = await people("clin_a")
    assert (await nurse.join(encounter.id))["state"] == "admitted"
    family = await people("family_a")
    refused = await family.join(encounter.id)
    assert refused["code"] == "too_early"
    assert refused["opens_at"] == _iso(encounter.starts_at - dt.timedelta(minutes=30))
    assert "not open yet" in refused["error"]
    assert family.participant_id is None
    # Nobody appeared in the clinician's lobby.
    assert all(not event["waiting"] for event in nurse.events["lobby"])
    async with db.begin() as s:
        rows = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "visit_join"))).all()
    assert {(r.role, r.outcome, r.detail) for r in rows} >= {("family", "denied", "too_early")}

    clock.set(encounter.starts_at - dt.timedelta(minutes=29))
    admitted = await family.join(encounter.id)
    assert admitted["state"] == "lobby" and admitted["role"] == "family"
    await nurse.wait_for(lambda: any(e["waiting"] for e in nurse.events["lobby"]))


async def test_the_lobby_opens_exactly_thirty_minutes_before(world: World, people, clock) -> None:
    encounter = world.encounters["a"]
    clock.set(encounter.starts_at - dt.timedelta(minutes=30, microseconds=1))
    family = await people("family_a")
    assert (await family.join(encounter.id))["code"] == "too_early"
    clock.set(encounter.starts_at - dt.timedelta(minutes=30))
    assert (await family.join(encounter.id))["state"] == "lobby"


async def test_a_link_opened_days_early_still_shows_the_device_check(world: World, clock) -> None:
    clock.set(world.encounters["a"].starts_at - dt.timedelta(days=3))
    visitor = await world.agent(None)
    status, page = await visitor.call("GET", f"/join/{world.tokens['a']}")
    assert status == 200 and 'id="start-check"' in page
    # Giving a name works too; only the waiting room is closed.
    await visitor.join(world.tokens["a"])
    status, page = await visitor.call("GET", "/family")
    assert status == 200 and 'id="too-early"' in page
    assert '"time_zone": "Europe/London"' in page


async def test_clinicians_may_enter_any_time_before(world: World, people, clock) -> None:
    encounter = world.encounters["a"]
    clock.set(encounter.starts_at - dt.timedelta(days=2))
    for who in ("clin_a", "coord_a"):
        nurse = await people(who)
        reply = await nurse.join(encounter.id)
        assert reply["state"] == "admitted" and reply["room_role"] == "host"


async def test_the_window_is_a_setting(
    world: World, settings, clock, aiohttp_client, people
) -> None:
    app = create_app(dataclasses.replace(settings, lobby_opens_minutes=10), clock=clock)
    server = TestServer(app)
    await server.start_server(access_log=None)
    node = await aiohttp_client(server)
    other = World(node, world.db, tokens=world.tokens)
    encounter = world.encounters["a"]
    clock.set(encounter.starts_at - dt.timedelta(minutes=11))
    family = await people("family_a", agent_of=other)
    refused = await family.join(encounter.id)
    assert refused["code"] == "too_early"
    assert refused["opens_at"] == _iso(encounter.starts_at - dt.timedelta(minutes=10))
    clock.set(encounter.starts_at - dt.timedelta(minutes=10))
    assert (await family.join(encounter.id))["state"] == "lobby"
    await other.close()

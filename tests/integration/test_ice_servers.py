"""The ICE server list with a time-limited TURN credential: for people in visits only, one
per session, renewed with a later expiry, and never the shared secret itself."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from typing import Any

import pytest

from server.core.settings import Settings
from server.core.turn import turn_password
from tests.builders import World

TURN_SECRET = "turn-shared-secret-never-sent"
TURN_URLS = "turn:turn.hearth.test:3478?transport=udp,turns:turn.hearth.test:5349?transport=tcp"
STUN = {"urls": "stun:stun.hearth.test:3478"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        ice_servers=json.dumps([STUN]),
        turn_urls=TURN_URLS,
        turn_secret=TURN_SECRET,
        turn_credential_minutes=60,
    )


async def _ice(world: World, who: str | None) -> tuple[int, Any]:
    agent = await world.agent(who)
    return await agent.call("GET", "/api/ice-servers")


def _turn(body: dict[str, Any]) -> dict[str, Any]:
    [turn] = [s for s in body["ice_servers"] if s.get("username")]
    return turn


async def test_the_list_needs_a_session_of_someone_in_visits(world: World) -> None:
    assert (await _ice(world, None))[0] == 401
    for who in ("sched", "admin"):
        status, body = await _ice(world, who)
        assert status == 403 and body["code"] == "forbidden"
    for who in ("clin_a", "coord_a", "family_a"):
        status, body = await _ice(world, who)
        assert status == 200, body
        assert body["ice_servers"][0] == STUN


async def test_the_credential_is_coturns_and_expires_after_the_lifetime(
    world: World, clock, client
) -> None:
    agent = await world.agent("family_a")
    async with agent.http.get(agent.url("/api/ice-servers")) as response:
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    expires = clock.now() + dt.timedelta(minutes=60)
    assert body["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    turn = _turn(body)
    assert turn["urls"] == TURN_URLS.split(",")
    expiry, _, opaque = turn["username"].partition(":")
    assert int(expiry) == int(expires.timestamp())
    assert turn["credential"] == turn_password(TURN_SECRET, turn["username"])

    # Fetched again later (as the page does before expiry): a new credential, a later expiry.
    clock.advance(minutes=55)
    status, renewed = await agent.call("GET", "/api/ice-servers")
    assert status == 200
    again = _turn(renewed)
    assert int(again["username"].partition(":")[0]) == int(expires.timestamp()) + 55 * 60
    assert again["credential"] != turn["credential"]
    assert again["username"].partition(":")[2] == opaque  # the same session, the same id


async def test_each_session_has_its_own_username(world: World) -> None:
    opaque = []
    for who in ("clin_a", "clin_a", "coord_a", "family_a", "family_a"):
        status, body = await _ice(world, who)
        assert status == 200
        opaque.append(_turn(body)["username"].partition(":")[2])
    # Two logins of one clinician, two browsers on one family link: five sessions, five ids.
    assert len(set(opaque)) == 5
    ids = {str(u.id) for u in world.users.values()} | {str(p.id) for p in world.patients.values()}
    for value in opaque:
        assert re.fullmatch(r"[0-9a-f]{20}", value) and value not in ids


async def test_the_visit_pages_carry_the_sessions_credential_not_the_secret(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    nurse = await world.agent("clin_a")
    status, visit_page = await nurse.call("GET", f"/visit/{world.encounters['a'].id}")
    assert status == 200
    family = await world.agent("family_a")
    status, family_page = await family.call("GET", "/family")
    assert status == 200
    status, api = await family.call("GET", "/api/ice-servers")
    for text in (visit_page, family_page, json.dumps(api)):
        assert TURN_SECRET not in text
    for page in (visit_page, family_page):
        data = json.loads(re.search(r'id="page-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
        turn = [s for s in data["ice_servers"] if s.get("username")][0]
        assert turn["credential"] == turn_password(TURN_SECRET, turn["username"])
        assert data["ice_servers_expire_at"]
    assert TURN_SECRET not in caplog.text

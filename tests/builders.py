"""Builders for test data and an HTTP agent with its own cookie jar (one per person)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiohttp
import pytest
from argon2 import PasswordHasher

from server.core import crypto
from server.services.context import SERVICES
from server.services.links import issue_link
from server.store.db import Database
from server.store.models import CareTeam, CareTeamMember, Encounter, FamilyMember, Patient, User

PASSWORD = "correct horse battery staple"
# The shared world's visits start this long after the clock's now.
VISIT_STARTS_IN = dt.timedelta(minutes=20)
# Argon2 is slow by design, and verifying costs what the stored hash's own parameters say.
# Test users get the cheapest parameters, so each of the suite's thousand or so sign-ins costs
# a millisecond instead of a fifth of a second. The defaults (server/core/crypto.py) are
# checked by tests/unit/test_security_primitives.py.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD_HASH = CHEAP_HASHER.hash(PASSWORD)


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """The app's own password hashing with the cheapest parameters, for the integration and
    browser tests: accounts they create through the API or the demo, and the stand-in hash an
    unknown address is checked against, otherwise cost a fifth of a second of CPU each time,
    several hundred times a run, while what those tests check is the same either way."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crypto, "_hasher", CHEAP_HASHER)
        crypto._dummy_hash.cache_clear()
        try:
            yield
        finally:
            crypto._dummy_hash.cache_clear()


class Agent:
    """One person's browser: a cookie jar, the CSRF token, JSON in and out."""

    # Every agent not yet closed, so that the test's teardown closes those a test made on its
    # own (close_open_agents); a session left open is reported by asyncio whenever it is
    # collected, in whichever later test that happens.
    open: ClassVar[set[Agent]] = set()

    def __init__(self, client: Any) -> None:
        self.client = client
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf: str | None = None
        Agent.open.add(self)

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
        data: bytes | str | None = None,
    ) -> tuple[int, Any]:
        all_headers = dict(headers or {})
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            all_headers.setdefault("X-CSRF-Token", self.csrf)
        async with self.http.request(
            method, self.url(path), json=json, data=data, headers=all_headers
        ) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        status, body = await self.call(
            "POST", "/api/session", {"email": email, "password": password}
        )
        assert status == 200, body
        self.csrf = body["csrf_token"]
        return body

    async def join(self, token: str, name: str = "Ben") -> dict[str, Any]:
        status, body = await self.call("POST", "/api/join", {"token": token, "display_name": name})
        assert status == 200, body
        self.csrf = body["csrf_token"]
        return body

    async def close(self) -> None:
        Agent.open.discard(self)
        await self.http.close()


async def close_open_agents() -> None:
    for agent in list(Agent.open):
        await agent.close()


@dataclass
class World:
    """Two care teams (A and B), a patient and a video visit each, and staff of every role."""

    client: Any
    db: Database
    users: dict[str, User] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    encounters: dict[str, Encounter] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    link_ids: dict[str, int] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)

    @classmethod
    async def build(cls, client: Any, db: Database, clock: Any) -> World:
        world = cls(client, db)
        now = clock.now()
        async with db.begin() as s:
            for key, role in [
                ("clin_a", "clinician"),
                ("coord_a", "coordinator"),
                ("clin_b", "clinician"),
                ("coord_b", "coordinator"),
                ("sched", "scheduler"),
                ("admin", "admin"),
            ]:
                user = User(
                    email=f"{key}@hearth.test",
                    name=f"Staff {key}",
                    role=role,
                    password_hash=PASSWORD_HASH,
                    active=True,
                    time_zone="UTC",
                    created_at=now,
                )
                s.add(user)
                world.users[key] = user
            await s.flush()
            for team in ("a", "b"):
                patient = Patient(
                    name=f"Patient {team.upper()}",
                    birth_date=dt.date(1940, 1, 2),
                    time_zone="Europe/London",
                    language="en",
                    created_at=now,
                )
                s.add(patient)
                await s.flush()
                care_team = CareTeam(patient_id=patient.id, name=f"Team {team}")
                s.add(care_team)
                await s.flush()
                s.add_all(
                    [
                        CareTeamMember(
                            care_team_id=care_team.id, user_id=world.users[f"clin_{team}"].id
                        ),
                        CareTeamMember(
                            care_team_id=care_team.id, user_id=world.users[f"coord_{team}"].id
                        ),
                    ]
                )
                s.add(
                    FamilyMember(
                        patient_id=patient.id,
                        name=f"Family {team}",
                        relationship_="daughter",
                        email=f"fam{team}@hearth.test",
                        created_at=now,
                    )
                )
                encounter = Encounter(
                    patient_id=patient.id,
                    clinician_id=world.users[f"clin_{team}"].id,
                    kind="video_visit",
                    template="home_palliative_visit",
                    status="planned",
                    # Inside the waiting room's window (HEARTH_LOBBY_OPENS_MINUTES, 30 by
                    # default), so the family can join the visit's room at once.
                    starts_at=now + VISIT_STARTS_IN,
                    ends_at=now + VISIT_STARTS_IN + dt.timedelta(hours=1),
                    is_drill=False,
                    created_at=now,
                )
                s.add(encounter)
                await s.flush()
                world.patients[team] = patient
                world.encounters[team] = encounter
        settings = client.app[SERVICES].settings
        async with db.begin() as s:
            for team, encounter in world.encounters.items():
                token, link = await issue_link(s, settings, encounter, created_by=None, now=now)
                world.tokens[team] = token
                world.link_ids[team] = link.id
        return world

    async def agent(self, who: str | None = None) -> Agent:
        """A browser signed in as staff ``who`` ("clin_a", ...), or "family_a", or anonymous."""
        agent = Agent(self.client)
        self.agents.append(agent)
        if who is None:
            return agent
        if who.startswith("family_"):
            await agent.join(self.tokens[who.removeprefix("family_")])
        else:
            await agent.login(self.users[who].email)
        return agent

    async def close(self) -> None:
        for agent in self.agents:
            await agent.close()

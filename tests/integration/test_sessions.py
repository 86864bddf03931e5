"""Logins: cookies, idle and absolute expiry, logout, CSRF, Origin, rate limits."""

from __future__ import annotations

from sqlalchemy import func, select

from server.core.settings import Settings
from server.store.models import AuditEvent
from server.store.models import Session as SessionRow
from tests.builders import PASSWORD, Agent


async def test_login_sets_an_httponly_lax_session_cookie(client, world) -> None:
    response = await client.post(
        "/api/session", json={"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert response.status == 200
    body = await response.json()
    assert body["role"] == "clinician" and body["kind"] == "staff"
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert "hearth_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # served over plain http in this test


async def test_cookie_is_secure_behind_https(aiohttp_client, database_url, clock, tmp_path) -> None:
    from server.app.factory import create_app
    from tests.builders import World

    settings = Settings(
        database_url=database_url,
        secret_key="k" * 32,
        public_url="https://hearth.example.org",
        var_dir=str(tmp_path),
        media_workers="0",
    )
    client = await aiohttp_client(create_app(settings, clock=clock))
    from server.services.context import SERVICES

    world = await World.build(client, client.app[SERVICES].db, clock)
    response = await client.post(
        "/api/session", json={"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    await world.close()


async def test_wrong_password_and_unknown_email_get_the_same_401(client, world) -> None:
    agent = await world.agent()
    wrong = await agent.call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "not the password"}
    )
    unknown = await agent.call(
        "POST", "/api/session", {"email": "nobody@hearth.test", "password": "not the password"}
    )
    assert wrong == unknown
    assert wrong[0] == 401 and wrong[1]["code"] == "bad_credentials"


async def test_login_body_errors_name_the_field(client, world) -> None:
    agent = await world.agent()
    status, body = await agent.call("POST", "/api/session", {"email": "a@b.c"})
    assert status == 422 and body["field"] == "password" and body["code"] == "invalid_field"
    status, body = await agent.call("POST", "/api/session", {"email": 5, "password": "x"})
    assert status == 422 and body["field"] == "email"
    status, body = await agent.call("POST", "/api/session", ["not", "an", "object"])
    assert status == 422


async def test_a_new_session_id_is_issued_at_each_login(client, world, db) -> None:
    agent = await world.agent("clin_a")
    first = {c.key: c.value for c in agent.http.cookie_jar}["hearth_session"]
    await agent.login("clin_a@hearth.test")
    second = {c.key: c.value for c in agent.http.cookie_jar}["hearth_session"]
    assert first != second
    async with db.begin() as s:
        # The session the second login replaced is gone, not merely shadowed.
        assert await s.scalar(select(func.count()).select_from(SessionRow)) == 1


async def test_logout_ends_the_session_server_side(client, world) -> None:
    agent = await world.agent("clin_a")
    cookie = {c.key: c.value for c in agent.http.cookie_jar}["hearth_session"]
    status, _ = await agent.call("DELETE", "/api/session")
    assert status == 204
    replay = await client.get("/api/session", cookies={"hearth_session": cookie})
    assert replay.status == 401


async def test_session_survives_14_minutes_59_of_idleness(client, world, clock) -> None:
    agent = await world.agent("clin_a")
    clock.advance(minutes=14, seconds=59)
    status, _ = await agent.call("GET", "/api/session")
    assert status == 200


async def test_session_ends_after_15_idle_minutes(client, world, clock) -> None:
    agent = await world.agent("clin_a")
    clock.advance(minutes=15, seconds=1)
    status, body = await agent.call("GET", "/api/patients/1")
    assert status == 401 and body["code"] == "session_expired"
    status, body = await agent.call("GET", "/api/session")
    assert status == 401


async def test_activity_keeps_a_session_alive_until_its_12_hour_limit(client, world, clock) -> None:
    agent = await world.agent("clin_a")
    for _ in range(11 * 6):  # a request every 10 minutes for 11 hours
        clock.advance(minutes=10)
        status, _ = await agent.call("GET", "/api/session")
        assert status == 200
    clock.advance(minutes=60)
    status, body = await agent.call("GET", "/api/session")
    assert status == 401 and body["code"] == "session_expired"


async def test_writes_without_the_csrf_token_are_refused(client, world) -> None:
    agent = await world.agent("clin_a")
    body = {"name": "X", "relationship": "son"}
    status, reply = await agent.call(
        "POST", f"/api/patients/{world.patients['a'].id}/family", body, csrf=False
    )
    assert status == 403 and reply["code"] == "csrf_failed"
    status, reply = await agent.call(
        "POST",
        f"/api/patients/{world.patients['a'].id}/family",
        body,
        csrf=False,
        headers={"X-CSRF-Token": "forged"},
    )
    assert status == 403 and reply["code"] == "csrf_failed"
    status, _ = await agent.call("POST", f"/api/patients/{world.patients['a'].id}/family", body)
    assert status == 201


async def test_writes_from_a_foreign_origin_are_refused(client, world) -> None:
    agent = await world.agent()
    status, body = await agent.call(
        "POST",
        "/api/session",
        {"email": "clin_a@hearth.test", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403 and body["code"] == "bad_origin"
    status, _ = await agent.call(
        "POST",
        "/api/session",
        {"email": "clin_a@hearth.test", "password": PASSWORD},
        headers={"Origin": "http://hearth.test"},
    )
    assert status == 200


async def test_five_wrong_passwords_throttle_the_account(client, world, clock) -> None:
    agent = await world.agent()
    for _ in range(5):
        status, _ = await agent.call(
            "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong"}
        )
        assert status == 401
    # Even the right password waits: otherwise the throttle would confirm a guess.
    async with agent.http.post(
        agent.url("/api/session"), json={"email": "clin_a@hearth.test", "password": PASSWORD}
    ) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) > 0
        assert (await r.json())["code"] == "rate_limited"
    clock.advance(minutes=15, seconds=1)
    await agent.login("clin_a@hearth.test")


async def test_many_failures_from_one_address_throttle_every_account(client, world) -> None:
    agent = await world.agent()
    for i in range(20):
        status, _ = await agent.call(
            "POST", "/api/session", {"email": f"guess{i}@hearth.test", "password": "wrong"}
        )
        assert status == 401
    status, body = await agent.call(
        "POST", "/api/session", {"email": "clin_b@hearth.test", "password": PASSWORD}
    )
    assert status == 429


async def test_failed_and_successful_logins_are_audited(client, world, db) -> None:
    agent = await world.agent()
    await agent.call("POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong"})
    await agent.login("clin_a@hearth.test")
    async with db.begin() as s:
        rows = (
            await s.scalars(
                select(AuditEvent).where(AuditEvent.action == "login").order_by(AuditEvent.id)
            )
        ).all()
    assert [(r.actor_id, r.outcome) for r in rows] == [
        (world.users["clin_a"].id, "failure"),
        (world.users["clin_a"].id, "success"),
    ]
    assert all(r.address for r in rows)


async def test_disabling_an_account_ends_its_sessions(client, world) -> None:
    clinician = await world.agent("clin_a")
    admin = await world.agent("admin")
    status, body = await admin.call(
        "PATCH", f"/api/users/{world.users['clin_a'].id}", {"active": False}
    )
    assert status == 200 and body["active"] is False
    status, _ = await clinician.call("GET", "/api/session")
    assert status == 401
    fresh = Agent(client)
    world.agents.append(fresh)
    status, _ = await fresh.call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert status == 401


async def test_session_answers_for_family_sessions_too(client, world) -> None:
    family = await world.agent("family_a")
    status, body = await family.call("GET", "/api/session")
    assert status == 200
    assert body["kind"] == "family" and body["role"] == "family"
    assert body["encounter_id"] == world.encounters["a"].id
    assert body["csrf_token"] == family.csrf

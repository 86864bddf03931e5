"""Throttles: an attempt is counted before its secret is checked, on one node or across nodes
sharing Redis, and keyed by the real client address so nobody locks out somebody else."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from sqlalchemy import select

import server.api.session
from server.app.factory import create_app
from server.store.models import AuditEvent
from tests.builders import PASSWORD, Agent, World
from tests.conftest import missing_service

REDIS_URL = "redis://127.0.0.1:6379/0"
# The test client reaches the app from loopback: that is "the reverse proxy".
PROXY = "127.0.0.1,::1"
ALICE, BOB = "203.0.113.5", "198.51.100.7"


async def _redis_answers() -> bool:
    client = aioredis.from_url(REDIS_URL)
    try:
        return bool(await client.ping())
    except Exception:  # noqa: BLE001 - any failure means no Redis here
        return False
    finally:
        await client.aclose()


@pytest.fixture
def verified(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords the login handler actually checked (argon2 verifications)."""
    seen: list[str] = []
    real: Callable[[str | None, str], bool] = server.api.session.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(server.api.session, "verify_password", counting)
    return seen


@pytest.fixture
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain comparison for tests that count dozens of failures: argon2 is not what they are
    about, and dozens of real verifications only make them slow."""
    monkeypatch.setattr(server.api.session, "verify_password", lambda _h, p: p == PASSWORD)


@pytest.fixture
def start_node(aiohttp_client, clock) -> Callable[..., Any]:  # type: ignore[no-untyped-def]
    """Start another app node on the test database with some settings changed."""

    async def start(settings: Any, **changes: Any) -> Any:
        app = create_app(dataclasses.replace(settings, **changes), clock=clock)
        server = TestServer(app)
        await server.start_server(access_log=None)
        return await aiohttp_client(server)

    return start


@pytest.fixture
async def redis_nodes(start_node, settings, world) -> list[Any]:  # type: ignore[no-untyped-def]
    """Two nodes sharing one Redis. Their own secret keeps this test's counters apart from
    any other test's on the same Redis (counter names are keyed hashes under the secret)."""
    if not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    secret = f"throttle-test-{uuid.uuid4().hex}"
    return [await start_node(settings, redis_url=REDIS_URL, secret_key=secret) for _ in range(2)]


@pytest.fixture
async def proxied(start_node, settings, world) -> AsyncIterator[Callable[[str], Agent]]:  # type: ignore[no-untyped-def]
    """A node behind a trusted reverse proxy; ``person(address)`` is a browser whose requests
    the proxy forwards with that client address appended to X-Forwarded-For."""
    node = await start_node(settings, trusted_proxies=PROXY)
    agents: list[Agent] = []

    def person(address: str) -> Agent:
        agent = Agent(node)
        original = agent.call

        async def call(method: str, path: str, json: Any = None, **kw: Any) -> tuple[int, Any]:
            headers = dict(kw.pop("headers", None) or {})
            forged = headers.pop("X-Forwarded-For", None)
            # What nginx's $proxy_add_x_forwarded_for sends: the client's header, then its peer.
            headers["X-Forwarded-For"] = f"{forged}, {address}" if forged else address
            return await original(method, path, json, headers=headers, **kw)

        agent.call = call  # type: ignore[method-assign]
        agents.append(agent)
        return agent

    yield person
    for agent in agents:
        await agent.close()


async def _login(client: Any, password: str, email: str = "clin_a@hearth.test") -> int:
    response = await client.post("/api/session", json={"email": email, "password": password})
    await response.read()
    return int(response.status)


# -- counted before checked --------------------------------------------------------------------


async def test_forty_parallel_wrong_passwords_get_five_checks(client, world, verified) -> None:
    statuses = await asyncio.gather(*(_login(client, f"wrong-{i}") for i in range(40)))
    assert len(verified) == 5
    assert Counter(statuses) == {401: 5, 429: 35}


async def test_nodes_given_redis_count_there(redis_nodes, client) -> None:
    from server.services.context import SERVICES
    from server.services.ratelimit import MemoryAttempts, RedisAttempts

    assert isinstance(redis_nodes[0].app[SERVICES].attempts, RedisAttempts)
    assert isinstance(client.app[SERVICES].attempts, MemoryAttempts)


async def test_parallel_guesses_on_two_nodes_sharing_redis_get_five_checks(
    redis_nodes, verified
) -> None:
    node_a, node_b = redis_nodes
    statuses = await asyncio.gather(
        *(_login(node_a if i % 2 else node_b, f"wrong-{i}") for i in range(40))
    )
    assert len(verified) == 5
    assert Counter(statuses) == {401: 5, 429: 35}


async def test_failures_on_two_nodes_count_together(redis_nodes, verified) -> None:
    node_a, node_b = redis_nodes
    assert [await _login(node_a, "wrong") for _ in range(3)] == [401] * 3
    assert [await _login(node_b, "wrong") for _ in range(2)] == [401] * 2
    # Five failures in all: each node now refuses, even the right password.
    assert await _login(node_b, PASSWORD) == 429
    assert await _login(node_a, PASSWORD) == 429
    assert len(verified) == 5
    keys = await _redis_keys()
    assert keys and not any("@" in key or "hearth.test" in key for key in keys)


async def _redis_keys() -> list[str]:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        return [key async for key in client.scan_iter("hearth:attempts:*")]
    finally:
        await client.aclose()


async def test_a_right_password_is_given_back_and_forgives_mistypes(
    client, world, quick_passwords
) -> None:
    for _ in range(2):
        for _ in range(4):
            assert await _login(client, "wrong") == 401
        assert await _login(client, PASSWORD) == 200
    # Without the forgiveness, the eighth failure would have been refused long ago.
    assert [await _login(client, "wrong") for _ in range(5)] == [401] * 5
    assert await _login(client, PASSWORD) == 429


async def test_parallel_link_guesses_get_ten_lookups(client, world) -> None:
    async def guess(i: int) -> int:
        body = {"token": f"guess-{i:040d}", "display_name": "Eve"}
        response = await client.post("/api/join", json=body)
        await response.read()
        return int(response.status)

    statuses = await asyncio.gather(*(guess(i) for i in range(30)))
    assert Counter(statuses) == {401: 10, 429: 20}


# -- keyed by the real client, behind a trusted proxy -----------------------------------------


async def test_behind_the_proxy_a_guesser_does_not_lock_the_owner_out(
    proxied, db, quick_passwords
) -> None:
    alice, bob = proxied(ALICE), proxied(BOB)
    for _ in range(5):
        status, _ = await alice.call(
            "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong"}
        )
        assert status == 401
    status, _ = await alice.call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert status == 429
    # Bob, somewhere else, is the account's owner and knows the password.
    await bob.login("clin_a@hearth.test")
    async with db.begin() as s:
        rows = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "login"))).all()
    assert Counter((r.address, r.outcome) for r in rows) == {
        (ALICE, "failure"): 5,
        (ALICE, "rate_limited"): 1,
        (BOB, "success"): 1,
    }


async def test_behind_the_proxy_one_address_flooding_does_not_throttle_another(
    proxied, quick_passwords
) -> None:
    alice, bob = proxied(ALICE), proxied(BOB)
    for i in range(20):
        status, _ = await alice.call(
            "POST", "/api/session", {"email": f"guess{i}@hearth.test", "password": "wrong"}
        )
        assert status == 401
    status, _ = await alice.call(
        "POST", "/api/session", {"email": "clin_b@hearth.test", "password": PASSWORD}
    )
    assert status == 429
    await bob.login("clin_b@hearth.test")


async def test_behind_the_proxy_link_guessing_does_not_lock_a_family_out(
    proxied, world: World
) -> None:
    coordinator = await world.agent("coord_a")
    status, link = await coordinator.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link
    diary_token = link["diary_link"].rsplit("/", 1)[1]
    eve, family = proxied(ALICE), proxied(BOB)
    for i in range(10):
        status, _ = await eve.call(
            "POST", "/api/join", {"token": f"guess-{i:040d}", "display_name": "Eve"}
        )
        assert status == 401
    entry = {"client_id": "e-1", "recorded_at": "2026-03-02T08:30:00+00:00", "items": {"pain": 2}}
    status, _ = await eve.call("POST", "/api/diary", {"token": diary_token, "entry": entry})
    assert status == 429
    status, body = await family.call("POST", "/api/diary", {"token": diary_token, "entry": entry})
    assert status == 201, body
    await family.join(world.tokens["a"])


async def test_behind_the_proxy_a_forged_left_hop_changes_nothing(proxied, quick_passwords) -> None:
    mallory, bob = proxied(ALICE), proxied(BOB)
    for i in range(5):
        status, _ = await mallory.call(
            "POST",
            "/api/session",
            {"email": "clin_a@hearth.test", "password": "wrong"},
            headers={"X-Forwarded-For": f"192.0.2.{i}"},
        )
        assert status == 401
    status, _ = await mallory.call(
        "POST",
        "/api/session",
        {"email": "clin_a@hearth.test", "password": PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.99"},
    )
    assert status == 429
    await bob.login("clin_a@hearth.test")


async def test_spreading_over_many_addresses_meets_the_account_ceiling(
    proxied, quick_passwords
) -> None:
    for n in range(10):
        guesser = proxied(f"192.0.2.{n}")
        for _ in range(5):
            status, _ = await guesser.call(
                "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong"}
            )
            assert status == 401
    status, _ = await proxied("192.0.2.200").call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert status == 429


async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
    start_node, settings, world, db, quick_passwords
) -> None:
    # Trusting another network: the loopback peer is not a proxy, so its header is a lie.
    node = await start_node(settings, trusted_proxies="10.0.0.0/8")
    for i in range(5):
        status = await _forged_login(node, f"203.0.113.{i}", "wrong")
        assert status == 401
    assert await _forged_login(node, "198.51.100.7", PASSWORD) == 429
    async with db.begin() as s:
        addresses = set(
            await s.scalars(select(AuditEvent.address).where(AuditEvent.action == "login"))
        )
    assert addresses == {"127.0.0.1"}


async def _forged_login(node: Any, forged: str, password: str) -> int:
    response = await node.post(
        "/api/session",
        json={"email": "clin_a@hearth.test", "password": password},
        headers={"X-Forwarded-For": forged},
    )
    await response.read()
    return int(response.status)


async def test_a_visit_socket_works_through_the_trusted_proxy(proxied, world: World) -> None:
    from tests.visit_clients import VisitClient

    family = proxied(ALICE)
    await family.join(world.tokens["a"])
    socket = VisitClient(family)
    cookies = "; ".join(f"{c.key}={c.value}" for c in family.http.cookie_jar)
    try:
        # The request whose address the middleware replaces is also the WebSocket upgrade.
        await socket.sio.connect(
            family.url("/"),
            headers={"Origin": socket.origin, "Cookie": cookies, "X-Forwarded-For": ALICE},
            namespaces=["/visit"],
            transports=["websocket"],
            socketio_path="socket.io",
            wait_timeout=10,
        )
        reply = await socket.join(world.encounters["a"].id)
        assert reply.get("participant_id"), reply
    finally:
        await socket.close()


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_both_stores_count_the_same_sliding_window(store: str) -> None:
    from server.services.ratelimit import Limit, MemoryAttempts, RedisAttempts

    if store == "redis" and not await _redis_answers():
        missing_service("Redis at 127.0.0.1:6379")
    attempts = (
        MemoryAttempts()
        if store == "memory"
        else RedisAttempts(REDIS_URL, f"throttle-test-{uuid.uuid4().hex}")
    )
    t0 = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
    per_key = ("k", Limit(3, dt.timedelta(minutes=10)))
    roomy = ("roomy", Limit(100, dt.timedelta(minutes=10)))
    try:
        reserved = [
            await attempts.reserve((roomy, per_key), t0 + dt.timedelta(minutes=m)) for m in range(3)
        ]
        assert not any(a.refused for a in reserved)
        refused = await attempts.reserve((roomy, per_key), t0 + dt.timedelta(minutes=3))
        assert refused.retry_after == 7 * 60 + 1
        # The first attempt leaves the window at exactly t0 + 10 min.
        later = t0 + dt.timedelta(minutes=10)
        assert (await attempts.reserve((per_key,), later - dt.timedelta(microseconds=1))).refused
        assert not (await attempts.reserve((per_key,), later)).refused
        # Given back: the attempt at minute 1 no longer counts; cleared: nothing does.
        await attempts.release(reserved[1])
        assert not (await attempts.reserve((per_key,), later)).refused
        assert (await attempts.reserve((per_key,), later)).refused
        await attempts.clear("k")
        assert not (await attempts.reserve((per_key,), later)).refused
    finally:
        await attempts.close()


async def test_a_redis_that_does_not_answer_refuses_rather_than_lets_through() -> None:
    from server.services.errors import ApiError
    from server.services.ratelimit import Limit, RedisAttempts

    attempts = RedisAttempts("redis://127.0.0.1:1/0", "any-secret")
    try:
        with pytest.raises(ApiError) as refused:
            await attempts.reserve(
                (("k", Limit(5, dt.timedelta(minutes=1))),), dt.datetime.now(dt.UTC)
            )
        assert refused.value.status == 503 and refused.value.headers["Retry-After"]
    finally:
        await attempts.close()


# -- the family's link pages -------------------------------------------------------------------


@pytest.fixture
async def behind_proxy(start_node, settings, world) -> Any:  # type: ignore[no-untyped-def]
    """A node behind the trusted reverse proxy, for requests that name their client address."""
    return await start_node(settings, trusted_proxies=PROXY)


async def _open(node: Any, path: str, address: str | None = None) -> tuple[int, str, Any]:
    """GET a page as a browser at ``address`` (forwarded by the proxy): status, body, headers."""
    headers = {"X-Forwarded-For": address} if address else {}
    response = await node.get(path, headers=headers, allow_redirects=False)
    body = await response.text()
    return int(response.status), body, response.headers


async def _diary_token(world: World) -> str:
    coordinator = await world.agent("coord_a")
    status, link = await coordinator.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link
    return str(link["diary_link"].rsplit("/", 1)[1])


@pytest.mark.parametrize("page", ["join", "diary"])
async def test_parallel_guesses_at_a_link_page_are_throttled_while_a_real_link_opens_elsewhere(
    behind_proxy, world: World, page: str
) -> None:
    real = world.tokens["a"] if page == "join" else await _diary_token(world)
    opened = await asyncio.gather(
        *(_open(behind_proxy, f"/{page}/guess-{i:040d}", ALICE) for i in range(30))
    )
    assert Counter(status for status, _, _ in opened) == {404: 10, 429: 20}
    status, body, headers = next(o for o in opened if o[0] == 429)
    # A page a family member may see, not an API error: calm words, who to call, when to retry.
    assert headers["Content-Type"].startswith("text/html")
    assert 1 <= int(headers["Retry-After"]) <= 61
    assert "Please wait a moment" in body and "+44 20 7946 0000" in body
    assert '"code"' not in body
    # The guesser is still throttled, with the real link too; a family elsewhere is not.
    assert (await _open(behind_proxy, f"/{page}/{real}", ALICE))[0] == 429
    assert (await _open(behind_proxy, f"/{page}/{real}", BOB))[0] == 200


async def test_link_pages_and_the_link_api_share_one_window(behind_proxy, world: World) -> None:
    for i in range(5):
        assert (await _open(behind_proxy, f"/join/guess-{i:040d}", ALICE))[0] == 404
        assert (await _open(behind_proxy, f"/diary/guess-{i:040d}", ALICE))[0] == 404
    response = await behind_proxy.post(
        "/api/join",
        json={"token": world.tokens["a"], "display_name": "Eve"},
        headers={"X-Forwarded-For": ALICE},
    )
    assert response.status == 429, await response.text()


async def test_a_family_reloading_its_own_links_is_never_throttled(
    behind_proxy, world: World
) -> None:
    diary = await _diary_token(world)
    # A reload follows the last one's answer: each view is given back before the next. (Views
    # sent all at once hold places in the window until their lookups end, as guesses do.)
    views = []
    for _ in range(30):
        views.append((await _open(behind_proxy, f"/join/{world.tokens['a']}", BOB))[0])
        views.append((await _open(behind_proxy, f"/diary/{diary}", BOB))[0])
    assert views == [200] * 60
    # Those sixty views were given back: ten guesses still get as far as the lookup.
    guesses = [(await _open(behind_proxy, f"/join/guess-{i:040d}", BOB))[0] for i in range(11)]
    assert guesses == [404] * 10 + [429]


async def test_expired_and_revoked_links_count_as_failed_lookups(
    behind_proxy, world: World, clock
) -> None:
    scheduler = await world.agent("sched")
    encounter_id = world.encounters["a"].id
    status, _ = await scheduler.call(
        "DELETE", f"/api/encounters/{encounter_id}/links/{world.link_ids['a']}"
    )
    assert status == 204
    clock.set(world.encounters["b"].ends_at + dt.timedelta(hours=3))
    revoked = [
        (await _open(behind_proxy, f"/join/{world.tokens['a']}", ALICE))[0] for _ in range(5)
    ]
    expired = [
        (await _open(behind_proxy, f"/join/{world.tokens['b']}", ALICE))[0] for _ in range(6)
    ]
    assert revoked == [410] * 5
    assert expired == [410] * 5 + [429]


async def test_link_page_guesses_on_two_nodes_sharing_redis_count_together(
    redis_nodes,
) -> None:
    node_a, node_b = redis_nodes
    opened = await asyncio.gather(
        *(_open(node_a if i % 2 else node_b, f"/join/guess-{i:040d}") for i in range(30))
    )
    assert Counter(status for status, _, _ in opened) == {404: 10, 429: 20}

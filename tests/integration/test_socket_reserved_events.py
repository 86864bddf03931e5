"""A client that sends event packets named like Socket.IO's own connection events.

python-socketio hands an ordinary event packet called ``disconnect`` or ``connect`` to the
namespace's connection handlers. These tests send such packets at the wire level and check
that the app never forgets a socket that is still connected (so revoking, disabling, expiry
and the sweep still reach it within 5 s) and never takes a forged environ for a handshake.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.raw_socketio import RawSocket
from tests.visit_clients import VisitClient

WITHIN_S = 5.0


@pytest.fixture
async def sockets(world):  # type: ignore[no-untyped-def]
    opened: list[RawSocket | VisitClient] = []

    async def raw(who: str) -> RawSocket:
        sock = RawSocket(await world.agent(who))
        opened.append(sock)
        await sock.connect()
        return sock

    async def client(who: str) -> VisitClient:
        visit_client = VisitClient(await world.agent(who))
        opened.append(visit_client)
        await visit_client.connect()
        return visit_client

    yield raw, client
    for sock in opened:
        await sock.close()


async def _admitted_family(world, sockets):  # type: ignore[no-untyped-def]
    raw, client = sockets
    encounter_id = world.encounters["a"].id
    nurse = await client("clin_a")
    await nurse.join(encounter_id)
    family = await raw("family_a")
    joined = await family.send("join", {"encounter_id": encounter_id})
    assert joined["state"] == "lobby"
    assert await nurse.call("admit", {"participant_id": joined["participant_id"]}) == {"ok": True}
    return nurse, family


async def _sends_reserved_names(sock: RawSocket) -> None:
    for name in ("disconnect", "connect", "connect_error", "disconnecting"):
        refused = await sock.send(name, "io client disconnect")
        assert refused["code"] == "reserved_event"
        await sock.send(name, ack=False)  # and without an acknowledgement id
    # The socket is still known to the app: a visit event still works.
    assert await sock.send("quality", {"level": "good"}) == {"ok": True}


async def test_a_fake_disconnect_then_revoking_the_link_reaches_the_socket(world, sockets) -> None:
    nurse, family = await _admitted_family(world, sockets)
    await _sends_reserved_names(family)
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "DELETE", f"/api/encounters/{world.encounters['a'].id}/links/{world.link_ids['a']}"
    )
    assert status == 204
    await asyncio.wait_for(family.namespace_closed.wait(), WITHIN_S)
    assert "denied" in family.names()
    # Nothing of the visit reaches that socket any more.
    seen = len(family.events)
    assert await nurse.call("quality", {"level": "fair"}) == {"ok": True}
    await nurse.wait_for(lambda: nurse.events["participants"])
    await asyncio.sleep(0.5)
    assert family.events[seen:] == []
    roster = nurse.events["participants"][-1]
    assert [p["role"] for p in roster] == ["clinician"]


async def test_a_fake_disconnect_then_disabling_the_account_reaches_the_socket(
    world, sockets
) -> None:
    raw, _client = sockets
    console = await raw("coord_a")  # a staff socket outside any visit (the alert console)
    await _sends_reserved_names_outside_a_visit(console)
    admin = await world.agent("admin")
    status, _ = await admin.call(
        "PATCH", f"/api/users/{world.users['coord_a'].id}", {"active": False}
    )
    assert status == 200
    await asyncio.wait_for(console.namespace_closed.wait(), WITHIN_S)


async def _sends_reserved_names_outside_a_visit(sock: RawSocket) -> None:
    for name in ("disconnect", "connect"):
        assert (await sock.send(name, {}))["code"] == "reserved_event"
    assert (await sock.send("quality", {"level": "good"}))["code"] == "not_joined"


async def test_a_fake_disconnect_does_not_escape_the_sweep(world, sockets, clock) -> None:
    raw, _client = sockets
    console = await raw("coord_a")
    await _sends_reserved_names_outside_a_visit(console)
    clock.advance(minutes=16)  # past the idle limit of a staff session
    await asyncio.wait_for(console.namespace_closed.wait(), WITHIN_S)


async def test_a_fake_disconnect_does_not_escape_the_rate_limit(world, sockets) -> None:
    _nurse, family = await _admitted_family(world, sockets)
    await _sends_reserved_names(family)
    answers = await asyncio.gather(*(family.send("quality", {"level": "good"}) for _ in range(150)))
    assert {"code": "rate_limited", "error": "Too many messages; slow down."} in answers


async def test_a_forged_connect_cannot_change_who_is_on_the_socket(world, sockets) -> None:
    raw, _client = sockets
    staff = await world.agent("clin_a")
    staff_cookie = "; ".join(f"{c.key}={c.value}" for c in staff.http.cookie_jar)
    family = await raw("family_a")
    forged = {"HTTP_COOKIE": staff_cookie, "HTTP_ORIGIN": "http://hearth.test"}
    assert (await family.send("connect", forged))["code"] == "reserved_event"
    joined = await family.send("join", {"encounter_id": world.encounters["a"].id})
    assert joined["room_role"] == "guest" and joined["state"] == "lobby"
    assert (await family.send("admit", {"participant_id": joined["participant_id"]}))[
        "code"
    ] == "forbidden"


async def test_packets_without_a_usable_event_name_are_refused(world, sockets) -> None:
    raw, _client = sockets
    sock = await raw("clin_a")
    assert sock.ws is not None
    await sock.ws.send_str("42/visit,7[]")
    await sock.ws.send_str('42/visit,8[12,{"a":1}]')
    await sock.ws.send_str("42/visit,9[null]")
    for packet_id in (7, 8, 9):
        for _ in range(100):
            if packet_id in sock.acks:
                break
            await asyncio.sleep(0.05)
        assert sock.acks[packet_id][0]["code"] == "reserved_event"
    assert (await sock.send("quality", {"level": "good"}))["code"] == "not_joined"

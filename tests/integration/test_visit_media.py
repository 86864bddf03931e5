"""Media through Hearth's server between real aiortc peers, driven through /visit."""

from __future__ import annotations

import pytest

from server.realtime.wiring import REALTIME
from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")

MAGENTA, CYAN, YELLOW = (255, 0, 255), (0, 255, 255), (255, 255, 0)


@pytest.fixture
async def visit(world):  # type: ignore[no-untyped-def]
    clients: list[VisitClient] = []
    encounter_id = world.encounters["a"].id

    async def enter(who: str) -> VisitClient:
        client = VisitClient(await world.agent(who))
        clients.append(client)
        await client.connect()
        await client.join(encounter_id)
        return client

    yield enter
    for client in clients:
        await client.close()


def _close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) < 60 for x, y in zip(a, b, strict=True))


async def test_three_people_each_see_and_hear_the_other_two(world, visit, client) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    daughter = await visit("family_a")
    for family in (son, daughter):
        assert await nurse.call("admit", {"participant_id": family.participant_id}) == {"ok": True}
    colours = {nurse: MAGENTA, son: CYAN, daughter: YELLOW}
    for person, rgb in colours.items():
        reply = await person.publish(rgb)
        assert reply["type"] == "answer"
    for person in colours:
        others = [p for p in colours if p is not person]
        await person.wait_for(
            lambda person=person, others=others: all(
                person.frames_from(o.participant_id) > 5 for o in others
            ),
            within=30,
        )
        for other in others:
            assert _close(person.last_colour[other.participant_id], colours[other])
            assert person.remote_kinds[other.participant_id] == {"audio", "video"}


async def test_nobody_in_the_lobby_sends_or_receives_media(world, visit, client) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    await nurse.call("admit", {"participant_id": son.participant_id})
    waiting = await visit("family_a")
    await nurse.publish(MAGENTA)
    await son.publish(CYAN)
    await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > 5, within=30)
    refused = await waiting.call("offer", {"sdp": son.pc.localDescription.sdp, "type": "offer"})
    assert refused["code"] == "not_admitted"
    hub = client.app[REALTIME].hub
    room_id = f"encounter-{world.encounters['a'].id}"
    assert hub.participants(room_id) == sorted([nurse.participant_id, son.participant_id]) or set(
        hub.participants(room_id)
    ) == {nurse.participant_id, son.participant_id}
    assert all(v == 0 for v in hub.counters(room_id, waiting.participant_id).values())


async def test_a_dropped_participant_reconnects_and_media_resumes(world, visit, client) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    await nurse.call("admit", {"participant_id": son.participant_id})
    await nurse.publish(MAGENTA)
    await son.publish(CYAN)
    await nurse.wait_for(lambda: nurse.frames_from(son.participant_id) > 5, within=30)
    first_id = son.participant_id
    # The network drops: socket and peer connection both go.
    await son.close()
    again = VisitClient(son.agent)
    await again.connect()
    reply = await again.join(world.encounters["a"].id)
    assert reply["participant_id"] == first_id and reply["state"] == "admitted"
    before = nurse.frames_from(first_id)
    await again.publish(YELLOW)
    await nurse.wait_for(lambda: nurse.frames_from(first_id) > before + 5, within=30)
    await nurse.wait_for(lambda: _close(nurse.last_colour[first_id], YELLOW), within=15)
    await again.wait_for(lambda: again.frames_from(nurse.participant_id) > 5, within=30)
    roster = nurse.events["participants"][-1]
    assert sorted(p["participant_id"] for p in roster) == sorted([nurse.participant_id, first_id])
    hub = client.app[REALTIME].hub
    assert sorted(hub.participants(f"encounter-{world.encounters['a'].id}")) == sorted(
        [nurse.participant_id, first_id]
    )
    await again.close()


@pytest.mark.parametrize("sdp", ["", "garbage", "v=0 " * 12_500, "v=0\x00\r\n"])
async def test_malformed_offers_are_refused_cleanly(world, visit, client, sdp) -> None:
    nurse = await visit("clin_a")
    reply = await nurse.call("offer", {"sdp": sdp, "type": "offer"})
    assert reply["code"] in ("bad_sdp", "sdp_too_large", "too_large"), reply
    hub = client.app[REALTIME].hub
    assert hub.participants(f"encounter-{world.encounters['a'].id}") == []
    # The same socket goes on to a working call.
    reply = await nurse.publish(MAGENTA)
    assert reply["type"] == "answer"


async def test_ending_the_visit_closes_every_peer_connection(world, visit, client) -> None:
    nurse = await visit("clin_a")
    son = await visit("family_a")
    await nurse.call("admit", {"participant_id": son.participant_id})
    await nurse.publish(MAGENTA)
    await son.publish(CYAN)
    hub = client.app[REALTIME].hub
    room_id = f"encounter-{world.encounters['a'].id}"
    await nurse.wait_for(lambda: len(hub.participants(room_id)) == 2, within=10)
    assert await nurse.call("end_visit", {}) == {"ok": True}
    assert hub.participants(room_id) == []
    await son.wait_for(lambda: son.events["visit_ended"])

"""The /visit namespace: handshake, lobby and admission, errors, floods, expulsion."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from tests.visit_clients import VisitClient


@pytest.fixture
async def people(world):  # type: ignore[no-untyped-def]
    clients: list[VisitClient] = []

    async def person(who: str | None, **connect: object) -> VisitClient:
        client = VisitClient(await world.agent(who))
        clients.append(client)
        await client.connect(**connect)  # type: ignore[arg-type]
        return client

    yield person
    for client in clients:
        await client.close()


async def test_a_socket_without_a_session_is_refused(world) -> None:
    client = VisitClient(await world.agent(None))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    await client.close()


async def test_a_socket_from_a_foreign_origin_is_refused(world) -> None:
    client = VisitClient(await world.agent("clin_a"))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(origin="https://evil.example")
    await client.close()


async def test_family_waits_in_the_lobby_until_admitted(world, people) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await people("clin_a")
    reply = await nurse.join(encounter_id)
    assert reply["state"] == "admitted" and reply["room_role"] == "host"
    family = await people("family_a")
    reply = await family.join(encounter_id)
    assert reply["state"] == "lobby" and reply["role"] == "family"
    assert reply["lobby"]["clinician_present"] is True
    await nurse.wait_for(lambda: any(e["waiting"] for e in nurse.events["lobby"]))
    waiting = nurse.events["lobby"][-1]["waiting"]
    assert [w["display_name"] for w in waiting] == ["Ben"]
    refused = await family.call("offer", {"sdp": "v=0", "type": "offer"})
    assert refused["code"] == "not_admitted"
    assert (await family.call("admit", {"participant_id": family.participant_id}))[
        "code"
    ] == "forbidden"
    assert await nurse.call("admit", {"participant_id": waiting[0]["participant_id"]}) == {
        "ok": True
    }
    await family.wait_for(lambda: family.events["admitted"])
    await nurse.wait_for(lambda: nurse.events["lobby"][-1]["waiting"] == [])


async def test_the_clinician_can_message_the_lobby(world, people) -> None:
    encounter_id = world.encounters["a"].id
    family = await people("family_a")
    await family.join(encounter_id)
    nurse = await people("clin_a")
    await nurse.join(encounter_id)
    reply = await nurse.call(
        "lobby_message", {"message": "Five more minutes, sorry!", "wait_minutes": 5}
    )
    assert reply == {"ok": True}
    await family.wait_for(lambda: any(s["message"] for s in family.events["lobby_status"]))
    status = family.events["lobby_status"][-1]
    assert status == {
        "message": "Five more minutes, sorry!",
        "wait_minutes": 5,
        "clinician_present": True,
    }
    bad = await nurse.call("lobby_message", {"message": "x" * 300})
    assert bad["code"] == "bad_request"


async def test_denied_family_leaves_the_room(world, people) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await people("clin_a")
    await nurse.join(encounter_id)
    family = await people("family_a")
    await family.join(encounter_id)
    assert await nurse.call(
        "deny", {"participant_id": family.participant_id, "message": "Please call the clinic."}
    ) == {"ok": True}
    await family.wait_for(lambda: family.events["denied"])
    assert family.events["denied"][0]["message"] == "Please call the clinic."
    assert (await family.call("offer", {"sdp": "v=0", "type": "offer"}))["code"] == "not_joined"


async def test_people_off_the_visit_cannot_enter_it(world, people) -> None:
    outsider = await people("clin_b")
    assert (await outsider.join(world.encounters["a"].id))["code"] == "not_found"
    other_family = await people("family_b")
    assert (await other_family.join(world.encounters["a"].id))["code"] == "not_found"
    scheduler = await people("sched")
    assert (await scheduler.join(world.encounters["a"].id))["code"] == "not_found"
    assert (await outsider.join(999999))["code"] == "not_found"


@pytest.mark.parametrize(
    ("event", "data", "code"),
    [
        ("join", None, "bad_request"),
        ("join", {"encounter_id": "1"}, "bad_request"),
        ("join", {"encounter_id": True}, "bad_request"),
        ("offer", {"sdp": "v=0", "type": "offer"}, "not_joined"),
        ("admit", {"participant_id": "x"}, "not_joined"),
        ("no_such_event", {}, "unknown_event"),
        ("join", {"encounter_id": 1, "pad": "x" * 50_000}, "too_large"),
    ],
)
async def test_bad_messages_get_an_error_ack(world, people, event, data, code) -> None:
    client = await people("clin_a")
    reply = await client.call(event, data)
    assert reply["code"] == code and reply["error"]
    # The connection survives every one of them.
    assert (await client.join(world.encounters["a"].id))["state"] == "admitted"


async def test_a_flood_is_rate_limited_without_disturbing_others(world, people) -> None:
    flooder = await people("family_a")
    await flooder.join(world.encounters["a"].id)
    nurse = await people("clin_b")
    await nurse.join(world.encounters["b"].id)
    replies = await asyncio.gather(
        *(flooder.call("quality", {"level": "good"}) for _ in range(150)), return_exceptions=True
    )
    codes = [r.get("code") for r in replies if isinstance(r, dict)]
    assert "rate_limited" in codes
    assert (await nurse.call("quality", {"level": "good"})) == {"ok": True}


async def test_a_reload_keeps_the_place_and_never_shows_one_person_twice(world, people) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await people("clin_a")
    await nurse.join(encounter_id)
    family = await people("family_a")
    await family.join(encounter_id)
    await nurse.call("admit", {"participant_id": family.participant_id})
    first_id = family.participant_id
    # The same session opens a second socket (a reload): same participant, still admitted.
    again = VisitClient(family.agent)
    await again.connect()
    reply = await again.join(encounter_id)
    assert reply["participant_id"] == first_id and reply["state"] == "admitted"
    await family.wait_for(lambda: family.events["replaced"] or not family.sio.connected)
    await nurse.wait_for(lambda: nurse.events["participants"])
    roster = nurse.events["participants"][-1]
    assert sorted(p["participant_id"] for p in roster) == sorted({nurse.participant_id, first_id})
    await again.close()


async def test_a_second_device_on_the_same_link_waits_in_the_lobby(world, people) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await people("clin_a")
    await nurse.join(encounter_id)
    first = await people("family_a")
    await first.join(encounter_id)
    await nurse.call("admit", {"participant_id": first.participant_id})
    second = await people("family_a")  # joins again from the link: a new session
    reply = await second.join(encounter_id)
    assert reply["state"] == "lobby" and reply["participant_id"] != first.participant_id


async def test_revoking_the_link_removes_the_family_at_once(world, people) -> None:
    encounter_id = world.encounters["a"].id
    family = await people("family_a")
    await family.join(encounter_id)
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "DELETE", f"/api/encounters/{encounter_id}/links/{world.link_ids['a']}"
    )
    assert status == 204
    await family.wait_for(lambda: family.events["denied"], within=5)
    assert "cancelled" in family.events["denied"][0]["message"]
    await family.wait_for(lambda: "/visit" not in family.sio.namespaces, within=5)


async def test_sending_back_to_the_lobby_and_ending_the_visit(world, people) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await people("clin_a")
    await nurse.join(encounter_id)
    family = await people("family_a")
    await family.join(encounter_id)
    await nurse.call("admit", {"participant_id": family.participant_id})
    assert await nurse.call("to_lobby", {"participant_id": family.participant_id}) == {"ok": True}
    await family.wait_for(lambda: family.events["sent_to_lobby"])
    assert (await nurse.call("to_lobby", {"participant_id": family.participant_id}))[
        "code"
    ] == "not_admitted"
    assert await nurse.call("end_visit", {}) == {"ok": True}
    await family.wait_for(lambda: family.events["visit_ended"])
    assert (await family.call("quality", {"level": "good"}))["code"] == "not_joined"


async def test_a_message_over_the_transport_limit_closes_the_connection(world, people) -> None:
    client = await people("clin_a")
    await client.sio.emit("join", {"pad": "x" * 70_000}, namespace="/visit")
    await client.wait_for(lambda: not client.sio.connected, within=5)

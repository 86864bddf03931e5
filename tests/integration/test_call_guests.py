"""Links with a role (issue 20): an interpreter or a guest clinician joins the lobby like the
family, is named with their role in the call and in the note, and reaches nothing of the
record, neither over HTTP nor on their socket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from server.realtime.wiring import REALTIME, _on_data_message
from server.store.models import AuditEvent
from tests.builders import Agent, World
from tests.raw_socketio import RawSocket
from tests.visit_clients import VisitClient

RECORD_EVENTS = ("reading", "step", "alert", "drill")


async def _role_link(nurse: Agent, encounter_id: int, role: str) -> tuple[str, int]:
    status, body = await nurse.call("POST", f"/api/encounters/{encounter_id}/links", {"role": role})
    assert status == 201, body
    assert body["role"] == role
    return body["family_link"].rsplit("/", 1)[1], body["family_link_id"]


async def _guest(world: World, token: str, name: str) -> Agent:
    guest = await world.agent()
    await guest.join(token, name)
    return guest


@pytest.fixture
async def sockets():  # type: ignore[no-untyped-def]
    opened: list[Any] = []

    async def open_(sock: Any) -> Any:
        opened.append(sock)
        await sock.connect()
        return sock

    yield open_
    for sock in opened:
        await sock.close()


async def test_an_interpreter_waits_in_the_lobby_is_admitted_and_named_with_the_role(
    world, sockets, db
) -> None:
    encounter_id = world.encounters["a"].id
    nurse_http = await world.agent("clin_a")
    token, link_id = await _role_link(nurse_http, encounter_id, "interpreter")
    status, listed = await nurse_http.call("GET", f"/api/encounters/{encounter_id}/links")
    assert {(i["id"], i["role"]) for i in listed["items"]} >= {(link_id, "interpreter")}

    interpreter = await _guest(world, token, "Amira")
    status, session = await interpreter.call("GET", "/api/session")
    assert (session["kind"], session["role"]) == ("guest", "interpreter")

    nurse = await sockets(VisitClient(nurse_http))
    await nurse.join(encounter_id)
    guest = await sockets(VisitClient(interpreter))
    reply = await guest.join(encounter_id)
    assert (reply["state"], reply["role"], reply["room_role"]) == ("lobby", "interpreter", "guest")
    await nurse.wait_for(lambda: any(e["waiting"] for e in nurse.events["lobby"]))
    [waiting] = nurse.events["lobby"][-1]["waiting"]
    assert (waiting["display_name"], waiting["role"]) == ("Amira", "interpreter")
    assert await nurse.call("admit", {"participant_id": waiting["participant_id"]}) == {"ok": True}
    await guest.wait_for(lambda: guest.events["admitted"])
    await nurse.wait_for(
        lambda: any(
            (p["display_name"], p["role"]) == ("Amira", "interpreter")
            for p in (nurse.events["participants"] or [[]])[-1]
        )
    )

    # The note lists who was in the call, with their role.
    status, note = await nurse_http.call("GET", f"/api/encounters/{encounter_id}/note")
    assert status == 200
    assert "Amira — interpreter" in note and "Staff clin_a — clinician" in note

    # Issue and use are audited with the link's role.
    async with db.begin() as s:
        rows = (
            await s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "join_link"))
        ).all()
    assert any(r.action == "create" and r.detail == "interpreter" for r in rows)
    assert any(
        r.action == "join" and r.resource_id == str(link_id) and r.outcome == "success"
        for r in rows
    )


async def test_an_interpreter_reaches_nothing_of_the_record(client, world, sockets, clock) -> None:
    encounter_id = world.encounters["a"].id
    patient_id = world.patients["a"].id
    nurse_http = await world.agent("clin_a")
    token, _ = await _role_link(nurse_http, encounter_id, "interpreter")
    interpreter = await _guest(world, token, "Amira")

    # Every record route answers 403 or 404 in JSON; nothing of the patient comes back.
    routes = [
        ("GET", f"/api/encounters/{encounter_id}"),
        ("GET", f"/api/patients/{patient_id}"),
        ("GET", f"/api/patients/{patient_id}/readings"),
        ("GET", f"/api/patients/{patient_id}/care-plan"),
        ("GET", f"/api/patients/{patient_id}/education"),
        ("GET", f"/api/encounters/{encounter_id}/fhir"),
        ("GET", f"/api/encounters/{encounter_id}/note"),
        ("GET", f"/api/encounters/{encounter_id}/links"),
        ("POST", f"/api/encounters/{encounter_id}/events"),
        ("POST", f"/api/encounters/{encounter_id}/readings"),
        ("GET", "/api/alerts"),
        ("GET", "/api/survey"),
    ]
    for method, path in routes:
        body = {"type": "start"} if method == "POST" else None
        status, reply = await interpreter.call(method, path, body)
        assert status in (403, 404), (path, status)
        assert isinstance(reply, dict) and reply["code"], path
        assert "Patient A" not in json.dumps(reply)
    # The family's page is not theirs; the call page is, and shows no patient.
    assert (await interpreter.call("GET", "/family"))[0] == 401
    status, page = await interpreter.call("GET", "/call")
    assert status == 200 and "Patient A" not in page and 'id="questions"' not in page

    # On the socket: admitted with the family, sent nothing of the record.
    nurse = await sockets(VisitClient(nurse_http))
    await nurse.join(encounter_id)
    family = await sockets(VisitClient(await world.agent("family_a")))
    raw = await sockets(RawSocket(interpreter))
    joined = await raw.send("join", {"encounter_id": encounter_id})
    await family.join(encounter_id)
    for pid in (joined["participant_id"], family.participant_id):
        assert await nurse.call("admit", {"participant_id": pid}) == {"ok": True}
    # Record events are the server's to send: a client naming them is refused.
    for name in RECORD_EVENTS:
        assert (await raw.send(name, {"encounter_id": encounter_id}))["code"] == "unknown_event"
    # A reading and a step reach the family, and not the interpreter.
    reading = {
        "id": "guest-test-1",
        "kind": "spo2",
        "value": 93,
        "unit": "%",
        "taken_at": clock.now().isoformat(),
        "source": "manual",
    }
    status, _ = await nurse_http.call("POST", f"/api/encounters/{encounter_id}/readings", reading)
    assert status == 201
    status, _ = await nurse_http.call(
        "POST", f"/api/encounters/{encounter_id}/events", {"type": "start"}
    )
    assert status == 200
    await family.wait_for(lambda: family.events["reading"] and family.events["step"])
    # The socket's last word (a quality ack) comes after both broadcasts.
    assert await raw.send("quality", {"level": "good"}) == {"ok": True}
    received = {name for name, _ in raw.events}
    assert received.isdisjoint(RECORD_EVENTS), received
    # The readings data channel stores nothing from them.
    namespace = client.app[REALTIME].namespace
    reply = await _on_data_message(
        client.app,
        namespace,
        f"encounter-{encounter_id}",
        joined["participant_id"],
        "readings",
        json.dumps(reading | {"id": "guest-test-2"}),
    )
    assert reply is not None and json.loads(reply)["code"] == "forbidden"


async def test_a_revoked_guest_link_is_refused_and_its_session_ends(world, db) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await world.agent("clin_a")
    token, link_id = await _role_link(nurse, encounter_id, "guest_clinician")
    doctor = await _guest(world, token, "Dr Okafor")
    status, session = await doctor.call("GET", "/api/session")
    assert (session["kind"], session["role"]) == ("guest", "guest_clinician")
    assert (await doctor.call("GET", f"/api/patients/{world.patients['a'].id}"))[0] == 403

    status, _ = await nurse.call("DELETE", f"/api/encounters/{encounter_id}/links/{link_id}")
    assert status == 204
    assert (await doctor.call("GET", "/api/session"))[0] == 401
    again = await world.agent()
    status, body = await again.call(
        "POST", "/api/join", {"token": token, "display_name": "Dr Okafor"}
    )
    assert status == 401 and body["code"] == "link_revoked"
    async with db.begin() as s:
        revoked = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "revoke", AuditEvent.resource_id == str(link_id)
            )
        )
    assert revoked is not None and revoked.detail == "guest_clinician"


async def test_a_link_without_a_body_is_still_the_familys(world) -> None:
    nurse = await world.agent("clin_a")
    encounter_id = world.encounters["a"].id
    status, body = await nurse.call("POST", f"/api/encounters/{encounter_id}/links")
    assert status == 201 and body["role"] == "family"
    status, body = await nurse.call(
        "POST", f"/api/encounters/{encounter_id}/links", {"role": "janitor"}
    )
    assert status == 422


async def test_a_refused_join_is_audited_with_the_links_role(world, db) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await world.agent("clin_a")
    token, link_id = await _role_link(nurse, encounter_id, "interpreter")
    status, _ = await nurse.call("DELETE", f"/api/encounters/{encounter_id}/links/{link_id}")
    assert status in (200, 204)
    late = await world.agent()
    status, body = await late.call("POST", "/api/join", {"token": token, "display_name": "Amira"})
    assert status == 401, body
    async with db.begin() as s:
        refused = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "join", AuditEvent.outcome == "denied"
                )
            )
        ).all()
    assert [(r.role, r.actor_link_id, r.resource_id) for r in refused] == [
        ("interpreter", link_id, str(link_id))
    ]


async def test_the_join_page_says_who_the_link_brings_in(world, db) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await world.agent("clin_a")
    anyone = await world.agent()
    for role, words in (
        ("interpreter", "as the interpreter"),
        ("guest_clinician", "as a clinician"),
        ("family", None),
    ):
        token, link_id = await _role_link(nurse, encounter_id, role)
        status, page = await anyone.call("GET", f"/join/{token}")
        assert status == 200
        if words is None:
            assert 'id="guest-role"' not in page
        else:
            assert words in page
        async with db.begin() as s:
            opened = await s.scalar(
                select(AuditEvent).where(
                    AuditEvent.action == "open", AuditEvent.actor_link_id == link_id
                )
            )
        assert opened is not None and opened.role == role

"""Issue 18, messages to the team: a red-flag message at night climbs the ladder; the thread is
the patient's own; bad input is refused with a JSON 4xx."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from server.services.escalation import ALERTS
from server.store.between_visits import Alert
from server.store.family_messages import FamilyMessage
from server.store.models import AuditEvent
from tests.builders import World
from tests.integration.test_between_visits import diary_token, ladder_plan, relogin
from tests.integration.test_reminders_and_calendars import (  # noqa: F401 - fixtures
    Mailbox,
    mailbox,
    settings,
)
from tests.visit_clients import VisitClient

# 23:30 in London (the patients' zone) on a Monday: outside 08:00-18:00.
NIGHT = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)
SPANISH = "Mi madre no puede respirar bien esta noche"


def message(client_id: str, text: str, token: str | None = None, **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"client_id": client_id, "text": text, **more}
    if token is not None:
        body["token"] = token
    return body


async def count(db: Any, model: Any) -> int:
    async with db.begin() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_red_flag_message_at_night_climbs_the_ladder_and_the_team_answers(
    client,
    world: World,
    db,
    clock,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    patient_id = world.patients["a"].id
    clin = await world.agent("clin_a")
    status, _ = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": ladder_plan(world)}
    )
    assert status == 200
    token = await diary_token(world)
    clock.set(NIGHT)
    family = await world.agent()
    console = VisitClient(await world.agent("coord_a"))
    console.sio.on("family_message", console._recorder("family_message"), namespace="/visit")
    await console.connect()
    try:
        body = message("m1", SPANISH, token, language="es")
        status, stored = await family.call("POST", "/api/messages", body)
        assert (status, stored["status"]) == (201, "stored"), stored
        # The coordinator's console hears of it without reloading: the message, and its alert.
        await console.wait_for(lambda: console.events["family_message"])
        assert console.events["family_message"][0]["patient_id"] == patient_id
        await console.wait_for(lambda: console.events["alert"])
        pushed = console.events["alert"][0]
        assert (pushed["rule_id"], pushed["severity"], pushed["tier"]) == (
            "family_message",
            "high",
            1,
        )
        assert "no puede respirar" in pushed["summary"] and "outside" in pushed["summary"]
        # The offline queue sends it again: stored once, one alert.
        status, again = await family.call("POST", "/api/messages", body)
        assert (status, again["status"]) == (201, "duplicate")
        assert await count(db, FamilyMessage) == 1 and await count(db, Alert) == 1

        service = client.app[ALERTS]
        await service.drain()
        # The page names no patient and no symptom.
        (page,) = [m.get_payload() for m in mailbox.messages]
        assert "Patient A" not in page and "respirar" not in page and "/alerts" in page
        clock.advance(minutes=15)
        assert await service.run_due(clock.now()) == 1
        await service.drain()
        assert mailbox.recipients == [["clin_a@hearth.test"], ["coord_a@hearth.test"]]

        await relogin(console.agent, world, "coord_a")
        coord = console.agent
        status, queue = await coord.call("GET", "/api/alerts")
        (item,) = queue["items"]
        assert item["tier"] == 2 and [e["kind"] for e in item["history"]] == [
            "raised",
            "escalated",
        ]
        # The evidence in words: what the family wrote and the words that raised it.
        (quoted,) = item["evidence_messages"]
        assert quoted["text"] == SPANISH and quoted["red_flags"] == ["no puede respirar"]

        status, unread = await coord.call("GET", "/api/messages/unread")
        assert [(u["patient_id"], u["unread"]) for u in unread["items"]] == [(patient_id, 1)]
        status, thread = await coord.call("GET", f"/api/patients/{patient_id}/messages")
        (first,) = thread["items"]
        assert first["after_hours"] and first["via"] == "diary" and first["read_at"] is None
        status, marked = await coord.call(
            "POST", f"/api/patients/{patient_id}/messages/read", {"up_to_id": first["id"]}
        )
        assert (status, marked["marked"]) == (200, 1)
        status, reply = await coord.call(
            "POST",
            f"/api/patients/{patient_id}/messages",
            {"client_id": "r1", "text": "Vamos en camino. Llame al 112 si empeora."},
        )
        assert status == 201 and reply["message"]["author"] == "Staff coord_a"

        # The family sees "read by the team" and the answer; reading it is its receipt.
        status, theirs = await family.call("POST", "/api/messages/thread", {"token": token})
        assert status == 200
        mine, answer = theirs["items"]
        assert mine["read_at"] is not None and answer["sender"] == "team"
        assert "red_flags" not in mine or mine["red_flags"] == []
        status, thread = await coord.call("GET", f"/api/patients/{patient_id}/messages")
        assert thread["items"][1]["read_at"] is not None
        async with db.begin() as s:
            actions = set(
                (
                    await s.execute(
                        select(AuditEvent.action, AuditEvent.resource_type).where(
                            AuditEvent.resource_type.like("family_message%")
                        )
                    )
                ).all()
            )
        assert {
            ("create", "family_message"),
            ("read", "family_message_thread"),
            ("mark_read", "family_message"),
        } <= actions
    finally:
        await console.close()


async def test_a_daytime_message_raises_nothing_and_another_patients_thread_is_out_of_reach(
    client, world: World, db, clock
) -> None:
    token_a = await diary_token(world)
    token_b = await diary_token(world, "clin_b", "b")
    family_a, family_b = await world.agent(), await world.agent("family_b")
    status, _ = await family_a.call(
        "POST", "/api/messages", message("a1", "Quick question", token_a)
    )
    assert status == 201 and await count(db, Alert) == 0
    # Patient B's family, by its diary token or its visit session, reaches only B's thread.
    for body in ({"token": token_b}, {}):
        status, thread = await family_b.call("POST", "/api/messages/thread", body)
        assert status == 200 and thread["items"] == []
    # The same client id under B's link is B's own message, never A's overwritten.
    status, _ = await family_b.call("POST", "/api/messages", message("a1", "B here", token_b))
    assert status == 201
    status, thread = await family_a.call("POST", "/api/messages/thread", {"token": token_a})
    assert [m["text"] for m in thread["items"]] == ["Quick question"]
    # From the family page, the visit's session writes to its own patient's thread.
    status, sent = await family_b.call("POST", "/api/messages", message("b2", "From the call"))
    assert status == 201 and sent["message"]["author"] == "Ben"
    clin_b = await world.agent("clin_b")
    status, thread = await clin_b.call("GET", f"/api/patients/{world.patients['b'].id}/messages")
    assert [m["via"] for m in thread["items"]] == ["diary", "visit"]

    patient_a = world.patients["a"].id
    paths = [
        ("GET", f"/api/patients/{patient_a}/messages", None),
        ("POST", f"/api/patients/{patient_a}/messages", {"client_id": "x", "text": "hi"}),
        ("POST", f"/api/patients/{patient_a}/messages/read", {"up_to_id": 1}),
    ]
    # A clinician of another care team: as if patient A did not exist.
    outsider = await world.agent("clin_b")
    for method, path, body in paths:
        status, refused = await outsider.call(method, path, body)
        assert (status, refused["code"]) == (404, "not_found"), path
    status, unread = await outsider.call("GET", "/api/messages/unread")
    assert [u["patient_name"] for u in unread["items"]] == ["Patient B"]
    # A scheduler may not read clinical messages at all; a family session cannot use the
    # team's routes, and a staff session cannot write as the family.
    scheduler = await world.agent("sched")
    status, refused = await scheduler.call(*paths[0][:2])
    assert (status, refused["code"]) == (403, "forbidden")
    status, _ = await family_b.call(*paths[0][:2])
    assert status in (401, 403)
    status, refused = await outsider.call("POST", "/api/messages", message("s1", "hi"))
    assert (status, refused["code"]) == (403, "forbidden")
    # A guessed token is a 401, counted like every link guess.
    anonymous = await world.agent()
    status, refused = await anonymous.call("POST", "/api/messages", message("g1", "hi", "x" * 43))
    assert (status, refused["code"]) == (401, "link_invalid")
    assert await count(db, FamilyMessage) == 3


async def test_bad_input_gets_a_json_4xx(client, world: World, db) -> None:
    token = await diary_token(world)
    family = await world.agent()
    cases: list[tuple[Any, int]] = [
        ({"client_id": "m1", "token": token}, 422),
        (message("m 1", "hello", token), 422),
        (message("m1", "x" * 2001, token), 422),
        (message("m1", "   ", token), 422),
        (message("m1", "hello", token, written_at="2031-01-01T00:00:00Z"), 422),
        (message("m1", "hello", token, written_at="2026-03-02T09:00:00"), 422),
        (message("m1", "hello", token, extra=1), 422),
        (["not", "an", "object"], 422),
        (message("m1", "hello", None), 401),
    ]
    for body, expected in cases:
        status, refused = await family.call("POST", "/api/messages", body)
        assert status == expected and {"error", "code"} <= set(refused), (body, refused)
    status, refused = await family.call("POST", "/api/messages", data=b"{not json")
    assert status == 400 and refused["code"]
    status, _ = await family.call("POST", "/api/messages", message("m1", "hello", token))
    assert status == 201
    status, refused = await family.call("POST", "/api/messages", message("m1", "other", token))
    assert (status, refused["code"]) == (409, "id_reused")
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, refused = await clin.call(
        "POST", f"/api/patients/{patient_id}/messages/read", {"up_to_id": 0}
    )
    assert status == 422 and refused["code"]
    status, refused = await clin.call("GET", "/api/patients/abc/messages")
    assert status == 404 and refused["code"] == "not_found"
    assert await count(db, FamilyMessage) == 1

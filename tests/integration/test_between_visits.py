"""Issue 8, between visits: care plan versions, the diary, alerts and their escalation."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from server.app.factory import create_app
from server.services.escalation import ALERTS
from server.store.between_visits import Alert, DiaryEntry
from server.store.models import Encounter
from tests.builders import VISIT_STARTS_IN, Agent, World
from tests.visit_clients import VisitClient


def ladder_plan(world: World) -> dict[str, Any]:
    """Tier 1: the on-call nurse (clin_a, named in the care team); tier 2: coordinators."""
    return {
        "goals_of_care": "Comfort at home",
        "preferred_place_of_care": "home",
        "escalation_ladder": {
            "tiers": [
                {
                    "tier": 1,
                    "label": "On-call nurse",
                    "ack_deadline_min": 15,
                    "role": "on_call_nurse",
                },
                {"tier": 2, "label": "Coordinator", "ack_deadline_min": 30, "role": "coordinator"},
            ]
        },
        "care_team": [
            {"name": "Nurse A", "role": "on_call_nurse", "user_id": str(world.users["clin_a"].id)}
        ],
    }


def entry(client_id: str, at: dt.datetime, **items: Any) -> dict[str, Any]:
    return {"client_id": client_id, "recorded_at": at.isoformat(), "items": items}


async def count(db: Any, model: Any) -> int:
    async with db.begin() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def relogin(agent: Any, world: World, who: str) -> None:
    agent.http.cookie_jar.clear()
    await agent.login(world.users[who].email)


async def diary_token(world: World, who: str = "clin_a", team: str = "a") -> str:
    agent = await world.agent(who)
    status, body = await agent.call("POST", f"/api/patients/{world.patients[team].id}/diary-links")
    assert status == 201, body
    return str(body["diary_link"].rsplit("/", 1)[1])


async def test_offline_entry_raises_alert_that_escalates_once_across_a_restart(
    client, world: World, db, clock, settings
) -> None:
    clin, coord = await world.agent("clin_a"), await world.agent("coord_a")
    patient_id = world.patients["a"].id
    status, body = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": ladder_plan(world)}
    )
    assert status == 200, body
    token = await diary_token(world)
    family = await world.agent()
    # Made on the phone while offline, sent two hours later.
    made_at = clock.now()
    clock.advance(hours=2)
    # The coordinator's console, signed in now: a socket of a session that has idled out is
    # closed by the sweep within seconds.
    console = VisitClient(await world.agent("coord_a"))
    await console.connect()
    try:
        status, body = await family.call(
            "POST", "/api/diary", {"token": token, "entry": entry("e1", made_at, pain=9)}
        )
        assert (status, body["status"]) == (201, "stored"), body
        await console.wait_for(lambda: console.events["alert"])
        pushed = console.events["alert"][0]
        assert pushed["severity"] == "high" and pushed["tier"] == 1
        assert pushed["evidence"] == ["e1"]
        # The phone did not hear the answer and sends it again: stored once, no new alert.
        status, body = await family.call(
            "POST", "/api/diary", {"token": token, "entry": entry("e1", made_at, pain=9)}
        )
        assert (status, body["status"]) == (200, "duplicate")
        assert await count(db, DiaryEntry) == 1 and await count(db, Alert) == 1
        alert_id = pushed["id"]

        # The coordinator is not on tier 1 (the on-call nurse). (Staff sessions idle out in
        # 15 minutes of the test clock, hence the fresh logins.)
        await relogin(coord, world, "coord_a")
        status, body = await coord.call("POST", f"/api/alerts/{alert_id}/acknowledge")
        assert (status, body["code"]) == (409, "not_on_tier")

        # Nobody acknowledges. The server restarts: a second app on the same database; both
        # the old and the new process run their timer at the deadline.
        restarted = TestServer(create_app(settings, clock=clock))
        await restarted.start_server(access_log=None)
        coord_after = Agent(restarted)
        await coord_after.login(world.users["coord_a"].email)
        console_after = VisitClient(coord_after)
        await console_after.connect()
        try:
            clock.advance(minutes=14, seconds=59)
            assert await restarted.app[ALERTS].run_due(clock.now()) == 0
            # Both consoles' sessions are used just before the deadline (as a page's requests
            # would), so neither idles out as the escalation is pushed.
            for agent in (console.agent, coord_after):
                status, _ = await agent.call("GET", "/api/session")
                assert status == 200
            clock.advance(seconds=1)
            applied = await asyncio.gather(
                client.app[ALERTS].run_due(clock.now()),
                restarted.app[ALERTS].run_due(clock.now()),
            )
            assert sum(applied) == 1
            assert await restarted.app[ALERTS].run_due(clock.now()) == 0

            # Without Redis each process pushes to its own sockets: whichever applied the
            # escalation told the console connected to it, once.
            def tier_two() -> list[Any]:
                consoles = (console, console_after)
                return [a for c in consoles for a in c.events["alert"] if a["tier"] == 2]

            await console.wait_for(lambda: bool(tier_two()))
            await asyncio.sleep(0.2)
            assert len(tier_two()) == 1
        finally:
            await console_after.close()
            await coord_after.close()
            await restarted.close()
        await relogin(coord, world, "coord_a")
        status, queue = await coord.call("GET", "/api/alerts")
        assert status == 200
        (item,) = queue["items"]
        assert item["tier"] == 2 and item["tier_label"] == "Coordinator"
        (quoted,) = item["evidence_entries"]
        assert quoted["client_id"] == "e1" and quoted["scores"] == {"pain": 9}
        assert dt.datetime.fromisoformat(quoted["recorded_at"]) == made_at
        assert [e["kind"] for e in item["history"]] == ["raised", "escalated"]

        clock.advance(minutes=5)
        await relogin(coord, world, "coord_a")
        status, body = await coord.call(
            "POST",
            f"/api/alerts/{alert_id}/resolve",
            {"outcome": "same_day_video_visit", "note": "Seen by video"},
        )
        assert status == 200, body
        assert body["status"] == "resolved" and body["outcome"] == "same_day_video_visit"
        status, figures = await coord.call("GET", "/api/alerts/figures")
        assert status == 200
        month = figures["last_30_days"]
        assert (month["alerts_raised"], month["acknowledged"], month["resolved"]) == (1, 1, 1)
        assert month["resolve_median_s"] == month["ack_median_s"] == 20 * 60
        status, queue = await coord.call("GET", "/api/alerts")
        assert queue["items"] == []
    finally:
        await console.close()


async def test_bad_diary_input_is_refused_and_nothing_is_stored(
    client, world: World, db, clock
) -> None:
    token = await diary_token(world)
    family = await world.agent()
    now = clock.now()
    status, body = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", now, pain=11)}
    )
    assert (status, body["code"]) == (422, "out_of_range")
    status, body = await family.call(
        "POST",
        "/api/diary",
        {"token": token, "entry": entry("e2", now, pain=3), "patient_id": world.patients["b"].id},
    )
    assert (status, body["code"]) == (403, "wrong_patient")
    status, body = await family.call(
        "POST", "/api/diary", {"token": "not-a-token", "entry": entry("e3", now, pain=3)}
    )
    assert (status, body["code"]) == (401, "link_invalid")
    status, body = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e4", now, pain=2)}
    )
    assert status == 201
    status, body = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e4", now, pain=8)}
    )
    assert (status, body["code"]) == (409, "id_reused")
    # The same entry sent twice at once (a resend racing the first): stored once.
    racing = {"token": token, "entry": entry("e5", now, pain=1)}
    results = await asyncio.gather(
        family.call("POST", "/api/diary", racing), family.call("POST", "/api/diary", racing)
    )
    assert sorted(s for s, _ in results) == [200, 201]
    assert await count(db, DiaryEntry) == 2 and await count(db, Alert) == 0


async def test_revoked_diary_link_stops_working(client, world: World, clock) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, link = await clin.call("POST", f"/api/patients/{patient_id}/diary-links")
    assert status == 201
    token = link["diary_link"].rsplit("/", 1)[1]
    status, _ = await clin.call(
        "DELETE", f"/api/patients/{patient_id}/diary-links/{link['diary_link_id']}"
    )
    assert status == 204
    family = await world.agent()
    status, body = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=1)}
    )
    assert (status, body["code"]) == (401, "link_revoked")


async def test_care_plan_changes_are_versioned_and_scoped_to_the_care_team(
    client, world: World, clock
) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    path = f"/api/patients/{patient_id}/care-plan"
    status, body = await clin.call("GET", path)
    assert (status, body["version"]) == (200, 0)
    plan = ladder_plan(world)
    status, first = await clin.call("PUT", path, {"plan": plan, "base_version": 0})
    assert (status, first["version"]) == (200, 1)
    clock.advance(minutes=1)
    plan["advance_care"] = {"resuscitation": "dnr", "form_location": "Kitchen drawer"}
    status, second = await clin.call("PUT", path, {"plan": plan, "base_version": 1})
    assert (status, second["version"]) == (200, 2)
    assert {c["path"] for c in second["changes"]} == {
        "advance_care.resuscitation",
        "advance_care.form_location",
    }
    assert second["created_by"] == world.users["clin_a"].id
    status, body = await clin.call("PUT", path, {"plan": plan, "base_version": 1})
    assert (status, body["code"]) == (409, "version_conflict")
    status, body = await clin.call("PUT", path, {"plan": {"goals_of_care": 5}})
    assert status == 422
    status, versions = await clin.call("GET", path + "/versions")
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert versions["items"][1]["plan"]["advance_care"]["resuscitation"] == "not_recorded"
    outsider = await world.agent("coord_b")
    status, _ = await outsider.call("GET", path)
    assert status == 404
    status, _ = await outsider.call("PUT", path, {"plan": plan})
    assert status == 404


async def test_other_team_cannot_see_or_answer_an_alert(client, world: World, db, clock) -> None:
    token = await diary_token(world)
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=8)}
    )
    assert status == 201
    coord_a, coord_b = await world.agent("coord_a"), await world.agent("coord_b")
    status, queue = await coord_a.call("GET", "/api/alerts")
    (item,) = queue["items"]
    status, queue_b = await coord_b.call("GET", "/api/alerts")
    assert queue_b["items"] == []
    status, _ = await coord_b.call("POST", f"/api/alerts/{item['id']}/acknowledge")
    assert status == 404
    # The default ladder's tier 1 is the on-call nurse; a coordinator hands it to clin_a,
    # who may then acknowledge; a same-day visit issues a family link.
    status, body = await coord_a.call(
        "POST",
        f"/api/alerts/{item['id']}/reassign",
        {"to_user_id": world.users["clin_a"].id, "reason": "Nurse on shift"},
    )
    assert status == 200, body
    status, body = await coord_a.call(
        "POST",
        f"/api/alerts/{item['id']}/reassign",
        {"to_user_id": world.users["clin_b"].id, "reason": "Wrong team"},
    )
    assert (status, body["code"]) == (422, "not_on_care_team")
    clin = await world.agent("clin_a")
    status, body = await clin.call(
        "POST",
        f"/api/alerts/{item['id']}/reassign",
        {"to_user_id": world.users["coord_a"].id, "reason": "Clinicians may not"},
    )
    assert status == 403
    status, body = await clin.call("POST", f"/api/alerts/{item['id']}/acknowledge")
    assert (status, body["status"]) == (200, "acknowledged")
    status, body = await clin.call("POST", f"/api/alerts/{item['id']}/acknowledge")
    assert (status, body["code"]) == (409, "already_acknowledged")
    status, body = await clin.call(
        "POST", f"/api/alerts/{item['id']}/resolve", {"outcome": "went_fishing"}
    )
    assert (status, body["code"]) == (422, "invalid_value")
    # "Start a video visit today" takes clin_a's next free time: 15 minutes fit now, before
    # the world's own visit (in 20 minutes, for an hour); the next 30 minutes after it.
    now = clock.now()
    status, visit = await coord_a.call(
        "POST", f"/api/alerts/{item['id']}/visit", {"duration_minutes": 15}
    )
    assert status == 201, visit
    assert "/join/" in visit["family_link"]
    assert dt.datetime.fromisoformat(visit["starts_at"]) == now
    status, visit = await coord_a.call("POST", f"/api/alerts/{item['id']}/visit", {})
    assert status == 201, visit
    visit_end = now + VISIT_STARTS_IN + dt.timedelta(hours=1)
    assert dt.datetime.fromisoformat(visit["starts_at"]) == visit_end
    assert dt.datetime.fromisoformat(visit["ends_at"]) == visit_end + dt.timedelta(minutes=30)
    # A diary full until midnight: said plainly, and nothing is booked.
    async with db.begin() as s:
        s.add(
            Encounter(
                patient_id=world.patients["b"].id,
                clinician_id=world.users["clin_a"].id,
                kind="video_visit",
                template="home_palliative_visit",
                status="planned",
                starts_at=visit_end + dt.timedelta(minutes=30),
                ends_at=now.replace(hour=0, minute=0) + dt.timedelta(days=1, minutes=30),
                is_drill=False,
                created_at=now,
            )
        )
    before = await count(db, Encounter)
    status, body = await coord_a.call("POST", f"/api/alerts/{item['id']}/visit", {})
    assert (status, body["code"]) == (409, "no_free_time_today"), body
    assert "No free time is left today" in body["error"]
    assert await count(db, Encounter) == before


async def test_same_day_visit_refuses_a_disabled_clinician_like_a_booking(
    client, world: World, db, clock
) -> None:
    token = await diary_token(world)
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=8)}
    )
    assert status == 201
    coord_a = await world.agent("coord_a")
    status, queue = await coord_a.call("GET", "/api/alerts")
    (item,) = queue["items"]
    clin_a = world.users["clin_a"].id
    admin = await world.agent("admin")
    status, _ = await admin.call("PATCH", f"/api/users/{clin_a}", {"active": False})
    assert status == 200
    before = await count(db, Encounter)
    # The scheduler's booking refuses a disabled clinician...
    scheduler = await world.agent("sched")
    starts_at = (clock.now() + dt.timedelta(hours=2)).isoformat()
    status, body = await scheduler.call(
        "POST",
        "/api/encounters",
        {
            "patient_id": world.patients["a"].id,
            "clinician_id": clin_a,
            "starts_at": starts_at,
            "duration_minutes": 30,
            "kind": "video_visit",
        },
    )
    assert (status, body["code"]) == (422, "unknown_clinician")
    # ...and so does "start a video visit today" from the alert queue, named or by default.
    for asked in ({"clinician_id": clin_a}, {}):
        status, body = await coord_a.call("POST", f"/api/alerts/{item['id']}/visit", asked)
        assert status == 422, body
        assert (body["code"], body["field"]) == ("no_clinician", "clinician_id")
    assert await count(db, Encounter) == before


async def test_missed_checkin_is_raised_once_per_silence(client, world: World, db, clock) -> None:
    token = await diary_token(world)
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=1)}
    )
    assert status == 201
    service = client.app[ALERTS]
    clock.advance(hours=26)
    assert await service.sweep_missed_checkins(clock.now()) == 0  # exactly at the edge
    clock.advance(seconds=1)
    assert await service.sweep_missed_checkins(clock.now()) == 1
    assert await service.sweep_missed_checkins(clock.now()) == 0
    async with db.begin() as s:
        (alert,) = (await s.scalars(select(Alert))).all()
        assert (alert.rule_id, alert.severity) == ("missed_checkin", "low")


async def test_diary_and_console_pages(client, world: World, caplog) -> None:
    token = await diary_token(world)
    anonymous = await world.agent()
    with caplog.at_level("DEBUG"):
        status, html = await anonymous.call("GET", f"/diary/{token}")
    assert status == 200 and "How much pain do you have now?" in html
    # Each symptom is the 0-10 scale: eleven radios, the last one 10.
    assert "Worst pain" in html and 'value="10"><span>10</span>' in html
    assert all(token not in r.getMessage() for r in caplog.records)
    status, html = await anonymous.call("GET", "/diary/not-a-real-token")
    assert status == 404
    status, html = await anonymous.call("GET", "/alerts")
    # Redirected to the sign-in page.
    assert status == 200 and 'id="password"' in html and "Alert queue" not in html
    coordinator = await world.agent("coord_a")
    status, html = await coordinator.call("GET", "/alerts")
    assert status == 200 and "Alert queue" in html
    scheduler = await world.agent("sched")
    status, _ = await scheduler.call("GET", "/alerts")
    assert status == 403
    status, html = await coordinator.call("GET", f"/patients/{world.patients['a'].id}/care-plan")
    assert status == 200 and "Save a new version" in html
    status, _ = await coordinator.call("GET", f"/patients/{world.patients['b'].id}/care-plan")
    assert status == 404

"""Family join links: issue, exchange, expiry, revocation, guessing, scope."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server.store.models import JoinLink
from server.store.models import Session as SessionRow


async def _book(agent, world, clock, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "patient_id": world.patients["a"].id,
        "clinician_id": world.users["clin_a"].id,
        "starts_at": (clock.now() + dt.timedelta(hours=3)).isoformat(),
        "duration_minutes": 45,
        "kind": "video_visit",
        **overrides,
    }
    return await agent.call("POST", "/api/encounters", body)


async def test_booking_a_video_visit_issues_a_family_link(client, world, clock, db) -> None:
    scheduler = await world.agent("sched")
    status, body = await _book(scheduler, world, clock)
    assert status == 201
    assert body["family_link"].startswith("http://hearth.test/join/")
    token = body["family_link"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits in URL-safe base64
    # Ends 12:45; the link works for the default 120 minutes of grace after that.
    assert body["family_link_expires_at"] == "2026-03-02T14:45:00Z"
    async with db.begin() as s:
        stored = (await s.scalars(select(JoinLink.token_hash))).all()
    # Only a keyed hash is kept: the token itself is nowhere in the table.
    assert token not in stored and all(len(h) == 64 for h in stored)


async def test_other_visit_kinds_get_no_family_link(client, world, clock) -> None:
    scheduler = await world.agent("sched")
    status, body = await _book(scheduler, world, clock, kind="in_person")
    assert status == 201
    assert body["family_link"] is None and body["family_link_id"] is None
    status, reply = await scheduler.call("POST", f"/api/encounters/{body['id']}/links")
    assert status == 409 and reply["code"] == "not_a_video_visit"


async def test_a_family_link_opens_a_session_scoped_to_its_visit(client, world) -> None:
    family = await world.agent()
    status, body = await family.call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 200
    assert body["encounter_id"] == world.encounters["a"].id
    family.csrf = body["csrf_token"]
    assert (await family.call("GET", f"/api/encounters/{world.encounters['a'].id}"))[0] == 200
    assert (await family.call("GET", f"/api/encounters/{world.encounters['b'].id}"))[0] == 404
    assert (await family.call("GET", f"/api/patients/{world.patients['a'].id}"))[0] == 403
    assert (await family.call("POST", f"/api/encounters/{world.encounters['a'].id}/links"))[
        0
    ] == 403


async def test_the_join_page_welcomes_without_showing_patient_details(client, world) -> None:
    response = await client.get(f"/join/{world.tokens['a']}")
    assert response.status == 200
    page = await response.text()
    assert "Your video visit" in page
    assert "Staff clin_a" in page  # the clinician's name
    assert "Patient A" not in page and "1940" not in page


async def test_an_expired_link_is_refused_and_says_whom_to_call(client, world, clock) -> None:
    clock.set(world.encounters["a"].ends_at + dt.timedelta(minutes=120, seconds=1))
    family = await world.agent()
    status, body = await family.call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 401 and body["code"] == "link_expired"
    response = await client.get(f"/join/{world.tokens['a']}")
    assert response.status == 410
    page = await response.text()
    assert "This link has expired" in page
    assert "+44 20 7946 0000" in page


async def test_a_link_still_works_within_the_grace_period(client, world, clock) -> None:
    clock.set(world.encounters["a"].ends_at + dt.timedelta(minutes=119))
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 200


async def test_revoking_a_link_ends_the_family_session_at_once(client, world, db) -> None:
    family = await world.agent("family_a")
    clinician = await world.agent("clin_a")
    encounter_id, link_id = world.encounters["a"].id, world.link_ids["a"]
    status, _ = await clinician.call("DELETE", f"/api/encounters/{encounter_id}/links/{link_id}")
    assert status == 204
    status, body = await family.call("GET", f"/api/encounters/{encounter_id}")
    assert status == 401
    status, body = await (await world.agent()).call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 401 and body["code"] == "link_revoked"
    page = await client.get(f"/join/{world.tokens['a']}")
    assert page.status == 410 and "has been cancelled" in await page.text()
    async with db.begin() as s:
        assert (
            await s.scalars(select(SessionRow).where(SessionRow.join_link_id == link_id))
        ).all() == []
    status, listing = await clinician.call("GET", f"/api/encounters/{encounter_id}/links")
    assert [item["status"] for item in listing["items"]] == ["revoked"]


async def test_a_link_of_one_visit_cannot_be_revoked_through_another(client, world) -> None:
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "DELETE", f"/api/encounters/{world.encounters['a'].id}/links/{world.link_ids['b']}"
    )
    assert status == 404


async def test_malformed_tokens_get_a_clean_401(client, world) -> None:
    family = await world.agent()
    good = world.tokens["a"]
    for token in ("123", good[:-1], good + "A", good.upper(), "../" + good, "%00", " "):
        status, body = await family.call(
            "POST", "/api/join", {"token": token, "display_name": "Ben"}
        )
        assert status in (401, 422), token
        assert set(body) >= {"error", "code"}
    for path in ("/join/123", f"/join/{good[:-2]}", "/join/%00", "/join/" + "x" * 500):
        response = await client.get(path)
        assert response.status in (404, 410), path


async def test_link_guessing_is_throttled_per_address(client, world) -> None:
    family = await world.agent()
    for i in range(10):
        status, _ = await family.call(
            "POST", "/api/join", {"token": f"guess-{i:040d}", "display_name": "Eve"}
        )
        assert status == 401
    status, body = await family.call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 429 and body["code"] == "rate_limited"


async def test_display_names_lose_control_characters(client, world) -> None:
    family = await world.agent()
    status, _ = await family.call(
        "POST",
        "/api/join",
        {"token": world.tokens["a"], "display_name": "Ben\u202e\u200b  Smith\n"},
    )
    assert status == 200
    status, body = await family.call("GET", "/api/session")
    assert body["name"] == "Ben Smith"
    status, body = await (await world.agent()).call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "\u200b\u202e"}
    )
    assert status == 422


async def test_a_cancelled_visit_refuses_its_link(client, world, db) -> None:
    from server.store.models import Encounter

    async with db.begin() as s:
        (await s.get(Encounter, world.encounters["a"].id)).status = "cancelled"
    status, body = await (await world.agent()).call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben"}
    )
    assert status == 401 and body["code"] == "visit_cancelled"

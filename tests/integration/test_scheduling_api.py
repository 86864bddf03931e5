"""Scheduling through the API: availability, free slots, book -> reschedule -> cancel."""

from __future__ import annotations

from sqlalchemy import func, select

from server.store.models import AuditEvent, Encounter, JoinLink
from server.store.scheduling import EncounterChange, ReminderJob

# The world's clock: Monday 2 March 2026, 09:00 UTC (09:00 in London, still on GMT).
WEEKDAYS_9_TO_5 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]


async def set_hours(agent, world, who="clin_a", **change):  # type: ignore[no-untyped-def]
    body = {
        "time_zone": "Europe/London",
        "weekly": WEEKDAYS_9_TO_5,
        "kinds": {"video_visit": 30, "in_person": 60},
        **change,
    }
    return await agent.call("PUT", f"/api/clinicians/{world.users[who].id}/availability", body)


def visit(world, starts_at: str, **change):  # type: ignore[no-untyped-def]
    return {
        "patient_id": world.patients["a"].id,
        "clinician_id": world.users["clin_a"].id,
        "starts_at": starts_at,
        "duration_minutes": 30,
        "kind": "video_visit",
        **change,
    }


async def count(db, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_availability_is_stored_read_back_and_audited(client, world, db) -> None:
    scheduler = await world.agent("sched")
    off = {"starts_at": "2026-03-03T12:00:00Z", "ends_at": "2026-03-03T17:00:00Z", "label": "Leave"}
    status, body = await set_hours(scheduler, world, time_off=[off])
    assert status == 200, body
    assert body["time_zone"] == "Europe/London"
    assert body["weekly"][0] == {"weekday": 0, "start": "09:00", "end": "17:00"}
    assert body["kinds"] == {"in_person": 60, "video_visit": 30}
    assert body["time_off"][0]["label"] == "Leave"
    clinician = await world.agent("clin_a")
    status, read = await clinician.call(
        "GET", f"/api/clinicians/{world.users['clin_a'].id}/availability"
    )
    assert status == 200 and read == body
    assert await count(db, AuditEvent, AuditEvent.resource_type == "availability") == 1


async def test_only_the_clinician_schedulers_and_admins_change_hours(client, world) -> None:
    for who, expected in [("clin_a", 200), ("admin", 200), ("clin_b", 403), ("coord_a", 403)]:
        agent = await world.agent(who)
        status, _ = await set_hours(agent, world)
        assert status == expected, who
    scheduler = await world.agent("sched")
    status, body = await scheduler.call(
        "PUT", f"/api/clinicians/{world.users['coord_a'].id}/availability", {}
    )
    assert status == 404


async def test_hours_and_time_off_that_end_before_they_start_are_refused(client, world) -> None:
    scheduler = await world.agent("sched")
    status, body = await set_hours(
        scheduler, world, weekly=[{"weekday": 0, "start": "17:00", "end": "09:00"}]
    )
    assert status == 422 and body["code"] == "end_before_start"
    backwards = {"starts_at": "2026-03-03T17:00:00Z", "ends_at": "2026-03-03T12:00:00Z"}
    status, body = await set_hours(scheduler, world, time_off=[backwards])
    assert status == 422 and body["code"] == "end_before_start"
    status, body = await set_hours(scheduler, world, kinds={"house_party": 30})
    assert status == 422 and body["field"].startswith("kinds")
    status, body = await set_hours(scheduler, world, time_zone="Mars/Olympus")
    assert status == 422 and body["field"] == "time_zone"


async def test_free_slots_show_a_week_around_bookings_and_working_hours(client, world) -> None:
    scheduler = await world.agent("sched")
    await set_hours(scheduler, world)
    pid = world.patients["a"].id
    status, body = await scheduler.call(
        "GET", f"/api/slots?kind=video_visit&patient_id={pid}&from=2026-03-02&to=2026-03-08"
    )
    assert status == 200, body
    [clinician] = body["clinicians"]
    assert clinician["clinician_id"] == world.users["clin_a"].id
    assert clinician["length_minutes"] == 30
    starts = [slot["starts_at"] for slot in clinician["slots"]]
    # The world's visit holds 09:20-10:20 today; the day starts at 09:00 (tomorrow's first slot)
    # and ends at 17:00; no weekend hours.
    assert starts[:3] == ["2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z", "2026-03-02T11:00:00Z"]
    assert "2026-03-02T09:00:00Z" not in starts and "2026-03-02T10:15:00Z" not in starts
    assert "2026-03-03T09:00:00Z" in starts and "2026-03-03T08:45:00Z" not in starts
    assert "2026-03-02T16:30:00Z" in starts and "2026-03-02T16:45:00Z" not in starts
    assert not any(s.startswith(("2026-03-07", "2026-03-08")) for s in starts)
    status, body = await scheduler.call("GET", f"/api/slots?kind=massage&patient_id={pid}")
    assert status == 422 and body["code"] == "unknown_kind"
    status, body = await scheduler.call(
        "GET", f"/api/slots?kind=video_visit&patient_id={pid}&from=2026-03-08&to=2026-03-02"
    )
    assert status == 422 and body["code"] == "end_before_start"
    outsider = await world.agent("clin_b")
    status, _ = await outsider.call("GET", f"/api/slots?kind=video_visit&patient_id={pid}")
    assert status == 404


async def test_bookings_outside_hours_need_a_reason(client, world, db) -> None:
    scheduler = await world.agent("sched")
    await set_hours(scheduler, world)
    status, body = await scheduler.call(
        "POST", "/api/encounters", visit(world, "2026-03-02T18:00:00Z")
    )
    assert status == 422 and body["code"] == "outside_working_hours"
    assert "Europe/London" in body["error"]
    status, body = await scheduler.call(
        "POST",
        "/api/encounters",
        visit(world, "2026-03-02T18:00:00Z", override_reason="Family asked; end of life"),
    )
    assert status == 201, body
    async with db.begin() as s:
        change = await s.scalar(
            select(EncounterChange).where(EncounterChange.encounter_id == body["id"])
        )
    assert change is not None and change.action == "book"
    assert change.reason == "Family asked; end of life"


async def test_overlapping_and_bad_bookings_are_refused_and_nothing_is_stored(
    client, world, db
) -> None:
    scheduler = await world.agent("sched")
    await set_hours(scheduler, world)
    before = (await count(db, Encounter), await count(db, JoinLink))
    cases = [
        (visit(world, "2026-03-02T10:15:00Z"), 409, "clinician_busy"),
        (visit(world, "2026-03-02T09:00:00Z", kind="in_person", duration_minutes=45), 409,
         "clinician_busy"),
        (visit(world, "2026-03-02T08:30:00Z"), 422, "in_the_past"),
        (visit(world, "2026-03-04T10:00:00"), 422, "invalid_field"),
        (visit(world, "2026-03-04T10:00:00Z", clinician_id=world.users["sched"].id), 422,
         "unknown_clinician"),
        (visit(world, "2026-03-04T10:00:00Z", patient_id=424242), 404, "not_found"),
        (visit(world, "2026-03-04T10:00:00Z", kind="social_work"), 422, "kind_not_offered"),
        (visit(world, "2026-03-04T10:00:00Z", override_reason=""), 422, "invalid_field"),
    ]  # fmt: skip
    for body, status, code in cases:
        got, reply = await scheduler.call("POST", "/api/encounters", body)
        assert (got, reply.get("code")) == (status, code), (body, reply)
        assert set(reply) >= {"error", "code"}
    assert (await count(db, Encounter), await count(db, JoinLink)) == before


async def test_a_patient_is_not_booked_twice_at_once(client, world) -> None:
    coordinator = await world.agent("coord_a")
    status, patient = await coordinator.call(
        "POST",
        "/api/patients",
        {
            "name": "Iris Example",
            "birth_date": "1938-05-01",
            "care_team": [world.users["clin_a"].id, world.users["clin_b"].id],
        },
    )
    assert status == 201
    first = visit(world, "2026-03-02T13:00:00Z", patient_id=patient["id"])
    scheduler = await world.agent("sched")
    assert (await scheduler.call("POST", "/api/encounters", first))[0] == 201
    second = {**first, "clinician_id": world.users["clin_b"].id}
    status, body = await scheduler.call("POST", "/api/encounters", second)
    assert status == 409 and body["code"] == "patient_busy"


async def test_book_reschedule_cancel_moves_links_and_reminders(client, world, db) -> None:
    scheduler = await world.agent("sched")
    await set_hours(scheduler, world)
    status, booked = await scheduler.call(
        "POST", "/api/encounters", visit(world, "2026-03-04T10:00:00Z")
    )
    assert status == 201, booked
    eid, first_token = booked["id"], booked["family_link"].rsplit("/", 1)[1]
    family = await world.agent()
    await family.join(first_token)
    assert (await family.call("GET", f"/api/encounters/{eid}"))[0] == 200
    async with db.begin() as s:
        jobs = (await s.scalars(select(ReminderJob).where(ReminderJob.encounter_id == eid))).all()
    assert sorted((j.which, j.channel, j.due_at.isoformat()) for j in jobs) == [
        ("day_before", "email", "2026-03-03T10:00:00+00:00"),
        ("hour_before", "email", "2026-03-04T09:00:00+00:00"),
    ]

    status, moved = await scheduler.call(
        "POST", f"/api/encounters/{eid}/reschedule", {"starts_at": "2026-03-05T14:00:00+00:00"}
    )
    assert status == 200, moved
    assert (moved["starts_at"], moved["ends_at"]) == (
        "2026-03-05T14:00:00Z",
        "2026-03-05T14:30:00Z",
    )
    new_token = moved["family_link"].rsplit("/", 1)[1]
    assert new_token != first_token
    # The old link and the session it opened are finished; the new link works.
    assert (await family.call("GET", f"/api/encounters/{eid}"))[0] == 401
    stale = await world.agent()
    status, body = await stale.call(
        "POST", "/api/join", {"token": first_token, "display_name": "Ben"}
    )
    assert status == 401 and body["code"] == "link_revoked"
    fresh = await world.agent()
    await fresh.join(new_token)
    async with db.begin() as s:
        dues = sorted(
            j.due_at.isoformat()
            for j in await s.scalars(select(ReminderJob).where(ReminderJob.encounter_id == eid))
        )
    assert dues == ["2026-03-04T14:00:00+00:00", "2026-03-05T13:00:00+00:00"]

    status, body = await scheduler.call(
        "POST", f"/api/encounters/{eid}/reschedule", {"starts_at": "2026-03-02T10:00:00Z"}
    )
    assert status == 409 and body["code"] == "clinician_busy"

    status, body = await scheduler.call("POST", f"/api/encounters/{eid}/cancel", {"reason": ""})
    assert status == 422 and body["field"] == "reason"
    status, cancelled = await scheduler.call(
        "POST", f"/api/encounters/{eid}/cancel", {"reason": "Admitted to the hospice"}
    )
    assert status == 200 and cancelled["status"] == "cancelled"
    assert (await fresh.call("GET", f"/api/encounters/{eid}"))[0] == 401
    status, body = await (await world.agent()).call(
        "POST", "/api/join", {"token": new_token, "display_name": "Ben"}
    )
    assert status == 401
    assert await count(db, ReminderJob, ReminderJob.status == "pending") == 0
    status, body = await scheduler.call(
        "POST", f"/api/encounters/{eid}/cancel", {"reason": "again"}
    )
    assert status == 409 and body["code"] == "visit_not_planned"
    async with db.begin() as s:
        history = (
            await s.scalars(
                select(EncounterChange.action)
                .where(EncounterChange.encounter_id == eid)
                .order_by(EncounterChange.id)
            )
        ).all()
        actions = set(
            await s.scalars(select(AuditEvent.action).where(AuditEvent.encounter_id == eid))
        )
    assert history == ["book", "reschedule", "cancel"]
    assert {"create", "reschedule", "cancel"} <= actions


async def test_others_may_not_move_or_cancel_a_visit(client, world) -> None:
    eid = world.encounters["a"].id
    for who, expected in [("clin_b", 404), ("family_a", 403)]:
        agent = await world.agent(who)
        status, _ = await agent.call("POST", f"/api/encounters/{eid}/cancel", {"reason": "x"})
        assert status == expected, who


async def test_clinicians_day_list_carries_live_lobby_status(client, world) -> None:
    clinician = await world.agent("clin_a")
    status, body = await clinician.call("GET", "/api/encounters")
    assert status == 200 and body["items"][0]["live"] == {"waiting": 0, "in_call": 0}
    scheduler = await world.agent("sched")
    status, body = await scheduler.call("GET", "/api/encounters")
    assert all(item["live"] is None for item in body["items"])

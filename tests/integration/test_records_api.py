"""Patients and visits through the API: validation, clear errors, nothing half-stored."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.store.models import CareTeam, Encounter, JoinLink, Patient


async def _count(db, model) -> int:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_registering_a_patient_returns_them_with_their_care_team(client, world) -> None:
    coordinator = await world.agent("coord_a")
    body = {
        "name": "Iris Moss",
        "birth_date": "1938-11-30",
        "care_team": [world.users["clin_a"].id, world.users["coord_a"].id],
        "time_zone": "America/New_York",
        "language": "es",
    }
    status, patient = await coordinator.call("POST", "/api/patients", body)
    assert status == 201
    assert patient["name"] == "Iris Moss" and patient["birth_date"] == "1938-11-30"
    assert patient["time_zone"] == "America/New_York" and patient["language"] == "es"
    assert {m["id"] for m in patient["care_team"]} == set(body["care_team"])
    status, again = await coordinator.call("GET", f"/api/patients/{patient['id']}")
    assert status == 200 and again == patient


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"name": ""}, "name", "invalid_field"),
        ({"birth_date": "30/11/1938"}, "birth_date", "invalid_field"),
        ({"birth_date": "2999-01-01"}, "birth_date", "invalid_field"),
        ({"care_team": []}, "care_team", "invalid_field"),
        ({"care_team": ["1"]}, "care_team.0", "invalid_field"),
        ({"care_team": [999]}, "care_team", "unknown_team_member"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "invalid_field"),
        ({"language": "not a language"}, "language", "invalid_field"),
        ({"role": "admin"}, "role", "invalid_field"),
        ({"id": 5}, "id", "invalid_field"),
    ],
)
async def test_bad_patient_fields_are_refused_and_nothing_is_stored(
    client, world, db, change, field, code
) -> None:
    coordinator = await world.agent("coord_a")
    before = (await _count(db, Patient), await _count(db, CareTeam))
    body = {
        "name": "Iris Moss",
        "birth_date": "1938-11-30",
        "care_team": [world.users["clin_a"].id],
        **change,
    }
    status, reply = await coordinator.call("POST", "/api/patients", body)
    assert status == 422, reply
    assert reply["code"] == code and reply["field"] == field
    assert field.split(".")[0] in reply["error"]
    assert (await _count(db, Patient), await _count(db, CareTeam)) == before


async def test_missing_fields_are_named(client, world) -> None:
    coordinator = await world.agent("coord_a")
    status, reply = await coordinator.call("POST", "/api/patients", {"name": "Iris"})
    assert status == 422 and reply["field"] == "birth_date"
    assert reply["error"] == "The field 'birth_date' is required."


def _visit(world, clock, **change):  # type: ignore[no-untyped-def]
    return {
        "patient_id": world.patients["a"].id,
        "clinician_id": world.users["clin_a"].id,
        "starts_at": (clock.now() + dt.timedelta(hours=2)).isoformat(),
        "duration_minutes": 30,
        "kind": "video_visit",
        **change,
    }


async def test_booking_returns_the_visit_in_utc(client, world, clock) -> None:
    scheduler = await world.agent("sched")
    status, body = await scheduler.call(
        "POST",
        "/api/encounters",
        _visit(world, clock, starts_at="2026-03-02T14:00:00+01:00", duration_minutes=40),
    )
    assert status == 201
    assert body["starts_at"] == "2026-03-02T13:00:00Z"
    assert body["ends_at"] == "2026-03-02T13:40:00Z"
    assert body["template"] == "home_palliative_visit" and body["status"] == "planned"
    status, read = await scheduler.call("GET", f"/api/encounters/{body['id']}")
    assert read["starts_at"] == body["starts_at"]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"starts_at": "2026-03-02T14:00:00"}, "invalid_field", "starts_at"),
        ({"starts_at": "tomorrow"}, "invalid_field", "starts_at"),
        ({"starts_at": "2026-03-01T08:00:00Z"}, "in_the_past", "starts_at"),
        ({"duration_minutes": 0}, "invalid_field", "duration_minutes"),
        ({"duration_minutes": 30.5}, "invalid_field", "duration_minutes"),
        ({"kind": "house_party"}, "invalid_field", "kind"),
        ({"template": "no_such_template"}, "unknown_template", "template"),
        ({"status": "finished"}, "invalid_field", "status"),
    ],
)
async def test_bad_bookings_are_refused_and_nothing_is_stored(
    client, world, clock, db, change, code, field
) -> None:
    scheduler = await world.agent("sched")
    before = (await _count(db, Encounter), await _count(db, JoinLink))
    status, reply = await scheduler.call("POST", "/api/encounters", _visit(world, clock, **change))
    assert status == 422, reply
    assert reply["code"] == code and reply["field"] == field
    assert (await _count(db, Encounter), await _count(db, JoinLink)) == before


async def test_a_clinician_off_the_care_team_cannot_be_booked(client, world, clock, db) -> None:
    scheduler = await world.agent("sched")
    before = await _count(db, Encounter)
    status, reply = await scheduler.call(
        "POST", "/api/encounters", _visit(world, clock, clinician_id=world.users["clin_b"].id)
    )
    assert status == 422 and reply["code"] == "clinician_not_on_team"
    status, reply = await scheduler.call(
        "POST", "/api/encounters", _visit(world, clock, clinician_id=world.users["sched"].id)
    )
    assert status == 422 and reply["code"] == "unknown_clinician"
    status, reply = await scheduler.call(
        "POST", "/api/encounters", _visit(world, clock, patient_id=424242)
    )
    assert status == 404
    assert await _count(db, Encounter) == before


async def test_visit_lists_filter_by_time_and_clinician(client, world, clock) -> None:
    scheduler = await world.agent("sched")
    status, body = await scheduler.call("GET", "/api/encounters")
    assert status == 200 and len(body["items"]) == 2
    status, body = await scheduler.call(
        "GET", f"/api/encounters?clinician_id={world.users['clin_b'].id}"
    )
    assert [i["id"] for i in body["items"]] == [world.encounters["b"].id]
    status, body = await scheduler.call("GET", "/api/encounters?from=2026-03-05T00:00:00Z")
    assert body["items"] == []
    status, body = await scheduler.call("GET", "/api/encounters?from=2026-03-05T00:00:00")
    assert status == 422 and body["code"] == "naive_datetime"
    status, body = await scheduler.call(
        "GET", "/api/encounters?from=2026-03-05T00:00:00Z&to=2026-03-04T00:00:00Z"
    )
    assert status == 422 and body["code"] == "bad_range"


async def test_user_add_through_the_api_checks_password_and_email(client, world) -> None:
    admin = await world.agent("admin")
    base = {
        "email": "nurse@hearth.test",
        "name": "Nurse",
        "role": "clinician",
        "password": "long enough password here",
        "time_zone": "Europe/Paris",
    }
    status, body = await admin.call("POST", "/api/users", {**base, "password": "short"})
    assert status == 422 and body["code"] == "weak_password"
    status, body = await admin.call("POST", "/api/users", {**base, "email": "not-an-email"})
    assert status == 422 and body["field"] == "email"
    status, body = await admin.call("POST", "/api/users", base)
    assert status == 201 and body["email"] == "nurse@hearth.test"
    status, body = await admin.call("POST", "/api/users", {**base, "email": "NURSE@hearth.test"})
    assert status == 409 and body["code"] == "email_taken"

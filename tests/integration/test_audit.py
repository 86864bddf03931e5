"""The audit log: a row for every read and change of patient data, paged by admins,
append-only in the database itself, holding no clinical values."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from server.store.models import AuditEvent


async def _rows(db):  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return (await s.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()


async def test_reading_a_patient_writes_one_audit_row(client, world, db) -> None:
    clinician = await world.agent("clin_a")
    before = len(await _rows(db))
    status, _ = await clinician.call("GET", f"/api/patients/{world.patients['a'].id}")
    assert status == 200
    rows = (await _rows(db))[before:]
    assert len(rows) == 1
    row = rows[0]
    assert (
        row.actor_id,
        row.role,
        row.action,
        row.resource_type,
        row.resource_id,
        row.patient_id,
        row.outcome,
    ) == (
        world.users["clin_a"].id,
        "clinician",
        "read",
        "patient",
        str(world.patients["a"].id),
        world.patients["a"].id,
        "success",
    )
    assert row.address == "127.0.0.1"
    assert row.at.tzinfo is not None


async def test_changes_are_audited_with_the_patient(client, world, db) -> None:
    clinician = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, member = await clinician.call(
        "POST", f"/api/patients/{patient_id}/family", {"name": "Carol", "relationship": "sister"}
    )
    assert status == 201
    rows = [r for r in await _rows(db) if r.action == "create"]
    assert [(r.resource_type, r.resource_id, r.patient_id) for r in rows] == [
        ("related_person", str(member["id"]), patient_id)
    ]


async def test_family_actions_are_audited_as_the_link(client, world, db) -> None:
    family = await world.agent("family_a")
    await family.call("GET", f"/api/encounters/{world.encounters['a'].id}")
    rows = [r for r in await _rows(db) if r.role == "family" and r.outcome == "success"]
    assert {r.action for r in rows} == {"join", "read"}
    assert {r.actor_link_id for r in rows} == {world.link_ids["a"]}
    assert all(r.actor_id is None for r in rows)


async def test_audit_rows_hold_no_clinical_values_or_tokens(client, world, db) -> None:
    clinician = await world.agent("clin_a")
    await clinician.call("GET", f"/api/patients/{world.patients['a'].id}")
    await clinician.call(
        "POST",
        f"/api/patients/{world.patients['a'].id}/family",
        {"name": "Dora Secretname", "relationship": "niece"},
    )
    await (await world.agent()).call(
        "POST", "/api/join", {"token": world.tokens["a"], "display_name": "Ben Secretname"}
    )
    for row in await _rows(db):
        text = " ".join(str(v) for v in vars(row).values())
        for secret in ("Secretname", "Patient A", "1940-01-02", world.tokens["a"]):
            assert secret not in text


async def test_admins_page_through_the_audit_log(client, world) -> None:
    clinician = await world.agent("clin_a")
    for _ in range(120):
        await clinician.call("GET", f"/api/patients/{world.patients['a'].id}")
    admin = await world.agent("admin")
    status, first = await admin.call("GET", f"/api/audit?patient_id={world.patients['a'].id}")
    assert status == 200
    assert len(first["items"]) == 100 and first["next"]
    ids = [item["id"] for item in first["items"]]
    assert ids == sorted(ids, reverse=True)
    status, second = await admin.call(
        "GET", f"/api/audit?patient_id={world.patients['a'].id}&cursor={first['next']}"
    )
    assert status == 200
    assert second["next"] is None
    assert len(second["items"]) == 20
    assert max(i["id"] for i in second["items"]) < min(ids)
    assert set(second["items"][0]) == {
        "id",
        "at",
        "actor_id",
        "link_id",
        "role",
        "action",
        "resource_type",
        "resource_id",
        "patient_id",
        "encounter_id",
        "address",
        "outcome",
        "actor_name",
        "patient_name",
    }
    assert second["items"][0]["actor_name"] == "Staff clin_a"
    assert second["items"][0]["patient_name"] == "Patient A"
    status, mine = await admin.call("GET", f"/api/audit?actor_id={world.users['clin_a'].id}")
    assert {i["actor_id"] for i in mine["items"]} == {world.users["clin_a"].id}


async def test_a_bad_cursor_is_a_clear_error(client, world) -> None:
    admin = await world.agent("admin")
    status, body = await admin.call("GET", "/api/audit?cursor=abc")
    assert status == 422 and body["field"] == "cursor"


async def test_reading_the_audit_log_is_itself_audited(client, world, db) -> None:
    admin = await world.agent("admin")
    await admin.call("GET", "/api/audit")
    assert [r.resource_type for r in await _rows(db)][-1] == "audit_log"


async def test_the_database_refuses_to_change_or_delete_audit_rows(client, world, db) -> None:
    await (await world.agent("clin_a")).call("GET", f"/api/patients/{world.patients['a'].id}")
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin() as s:
            await s.execute(update(AuditEvent).values(outcome="tampered"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.begin() as s:
            await s.execute(delete(AuditEvent))
    assert all(r.outcome != "tampered" for r in await _rows(db))

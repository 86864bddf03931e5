"""The admin's jobs through the API and pages: staff logins with their care teams, password
resets, and the staff navigation each role sees."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import quote

from sqlalchemy import select

from server.store.models import AuditEvent, Patient
from tests.builders import PASSWORD

NEW = {
    "email": "nurse@hearth.test",
    "name": "Nora Nurse",
    "role": "clinician",
    "password": "long enough password here",
}


async def test_admin_creates_a_clinician_on_a_care_team_and_the_team_change_is_audited(
    world, db
) -> None:
    admin = await world.agent("admin")
    patient_a = world.patients["a"].id
    status, made = await admin.call(
        "POST", "/api/users", {**NEW, "care_team_patient_ids": [patient_a]}
    )
    assert status == 201, made
    assert made["care_team_patient_ids"] == [patient_a]
    nurse = world.agent
    agent = await nurse()
    await agent.login(NEW["email"], NEW["password"])
    # On patient A's team: the patient is reachable; patient B's is not.
    status, _ = await agent.call("GET", f"/api/patients/{patient_a}")
    assert status == 200
    status, _ = await agent.call("GET", f"/api/patients/{world.patients['b'].id}")
    assert status == 404
    async with db.begin() as s:
        rows = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.resource_type == "care_team", AuditEvent.patient_id == patient_a
                )
            )
        ).all()
    assert [r.action for r in rows] == ["join"]


async def test_admin_moves_a_person_between_care_teams(world, db) -> None:
    admin = await world.agent("admin")
    clin_a = world.users["clin_a"].id
    a, b = world.patients["a"].id, world.patients["b"].id
    status, changed = await admin.call(
        "PATCH", f"/api/users/{clin_a}", {"care_team_patient_ids": [b], "name": "Ann Carer"}
    )
    assert status == 200, changed
    assert changed["care_team_patient_ids"] == [b] and changed["name"] == "Ann Carer"
    status, listed = await admin.call("GET", "/api/users?role=clinician")
    mine = next(u for u in listed["items"] if u["id"] == clin_a)
    assert mine["care_team_patient_ids"] == [b]
    clinician = await world.agent("clin_a")
    assert (await clinician.call("GET", f"/api/patients/{a}"))[0] == 404
    assert (await clinician.call("GET", f"/api/patients/{b}"))[0] == 200
    async with db.begin() as s:
        actions = {
            (r.action, r.patient_id)
            for r in await s.scalars(
                select(AuditEvent).where(AuditEvent.resource_type == "care_team")
            )
        }
        update = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.resource_type == "user", AuditEvent.action == "update"
            )
        )
    assert actions == {("leave", a), ("join", b)}
    assert update is not None and update.detail == "care_teams,name"


async def test_only_clinical_roles_go_on_care_teams_and_unknown_patients_are_refused(
    world,
) -> None:
    admin = await world.agent("admin")
    status, body = await admin.call(
        "PATCH",
        f"/api/users/{world.users['sched'].id}",
        {"care_team_patient_ids": [world.patients["a"].id]},
    )
    assert status == 422 and body["code"] == "not_team_role"
    status, body = await admin.call(
        "PATCH", f"/api/users/{world.users['clin_a'].id}", {"care_team_patient_ids": [999999]}
    )
    assert status == 422 and body["code"] == "unknown_patient"


async def test_a_password_reset_is_shown_once_ends_sessions_and_is_audited(world, db) -> None:
    admin = await world.agent("admin")
    clinician = await world.agent("clin_a")
    user_id = world.users["clin_a"].id
    status, reset = await admin.call("POST", f"/api/users/{user_id}/password-reset")
    assert status == 200, reset
    assert len(reset["password"]) >= 12 and reset["user"]["id"] == user_id
    # The old session is gone, the old password no longer works, the new one does.
    assert (await clinician.call("GET", "/api/session"))[0] == 401
    fresh = await world.agent()
    status, _ = await fresh.call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": PASSWORD}
    )
    assert status == 401
    await fresh.login("clin_a@hearth.test", reset["password"])
    async with db.begin() as s:
        row = await s.scalar(select(AuditEvent).where(AuditEvent.action == "reset_password"))
    assert row is not None and row.resource_id == str(user_id)
    assert reset["password"] not in (row.detail or "")


async def test_an_admin_cannot_lock_themself_out_and_others_cannot_manage_logins(world) -> None:
    admin = await world.agent("admin")
    me = world.users["admin"].id
    status, body = await admin.call("PATCH", f"/api/users/{me}", {"active": False})
    assert status == 409 and body["code"] == "own_login"
    status, body = await admin.call("PATCH", f"/api/users/{me}", {"role": "clinician"})
    assert status == 409 and body["code"] == "own_login"
    coordinator = await world.agent("coord_a")
    target = world.users["clin_a"].id
    assert (await coordinator.call("POST", f"/api/users/{target}/password-reset"))[0] == 403
    status, listed = await coordinator.call("GET", "/api/users")
    assert status == 200 and all(u["care_team_patient_ids"] is None for u in listed["items"])
    assert (await coordinator.call("GET", "/admin/users"))[0] == 403


NAV = re.compile(r'<nav class="staff-nav".*?</nav>', re.S)
LINK = re.compile(r'<a class="button quiet" href="([^"]+)"( aria-current="page")?>')

EXPECTED_NAV = {
    "clin_a": ["/today", "/alerts", "/availability", "/calendar-feed", "/drills"],
    "coord_a": ["/today", "/alerts", "/schedule", "/drills", "/quality"],
    "sched": ["/schedule", "/availability"],
    "admin": ["/availability", "/admin/users", "/admin/audit"],
}


async def test_each_role_sees_the_pages_it_uses_with_the_current_one_marked(world) -> None:
    for who, paths in EXPECTED_NAV.items():
        agent = await world.agent(who)
        status, html = await agent.call("GET", paths[-1])
        assert status == 200, (who, paths[-1])
        nav = NAV.search(html)
        assert nav is not None, who
        links = LINK.findall(nav.group(0))
        assert [href for href, _ in links] == paths, who
        assert [href for href, current in links if current] == [paths[-1]], who


async def test_a_family_page_has_no_staff_navigation(world) -> None:
    family = await world.agent("family_a")
    status, html = await family.call("GET", "/family")
    assert status == 200 and "staff-nav" not in html


async def test_the_audit_log_filters_by_action_and_day_names_people_and_exports_audited(
    world, db, clock
) -> None:
    admin = await world.agent("admin")
    clinician = await world.agent("clin_a")
    patient_a = world.patients["a"].id
    assert (await clinician.call("GET", f"/api/patients/{patient_a}"))[0] == 200
    status, page = await admin.call(
        "GET", f"/api/audit?patient_id={patient_a}&action=read&actor_id={world.users['clin_a'].id}"
    )
    assert status == 200, page
    assert page["items"] and all(i["action"] == "read" for i in page["items"])
    first = page["items"][0]
    assert first["actor_name"] == "Staff clin_a" and first["patient_name"] == "Patient A"
    assert "read" in page["actions"] and "login" in page["actions"]
    now = clock.now()
    later = (now + dt.timedelta(days=1)).isoformat()
    status, empty = await admin.call("GET", f"/api/audit?since={quote(later)}")
    assert status == 200 and empty["items"] == []
    status, body = await admin.call("GET", "/api/audit?since=yesterday")
    assert status == 422 and body["field"] == "since"
    status, text = await admin.call("GET", f"/api/audit/export?patient_id={patient_a}")
    assert status == 200
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["id", "at", "actor_id", "actor_name"]
    assert len(lines) > 1 and all(line[9] == "Patient A" for line in lines[1:])
    async with db.begin() as s:
        exported = await s.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert exported is not None and exported.resource_type == "audit_log"
    assert exported.patient_id == patient_a
    assert (await clinician.call("GET", "/api/audit/export"))[0] == 403


async def test_a_name_that_looks_like_a_formula_is_exported_as_text(world, db) -> None:
    admin = await world.agent("admin")
    async with db.begin() as s:
        patient = await s.get(Patient, world.patients["a"].id)
        assert patient is not None
        patient.name = "=HYPERLINK(1)"
    clinician = await world.agent("clin_a")
    await clinician.call("GET", f"/api/patients/{world.patients['a'].id}")
    status, text = await admin.call("GET", f"/api/audit/export?patient_id={world.patients['a'].id}")
    assert status == 200
    names = {line[9] for line in list(csv.reader(io.StringIO(text)))[1:]}
    assert names == {"'=HYPERLINK(1)"}


async def test_a_new_diary_link_comes_with_its_qr_code_once_and_replaces_the_old_one(
    world, db
) -> None:
    clinician = await world.agent("clin_a")
    path = f"/api/patients/{world.patients['a'].id}/diary-links"
    status, first = await clinician.call("POST", path)
    assert status == 201, first
    assert first["qr_svg"].lstrip().startswith("<?xml") and "<svg" in first["qr_svg"]
    status, second = await clinician.call("POST", path + "?replace=true")
    assert status == 201 and second["revoked_link_ids"] == [first["diary_link_id"]]
    status, listed = await clinician.call("GET", path)
    assert status == 200
    assert [link["id"] for link in listed["items"]] == [second["diary_link_id"]]
    assert listed["items"][0]["created_by_name"] == "Staff clin_a"
    # The list never carries a link's secret.
    assert second["diary_link"].rsplit("/", 1)[1] not in str(listed)
    family = await world.agent()
    old_token = first["diary_link"].rsplit("/", 1)[1]
    status, _ = await family.call("GET", f"/diary/{old_token}")
    assert status == 410
    status, body = await clinician.call("POST", path + "?replace=maybe")
    assert status == 422 and body["field"] == "replace"
    scheduler = await world.agent("sched")
    assert (await scheduler.call("GET", path))[0] == 403
    async with db.begin() as s:
        revoked = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.resource_type == "diary_link", AuditEvent.action == "revoke"
                )
            )
        ).all()
    assert [r.resource_id for r in revoked] == [str(first["diary_link_id"])]


async def test_each_alert_says_which_buttons_the_caller_may_use_by_the_rule_the_api_enforces(
    world, clock
) -> None:
    clinician = await world.agent("clin_a")
    status, made = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201
    family = await world.agent()
    status, _ = await family.call(
        "POST",
        "/api/diary",
        {
            "token": made["diary_link"].rsplit("/", 1)[1],
            "entry": {
                "client_id": "e1",
                "recorded_at": clock.now().isoformat(),
                "items": {"pain": 8},
            },
        },
    )
    assert status == 201
    coordinator = await world.agent("coord_a")
    (seen,) = (await coordinator.call("GET", "/api/alerts"))[1]["items"]
    # The default ladder's first tier is the on-call nurse: not the coordinator.
    assert seen["allowed"] == {"acknowledge": False, "resolve": False, "reassign": True}
    status, refused = await coordinator.call("POST", f"/api/alerts/{seen['id']}/acknowledge")
    assert status == 409 and refused["code"] == "not_on_tier"
    names = {p["name"] for p in seen["reassign_to"]}
    assert names == {"Staff clin_a", "Staff coord_a"}
    assert seen["evidence_entries"][0]["scores"] == {"pain": 8}
    (mine,) = (await clinician.call("GET", "/api/alerts"))[1]["items"]
    assert mine["allowed"]["reassign"] is False and mine["reassign_to"] == []
    to = next(p["id"] for p in seen["reassign_to"] if p["name"] == "Staff clin_a")
    status, body = await coordinator.call(
        "POST", f"/api/alerts/{seen['id']}/reassign", {"to_user_id": to, "reason": "On shift"}
    )
    assert status == 200, body
    (mine,) = (await clinician.call("GET", "/api/alerts"))[1]["items"]
    assert mine["allowed"] == {"acknowledge": True, "resolve": True, "reassign": False}
    status, body = await clinician.call("POST", f"/api/alerts/{seen['id']}/acknowledge")
    assert status == 200
    (mine,) = (await clinician.call("GET", "/api/alerts"))[1]["items"]
    assert mine["allowed"] == {"acknowledge": False, "resolve": True, "reassign": False}
    status, body = await coordinator.call(
        "POST",
        f"/api/alerts/{seen['id']}/reassign",
        {"to_user_id": world.users["clin_b"].id, "reason": "Wrong team"},
    )
    assert status == 422 and str(world.users["clin_b"].id) not in body["error"]


async def test_care_plan_versions_name_who_saved_them(world) -> None:
    clinician = await world.agent("clin_a")
    path = f"/api/patients/{world.patients['a'].id}/care-plan"
    status, _ = await clinician.call("PUT", path, {"plan": {"ceiling_of_care": "selective"}})
    assert status == 200
    status, versions = await clinician.call("GET", path + "/versions")
    assert status == 200
    assert [v["created_by_name"] for v in versions["items"]] == ["Staff clin_a"]

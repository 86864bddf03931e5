"""Who may read and write what: one table, every role, own and other care team.

Denied and nonexistent records answer alike (404), so nobody can probe ids; a role that
may never do an action gets 403; nobody signed in gets 401.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from server.store.models import AuditEvent

ACTORS = ["clin_a", "coord_a", "clin_b", "coord_b", "sched", "admin", "family_a", "family_b", None]


def _new_visit(world: Any, clock: Any) -> dict[str, Any]:
    return {
        "patient_id": world.patients["a"].id,
        "clinician_id": world.users["clin_a"].id,
        "starts_at": (clock.now() + dt.timedelta(days=1)).isoformat(),
        "duration_minutes": 30,
        "kind": "video_visit",
    }


# action: (method, path builder, body builder, {actor: expected status})
TEAM_A = {
    "clin_a": 1,
    "coord_a": 1,
    "clin_b": 404,
    "coord_b": 404,
    "sched": 1,
    "admin": 1,
    "family_a": 403,
    "family_b": 403,
    None: 401,
}
MATRIX: dict[str, tuple[str, Any, Any, dict[Any, int]]] = {
    "read patient": (
        "GET",
        lambda w: f"/api/patients/{w.patients['a'].id}",
        None,
        {**TEAM_A, "clin_a": 200, "coord_a": 200, "sched": 200, "admin": 200},
    ),
    "add family member": (
        "POST",
        lambda w: f"/api/patients/{w.patients['a'].id}/family",
        lambda w, c: {"name": "New Person", "relationship": "friend"},
        {**TEAM_A, "clin_a": 201, "coord_a": 201, "sched": 201, "admin": 201},
    ),
    "book visit": (
        "POST",
        lambda w: "/api/encounters",
        _new_visit,
        {**TEAM_A, "clin_a": 201, "coord_a": 201, "sched": 201, "admin": 201},
    ),
    "read visit": (
        "GET",
        lambda w: f"/api/encounters/{w.encounters['a'].id}",
        None,
        {
            **TEAM_A,
            "clin_a": 200,
            "coord_a": 200,
            "sched": 200,
            "admin": 200,
            "family_a": 200,
            "family_b": 404,
        },
    ),
    "issue link": (
        "POST",
        lambda w: f"/api/encounters/{w.encounters['a'].id}/links",
        None,
        {**TEAM_A, "clin_a": 201, "coord_a": 201, "sched": 201, "admin": 201},
    ),
    "list links": (
        "GET",
        lambda w: f"/api/encounters/{w.encounters['a'].id}/links",
        None,
        {**TEAM_A, "clin_a": 200, "coord_a": 200, "sched": 200, "admin": 200},
    ),
    "revoke link": (
        "DELETE",
        lambda w: f"/api/encounters/{w.encounters['a'].id}/links/{w.link_ids['a']}",
        None,
        {**TEAM_A, "clin_a": 204, "coord_a": 204, "sched": 204, "admin": 204},
    ),
    "read audit log": (
        "GET",
        lambda w: "/api/audit",
        None,
        {
            "clin_a": 403,
            "coord_a": 403,
            "clin_b": 403,
            "coord_b": 403,
            "sched": 403,
            "admin": 200,
            "family_a": 403,
            "family_b": 403,
            None: 401,
        },
    ),
    "add staff login": (
        "POST",
        lambda w: "/api/users",
        lambda w, c: {
            "email": "new@hearth.test",
            "name": "New",
            "role": "clinician",
            "password": "a long enough password",
        },
        {
            "clin_a": 403,
            "coord_a": 403,
            "clin_b": 403,
            "coord_b": 403,
            "sched": 403,
            "admin": 201,
            "family_a": 403,
            "family_b": 403,
            None: 401,
        },
    ),
    "list staff": (
        "GET",
        lambda w: "/api/users?role=clinician",
        None,
        {
            "clin_a": 200,
            "coord_a": 200,
            "clin_b": 200,
            "coord_b": 200,
            "sched": 200,
            "admin": 200,
            "family_a": 403,
            "family_b": 403,
            None: 401,
        },
    ),
    "read missing patient": (
        "GET",
        lambda w: "/api/patients/999999",
        None,
        {
            "clin_a": 404,
            "coord_a": 404,
            "clin_b": 404,
            "coord_b": 404,
            "sched": 404,
            "admin": 404,
            "family_a": 403,
            "family_b": 403,
            None: 401,
        },
    ),
    "read missing visit": (
        "GET",
        lambda w: "/api/encounters/999999",
        None,
        {
            "clin_a": 404,
            "coord_a": 404,
            "clin_b": 404,
            "coord_b": 404,
            "sched": 404,
            "admin": 404,
            "family_a": 404,
            "family_b": 404,
            None: 401,
        },
    ),
}
CASES = [(action, actor) for action in MATRIX for actor in ACTORS]


@pytest.mark.parametrize(
    ("action", "actor"), CASES, ids=[f"{a}-{b or 'anonymous'}" for a, b in CASES]
)
async def test_access_matrix(client, world, clock, action: str, actor: str | None) -> None:
    method, path, body, expected = MATRIX[action]
    agent = await world.agent(actor)
    payload = body(world, clock) if body else None
    status, reply = await agent.call(method, path(world), payload)
    assert status == expected[actor], reply
    if status >= 400:
        assert set(reply) >= {"error", "code"}


async def test_refused_reads_are_audited_with_the_patient_they_aimed_at(client, world, db) -> None:
    outsider = await world.agent("clin_b")
    patient_id = world.patients["a"].id
    status, _ = await outsider.call("GET", f"/api/patients/{patient_id}")
    assert status == 404
    async with db.begin() as s:
        row = await s.scalar(select(AuditEvent).where(AuditEvent.outcome == "denied"))
    assert row is not None
    assert (row.actor_id, row.role, row.resource_type, row.resource_id, row.patient_id) == (
        world.users["clin_b"].id,
        "clinician",
        "patient",
        str(patient_id),
        patient_id,
    )


async def test_schedulers_and_admins_see_bookings_but_no_clinical_state(client, world, db) -> None:
    from encounters.workflow import initial_state, state_to_dict
    from server.services.templates import templates
    from server.store.models import Encounter

    async with db.begin() as s:
        encounter = await s.get(Encounter, world.encounters["a"].id)
        # A stored state (answers and all) with one more key a family page must not see.
        stored = state_to_dict(initial_state(templates()[encounter.template]))
        encounter.state = {**stored, "current_step": "identity"}
    for who, sees_state in (
        ("clin_a", True),
        ("coord_a", True),
        ("sched", False),
        ("admin", False),
        ("family_a", True),
    ):
        agent = await world.agent(who)
        status, body = await agent.call("GET", f"/api/encounters/{world.encounters['a'].id}")
        assert status == 200
        assert (body["state"] is not None) is sees_state, who
        if who == "family_a":
            # A family page learns which steps are open, never the answers in them.
            assert "current_step" not in body["state"] and "answers" not in str(body["state"])


async def test_patient_lists_hold_only_the_callers_care_teams(client, world) -> None:
    for who, expected in (
        ("clin_a", {"a"}),
        ("clin_b", {"b"}),
        ("coord_a", {"a"}),
        ("sched", {"a", "b"}),
        ("admin", {"a", "b"}),
    ):
        agent = await world.agent(who)
        status, body = await agent.call("GET", "/api/patients")
        assert status == 200
        ids = {item["id"] for item in body["items"]}
        assert ids == {world.patients[t].id for t in expected}, who


async def test_visit_lists_hold_only_the_callers_care_teams(client, world, clock) -> None:
    agent = await world.agent("clin_b")
    status, body = await agent.call("GET", "/api/encounters")
    assert status == 200
    assert [item["id"] for item in body["items"]] == [world.encounters["b"].id]


async def test_a_refused_visit_page_is_a_friendly_page_and_audited(client, world, db) -> None:
    from server.store.models import AuditEvent

    outsider = await world.agent("clin_b")
    status, html = await outsider.call("GET", f"/visit/{world.encounters['a'].id}")
    assert status == 404 and "Something is not right" in html
    async with db.begin() as s:
        row = await s.scalar(select(AuditEvent).where(AuditEvent.outcome == "denied"))
    assert row is not None and row.patient_id == world.patients["a"].id

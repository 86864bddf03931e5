"""The outcomes page of a patient (issue 19), as each role meets it: the patient's care team
opens it and records through its routes; another team's clinician gets the friendly 404 page;
a scheduler is refused; a family session is sent to the sign-in page."""

from __future__ import annotations

import re

from sqlalchemy import select

from server.store.models import AuditEvent
from tests.builders import World


async def test_the_care_team_opens_the_page_and_records_an_outcome(client, world: World) -> None:
    patient_id = world.patients["a"].id
    path = f"/patients/{patient_id}/outcomes"
    for who in ("clin_a", "coord_a"):
        staff = await world.agent(who)
        status, html = await staff.call("GET", path)
        assert status == 200, who
        assert "Outcomes · Patient A" in html
        assert "Record an outcome" in html and "outcomes.js" in html
        # The choices read as words; the preferred place comes from the care plan.
        assert ">Unplanned admission</option>" in html
        assert ">Emergency department visit</option>" in html
        assert "Preferred place of death in the care plan: Not discussed" in html
        assert ">not_discussed<" not in html and ">ed_visit<" not in html
    # The care plan page leads here.
    clin = await world.agent("clin_a")
    status, html = await clin.call("GET", f"/patients/{patient_id}/care-plan")
    assert status == 200 and re.search(r'<a href="outcomes">Outcomes', html)
    # What the page sends when a clinician records an admission, and what it reads back.
    status, made = await clin.call(
        "POST",
        f"/api/patients/{patient_id}/outcomes",
        {
            "kind": "admission",
            "occurred_on": "2026-03-02",
            "reason": "Fall",
            "crisis_plan_used": True,
        },
    )
    assert status == 201, made
    status, fixed = await clin.call(
        "PUT",
        f"/api/outcomes/{made['id']}",
        {
            "kind": "admission",
            "occurred_on": "2026-03-01",
            "reason": "Fall at night",
            "crisis_plan_used": True,
            "revision": 1,
        },
    )
    assert status == 200, fixed
    status, listed = await clin.call("GET", f"/api/patients/{patient_id}/outcomes")
    assert status == 200
    [record] = listed["items"]
    name = world.users["clin_a"].name
    # The page names who recorded each version; it never shows their id.
    assert record["recorded_by_name"] == name
    assert [v["recorded_by_name"] for v in record["history"]] == [name]
    assert record["history"][0]["reason"] == "Fall"


async def test_another_team_gets_not_found_and_other_roles_are_refused(
    client, world: World, db
) -> None:
    path = f"/patients/{world.patients['a'].id}/outcomes"
    other = await world.agent("clin_b")
    status, html = await other.call("GET", path)
    assert status == 404
    assert "That patient was not found." in html and "Patient A" not in html
    status, _ = await other.call("GET", "/patients/999999/outcomes")
    assert status == 404
    status, _ = await other.call("GET", "/patients/not-a-number/outcomes")
    assert status == 404
    scheduler = await world.agent("sched")
    status, html = await scheduler.call("GET", path)
    assert status == 403 and "Patient A" not in html and "Record an outcome" not in html
    family = await world.agent("family_a")
    status, html = await family.call("GET", path)
    # Sent to the sign-in page.
    assert status == 200 and 'id="password"' in html and "Record an outcome" not in html
    anonymous = await world.agent()
    status, html = await anonymous.call("GET", path)
    assert status == 200 and 'id="password"' in html and "Patient A" not in html
    # Each refusal of a patient's record is audited.
    async with db.begin() as s:
        denied = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.outcome == "denied", AuditEvent.action == "outcome.read"
                )
            )
        ).all()
    assert len(denied) >= 2

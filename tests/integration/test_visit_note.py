"""Issue 15, item 6: the visit note keeps every reading that crossed the patient's band or
raised an alert, carries the clinician's narrative and a sign-off, and after the sign-off
changes only by addenda. Walked through the API as the care team, outsiders and the family."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.store.models import AuditEvent
from server.store.notes import NoteAddendum, VisitNote
from tests.builders import Agent, World
from tests.integration.test_between_visits import ladder_plan
from tests.integration.test_visit_workflow import ESAS, event
from tests.unit.test_note import sections


async def finish_visit(agent: Agent, encounter_id: int) -> None:
    """Walk the default template's steps to the end, as the clinician."""
    url = f"/api/encounters/{encounter_id}/events"
    for body in (
        event("start"),
        event(
            "complete",
            "identity",
            answers={
                "name_confirmed": True,
                "birth_date_confirmed": True,
                "method": "photo_id",
                "location": "Home",
            },
        ),
        event(
            "complete",
            "consent",
            answers={
                "video_visit": True,
                "consenter": "patient",
                "recording": False,
                "share_with_family": False,
                "privacy_explained": True,
            },
        ),
        event("complete", "assessment", answers={"esas": ESAS, "answered_by": "patient"}),
        event("skip", "crisis_rehearsal", reason="Patient tired"),
        event("complete", "wrap_up", answers={"plan": "Review on Friday"}),
        event("finish"),
    ):
        status, reply = await agent.call("POST", url, body)
        assert status == 200, reply


async def post_reading(
    agent: Agent, encounter_id: int, kind: str, value: Any, at: dt.datetime
) -> str:
    client_id = str(uuid.uuid4())
    units = {"heart_rate": "/min", "spo2": "%", "blood_pressure": "mm[Hg]"}
    status, body = await agent.call(
        "POST",
        f"/api/encounters/{encounter_id}/readings",
        {
            "id": client_id,
            "kind": kind,
            "value": value,
            "unit": units[kind],
            "source": "manual",
            "taken_at": at.isoformat(),
        },
    )
    assert status == 201, body
    return client_id


class _Rows(HTMLParser):
    """The text of each table row of one section of the note (by its heading's id)."""

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section, self.inside, self.rows = section, False, []
        self.row: list[str] | None = None
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.depth += 1
        if tag == "h2":
            self.inside = dict(attrs).get("id") == self.section
        if self.inside and tag == "tr":
            self.row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self.row is not None:
            self.rows.append(re.sub(r"\s+", " ", " ".join(self.row)).strip())
            self.row = None
        if tag == "section":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.row is not None:
            self.row.append(data)


def rows_of(html: str, section: str) -> list[str]:
    parser = _Rows(section)
    parser.feed(html)
    return parser.rows[1:]  # after the header row


async def note_html(agent: Agent, encounter_id: int) -> str:
    status, html = await agent.call("GET", f"/api/encounters/{encounter_id}/note")
    assert status == 200
    return str(html)


async def test_every_reading_that_crossed_a_band_or_raised_an_alert_is_in_the_note(
    world: World, clock
) -> None:
    nurse = await world.agent("clin_a")
    encounter_id, patient_id = world.encounters["a"].id, world.patients["a"].id
    # The patient's own heart-rate limit is 100/min; the home default (120) would not flag 110.
    plan = ladder_plan(world) | {
        "vital_bands": {"heart_rate": {"unit": "/min", "low": 50, "high": 100}}
    }
    status, body = await nurse.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    await finish_visit(nurse, encounter_id)
    start = clock.now()
    clock.advance(minutes=10)
    await post_reading(nurse, encounter_id, "heart_rate", 110, start + dt.timedelta(minutes=1))
    await post_reading(nurse, encounter_id, "heart_rate", 115, start + dt.timedelta(minutes=2))
    await post_reading(nurse, encounter_id, "spo2", 85, start + dt.timedelta(minutes=3))
    await post_reading(
        nurse,
        encounter_id,
        "blood_pressure",
        {"systolic": 84, "diastolic": 50},
        start + dt.timedelta(minutes=4),
    )
    await post_reading(nurse, encounter_id, "spo2", 96, start + dt.timedelta(minutes=5))
    await post_reading(nurse, encounter_id, "heart_rate", 80, start + dt.timedelta(minutes=6))

    html = await note_html(nurse, encounter_id)
    latest = rows_of(html, "readings")
    assert any(row.startswith("Heart rate 80 /min") for row in latest)
    assert not any("110" in row for row in latest)  # only the latest of each kind up there
    flagged = rows_of(html, "flagged")
    assert [row.split(" ")[0:4] for row in flagged] == [
        ["Heart", "rate", "110", "/min"],
        ["Heart", "rate", "115", "/min"],
        ["Oxygen", "saturation", "(SpO2)", "85"],
        ["Blood", "pressure", "84/50", "mmHg"],
    ]
    hr_110, hr_115, spo2, bp = flagged
    assert "above the patient's upper limit of 100 /min" in hr_110
    # The first crossing raised the alert; the second was covered by it while it was open.
    assert "Raised an alert (high)" in hr_110 and "Raised an alert" not in hr_115
    assert "above the patient's upper limit of 100 /min" in hr_115
    assert "below the patient's lower limit of 90 %" in spo2 and "Raised an alert (high)" in spo2
    assert "Systolic: below the patient's lower limit of 90 mmHg" in bp
    assert "Diastolic" not in bp  # no band was set for it
    # Times are the patient's (Europe/London), zone named as people say it.
    assert "9:01" in hr_110 and "(GMT)" in hr_110 and "Europe/London" not in hr_110


async def test_a_band_set_after_the_reading_does_not_rewrite_the_note(world: World, clock) -> None:
    nurse = await world.agent("clin_a")
    encounter_id, patient_id = world.encounters["a"].id, world.patients["a"].id
    await post_reading(nurse, encounter_id, "heart_rate", 110, clock.now())
    clock.advance(minutes=5)
    plan = ladder_plan(world) | {
        "vital_bands": {"heart_rate": {"unit": "/min", "low": 50, "high": 100}}
    }
    status, _ = await nurse.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200
    html = await note_html(nurse, encounter_id)
    assert rows_of(html, "flagged") == []
    assert "No reading of this visit crossed the patient's limits" in sections(html)["flagged"]


async def test_narrative_sign_off_and_addenda_through_the_api(world: World, clock, db) -> None:
    nurse = await world.agent("clin_a")
    coordinator = await world.agent("coord_a")
    encounter_id = world.encounters["a"].id
    note = f"/api/encounters/{encounter_id}/note"
    await finish_visit(nurse, encounter_id)

    status, body = await nurse.call("POST", f"{note}/sign-off")
    assert (status, body["code"]) == (422, "narrative_empty")
    status, body = await nurse.call("POST", f"{note}/addenda", {"text": "Too early"})
    assert (status, body["code"]) == (409, "note_not_signed")

    status, body = await nurse.call(
        "PUT", f"{note}/narrative", {"narrative": "Comfortable today.\r\nPain settled <b>well</b>."}
    )
    assert status == 200, body
    assert body["narrative"] == "Comfortable today.\nPain settled <b>well</b>."
    assert body["narrative_by"] == {"id": world.users["clin_a"].id, "name": "Staff clin_a"}
    assert body["signed"] is None
    clock.advance(minutes=1)
    status, body = await coordinator.call(
        "PUT", f"{note}/narrative", {"narrative": "Comfortable today. Pain settled well."}
    )
    assert status == 200 and body["narrative_by"]["name"] == "Staff coord_a"
    status, body = await nurse.call("PUT", f"{note}/narrative", {"narrative": "x" * 10_001})
    assert (status, body["code"], body["field"]) == (422, "too_long", "narrative")

    clock.advance(minutes=1)
    signed_at = clock.now()
    status, body = await nurse.call("POST", f"{note}/sign-off")
    assert status == 200, body
    assert body["signed"]["by"] == {"id": world.users["clin_a"].id, "name": "Staff clin_a"}
    assert dt.datetime.fromisoformat(body["signed"]["at"]) == signed_at
    assert body["narrative"] == "Comfortable today. Pain settled well."

    status, body = await coordinator.call("POST", f"{note}/sign-off")
    assert (status, body["code"]) == (409, "already_signed")
    status, body = await nurse.call("PUT", f"{note}/narrative", {"narrative": "Changed my mind"})
    assert (status, body["code"]) == (409, "note_signed")
    status, body = await nurse.call("POST", f"{note}/addenda", {"text": "   "})
    assert (status, body["code"]) == (422, "addendum_empty")

    clock.advance(minutes=5)
    status, body = await nurse.call(
        "POST", f"{note}/addenda", {"text": "Daughter called: slept well."}
    )
    assert status == 201, body
    clock.advance(minutes=5)
    status, body = await coordinator.call(
        "POST", f"{note}/addenda", {"text": "Night dose unchanged."}
    )
    assert status == 201, body
    assert [(a["author"]["name"], a["text"]) for a in body["addenda"]] == [
        ("Staff clin_a", "Daughter called: slept well."),
        ("Staff coord_a", "Night dose unchanged."),
    ]
    assert body["narrative"] == "Comfortable today. Pain settled well."

    html = await note_html(nurse, encounter_id)
    assert "Comfortable today. Pain settled well." in html and "Changed my mind" not in html
    assert "Signed by Staff clin_a" in html
    first, second = (
        html.index("Addendum 1 by Staff clin_a"),
        html.index("Addendum 2 by Staff coord_a"),
    )
    assert first < html.index("Daughter called: slept well.") < second
    assert second < html.index("Night dose unchanged.")
    assert "<form" not in html and "<script" not in html  # the API's note is for printing

    # The database itself keeps a signed note and its addenda as they are.
    for statement in (
        update(VisitNote).values(narrative="rewritten"),
        delete(VisitNote),
        update(NoteAddendum).values(text="rewritten"),
        delete(NoteAddendum),
    ):
        with pytest.raises((DBAPIError, IntegrityError)):
            async with db.begin() as s:
                await s.execute(statement)
    async with db.begin() as s:
        assert (
            await s.scalar(select(VisitNote.narrative)) == "Comfortable today. Pain settled well."
        )

    async with db.begin() as s:
        rows = (
            await s.execute(
                select(AuditEvent.action, AuditEvent.resource_type, AuditEvent.actor_id)
                .where(
                    AuditEvent.resource_type.in_(("visit_note", "note_addendum")),
                    AuditEvent.outcome == "success",
                )
                .order_by(AuditEvent.id)
            )
        ).all()
        details = (
            await s.scalars(
                select(AuditEvent.detail).where(AuditEvent.resource_type == "visit_note")
            )
        ).all()
    nurse_id, coordinator_id = world.users["clin_a"].id, world.users["coord_a"].id
    assert [tuple(row) for row in rows] == [
        ("update", "visit_note", nurse_id),
        ("update", "visit_note", coordinator_id),
        ("sign", "visit_note", nurse_id),
        ("create", "note_addendum", nurse_id),
        ("create", "note_addendum", coordinator_id),
    ]
    assert not any(detail and "Comfortable" in detail for detail in details)  # no free text


async def test_a_note_is_signed_only_after_the_visit_is_finished(world: World) -> None:
    nurse = await world.agent("clin_a")
    note = f"/api/encounters/{world.encounters['a'].id}/note"
    status, _ = await nurse.call("PUT", f"{note}/narrative", {"narrative": "Seen at home."})
    assert status == 200
    status, body = await nurse.call("POST", f"{note}/sign-off")
    assert (status, body["code"]) == (409, "visit_not_finished")


async def test_outside_the_care_team_and_the_family_cannot_write_or_sign(world: World, db) -> None:
    nurse = await world.agent("clin_a")
    family = await world.agent("family_a")  # joined while the visit was on
    encounter_id = world.encounters["a"].id
    note = f"/api/encounters/{encounter_id}/note"
    await finish_visit(nurse, encounter_id)
    status, _ = await nurse.call("PUT", f"{note}/narrative", {"narrative": "Seen at home."})
    assert status == 200

    outsider = await world.agent("clin_b")
    scheduler = await world.agent("sched")
    for agent, expected in ((outsider, 404), (family, 403), (scheduler, 403)):
        status, _ = await agent.call("PUT", f"{note}/narrative", {"narrative": "Forged"})
        assert status == expected
        status, _ = await agent.call("POST", f"{note}/sign-off")
        assert status == expected
    anonymous = await world.agent()
    assert (await anonymous.call("POST", f"{note}/sign-off"))[0] == 401

    status, body = await nurse.call("POST", f"{note}/sign-off")
    assert status == 200 and body["narrative"] == "Seen at home."
    status, _ = await outsider.call("POST", f"{note}/addenda", {"text": "Forged"})
    assert status == 404
    status, _ = await family.call("POST", f"{note}/addenda", {"text": "Forged"})
    assert status == 403
    async with db.begin() as s:
        denied = (
            await s.execute(
                select(AuditEvent.actor_id, AuditEvent.action).where(
                    AuditEvent.outcome == "denied", AuditEvent.encounter_id == encounter_id
                )
            )
        ).all()
    outsider_id = world.users["clin_b"].id
    assert (outsider_id, "note.write") in denied and (outsider_id, "note.sign") in denied
    assert len(denied) >= 7  # every refused attempt, family and scheduler included


async def test_the_fhir_bundle_carries_the_note_preliminary_then_final_with_addenda(
    world: World, clock
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    nurse = await world.agent("clin_a")
    encounter_id = world.encounters["a"].id
    note = f"/api/encounters/{encounter_id}/note"

    async def compositions() -> list[dict[str, Any]]:
        status, text = await nurse.call("GET", f"/api/encounters/{encounter_id}/fhir")
        assert status == 200
        bundle = json.loads(text)
        Bundle.model_validate(bundle)
        return [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Composition"
        ]

    await finish_visit(nurse, encounter_id)
    assert await compositions() == []  # nothing written, nothing to carry
    await nurse.call("PUT", f"{note}/narrative", {"narrative": "Seen at home. <script>"})
    (draft,) = await compositions()
    assert draft["status"] == "preliminary" and "attester" not in draft
    assert draft["type"]["coding"][0]["code"] == "11506-3"
    assert "Seen at home. &lt;script&gt;" in draft["section"][0]["text"]["div"]

    clock.advance(minutes=2)
    await nurse.call("POST", f"{note}/sign-off")
    (final,) = await compositions()
    assert final["status"] == "final"
    (attester,) = final["attester"]
    assert attester["mode"] == "legal"
    assert dt.datetime.fromisoformat(attester["time"]) == clock.now()

    clock.advance(minutes=2)
    await nurse.call("POST", f"{note}/addenda", {"text": "Called back: settled."})
    original, addendum = await compositions()
    assert original["status"] == "amended"
    assert addendum["status"] == "final"
    (relation,) = addendum["relatesTo"]
    assert relation["code"] == "appends"
    status, text = await nurse.call("GET", f"/api/encounters/{encounter_id}/fhir")
    bundle = json.loads(text)
    urls = {e["resource"]["identifier"]["value"]: e["fullUrl"] for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Composition"}  # fmt: skip
    assert relation["targetReference"]["reference"] == urls[f"{encounter_id}-note"]
    assert "Called back: settled." in addendum["section"][0]["text"]["div"]


async def test_the_writing_page_is_the_note_with_its_forms(world: World) -> None:
    nurse = await world.agent("clin_a")
    encounter_id = world.encounters["a"].id
    status, html = await nurse.call("GET", f"/visit/{encounter_id}/note")
    assert status == 200
    assert 'id="narrative-form"' in html and 'id="sign-note"' in html
    assert '<script type="module" src="/static/js/pages/note.js">' in html
    outsider = await world.agent("clin_b")
    status, _ = await outsider.call("GET", f"/visit/{encounter_id}/note")
    assert status == 404

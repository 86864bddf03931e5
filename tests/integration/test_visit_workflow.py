"""A whole structured visit through the API, with live step events and a restart midway."""

from __future__ import annotations

from server.app.factory import create_app
from server.services.context import SERVICES
from tests.builders import Agent
from tests.visit_clients import VisitClient

ESAS = {
    "pain": 6,
    "tiredness": 5,
    "drowsiness": 3,
    "nausea": 1,
    "appetite": 4,
    "shortness_of_breath": 7,
    "depression": 2,
    "anxiety": 5,
    "wellbeing": 5,
}


def event(type_: str, step: str | None = None, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"type": type_, **extra}
    if step:
        body["step"] = step
    return body


async def test_a_whole_visit_survives_a_restart_and_finishes(
    world, aiohttp_client, settings, clock
) -> None:
    encounter_id = world.encounters["a"].id
    url = f"/api/encounters/{encounter_id}/events"
    nurse = await world.agent("clin_a")
    family = await world.agent("family_a")
    watcher = VisitClient(nurse)
    await watcher.connect()
    await watcher.join(encounter_id)
    family_socket = VisitClient(family)
    await family_socket.connect()
    await family_socket.join(encounter_id)
    assert await watcher.call("admit", {"participant_id": family_socket.participant_id}) == {
        "ok": True
    }

    status, body = await nurse.call("POST", url, event("start"))
    assert status == 200 and body["status"] == "in_progress"
    status, body = await nurse.call(
        "POST",
        url,
        event(
            "complete",
            "identity",
            answers={
                "name_confirmed": True,
                "birth_date_confirmed": True,
                "method": "known_to_clinician",
                "location": "At home, living room",
            },
        ),
    )
    assert status == 200, body
    status, body = await nurse.call(
        "POST",
        url,
        event(
            "complete",
            "consent",
            answers={
                "video_visit": True,
                "consenter": "patient",
                "recording": False,
                "share_with_family": True,
                "privacy_explained": True,
            },
        ),
    )
    assert status == 200, body
    # The family answers ESAS-r on their own page, one item at a time.
    for item, value in ESAS.items():
        status, body = await family.call(
            "POST", url, event("answer", "assessment", answers={"esas": {item: value}})
        )
        assert status == 200, body
        assert "answers" not in str(body["state"])  # the family view holds no answers
    await watcher.wait_for(lambda: watcher.events["step"])
    await family_socket.wait_for(lambda: family_socket.events["step"])
    assert "answers" not in str(family_socket.events["step"][-1])
    latest = watcher.events["step"][-1]["state"]
    assessment = next(s for s in latest["steps"] if s["step"] == "assessment")
    assert assessment["answers"]["esas"]["pain"] == 6

    # A family session may not do a clinician's step.
    status, body = await family.call(
        "POST", url, event("complete", "wrap_up", answers={"plan": "x"})
    )
    assert status == 409 and body["code"] == "role_not_allowed"
    await watcher.close()
    await family_socket.close()

    # The server restarts: a new app on the same database resumes at the same step.
    restarted = await aiohttp_client(create_app(settings, clock=clock))
    again = Agent(restarted)
    await again.login("clin_a@hearth.test")
    status, read = await again.call("GET", f"/api/encounters/{encounter_id}")
    assert status == 200
    steps = {s["step"]: s for s in read["state"]["steps"]}
    assert steps["identity"]["status"] == "completed"
    assert steps["assessment"]["answers"]["esas"]["shortness_of_breath"] == 7
    status, body = await again.call(
        "POST", url, event("complete", "assessment", answers={"answered_by": "family"})
    )
    assert status == 200, body
    assessment = next(s for s in body["state"]["steps"] if s["step"] == "assessment")
    assert assessment["scores"]["esas"]["total"] == sum(ESAS.values())
    flags = {row["item_id"]: row for row in body["comparison"]["esas"]}
    # Breathlessness 7 is at the default severe threshold; pain 6 is moderate.
    assert flags["shortness_of_breath"]["is_severe"] is True
    assert flags["pain"]["is_moderate_or_worse"] and not flags["pain"]["is_severe"]
    assert flags["pain"]["previous"] is None
    status, body = await again.call("POST", url, event("skip", "crisis_rehearsal"))
    assert status == 422 and body["code"] == "reason_required"
    status, body = await again.call(
        "POST",
        url,
        event(
            "complete",
            "crisis_rehearsal",
            answers={
                "scenario": "breathlessness",
                "teach_back": [
                    {"item": "Who to call first", "result": "correct"},
                    {"item": "When to give the rescue dose", "result": "partly"},
                ],
            },
        ),
    )
    assert status == 200, body
    status, body = await again.call("POST", url, event("finish"))
    assert status == 409  # wrap-up not done yet
    status, body = await again.call(
        "POST", url, event("complete", "wrap_up", answers={"plan": "Call on Friday."})
    )
    assert status == 200
    status, body = await again.call("POST", url, event("finish"))
    assert status == 200 and body["status"] == "finished"
    await again.close()
    assert restarted.app[SERVICES].db is not None


async def test_bad_answers_are_refused_and_change_nothing(world) -> None:
    encounter_id = world.encounters["a"].id
    url = f"/api/encounters/{encounter_id}/events"
    nurse = await world.agent("clin_a")
    assert (await nurse.call("POST", url, event("start")))[0] == 200
    for answers in (
        {"esas": {"pain": 11}},
        {"esas": {"pain": 4.5}},
        {"four_at": {"amt4": "three"}},
    ):
        status, body = await nurse.call("POST", url, event("answer", "assessment", answers=answers))
        assert status in (409, 422), body
    status, body = await nurse.call("POST", url, event("answer", "wrap_up", answers={"plan": "x"}))
    assert status == 409  # not open yet: identity and consent come first
    status, read = await nurse.call("GET", f"/api/encounters/{encounter_id}")
    assert all(not s["answers"] for s in read["state"]["steps"])
    outsider = await world.agent("clin_b")
    assert (await outsider.call("POST", url, event("start")))[0] == 404
    scheduler = await world.agent("sched")
    assert (await scheduler.call("POST", url, event("start")))[0] == 403


async def test_symptom_changes_since_the_last_visit_are_flagged(world, db, clock) -> None:
    import datetime as dt

    from server.store.models import Encounter

    earlier_state = {
        "format": 1,
        "template": "home_palliative_visit",
        "template_version": 1,
        "status": "finished",
        "steps": [
            {
                "step": "assessment",
                "kind": "assessment",
                "status": "completed",
                "answers": {"esas": {**ESAS, "pain": 3, "nausea": 4}},
            }
        ],
    }
    async with db.begin() as s:
        s.add(
            Encounter(
                patient_id=world.patients["a"].id,
                clinician_id=world.users["clin_a"].id,
                kind="video_visit",
                template="home_palliative_visit",
                status="finished",
                starts_at=clock.now() - dt.timedelta(days=7),
                ends_at=clock.now() - dt.timedelta(days=7, minutes=-30),
                state=earlier_state,
                is_drill=False,
                created_at=clock.now(),
            )
        )
    encounter_id = world.encounters["a"].id
    url = f"/api/encounters/{encounter_id}/events"
    nurse = await world.agent("clin_a")
    await nurse.call("POST", url, event("start"))
    await nurse.call(
        "POST",
        url,
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
    )
    await nurse.call(
        "POST",
        url,
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
    )
    status, body = await nurse.call(
        "POST", url, event("answer", "assessment", answers={"esas": ESAS})
    )
    assert status == 200
    rows = {row["item_id"]: row for row in body["comparison"]["esas"]}
    assert (rows["pain"]["previous"], rows["pain"]["change"]) == (3, 3)
    assert rows["pain"]["is_notable_change"] is True
    assert rows["nausea"]["change"] == -3 and rows["nausea"]["is_notable_change"] is True
    assert rows["tiredness"]["change"] == 0 and rows["tiredness"]["is_notable_change"] is False
    status, read = await nurse.call("GET", f"/api/encounters/{encounter_id}")
    assert read["comparison"]["esas"] == body["comparison"]["esas"]


async def _finished_visit(world) -> tuple[object, int]:  # type: ignore[no-untyped-def]
    encounter_id = world.encounters["a"].id
    url = f"/api/encounters/{encounter_id}/events"
    nurse = await world.agent("clin_a")
    steps = [
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
                "share_with_family": True,
                "privacy_explained": True,
            },
        ),
        event("complete", "assessment", answers={"esas": ESAS, "answered_by": "patient"}),
        event(
            "complete",
            "crisis_rehearsal",
            answers={
                "scenario": "pain_crisis",
                "teach_back": [{"item": "Give the rescue dose <b>first</b>", "result": "correct"}],
            },
        ),
        event("complete", "wrap_up", answers={"plan": "Review <script>alert(1)</script> Friday"}),
        event("finish"),
    ]
    for body in steps:
        status, reply = await nurse.call("POST", url, body)
        assert status == 200, reply
    status, _ = await nurse.call(
        "POST",
        f"/api/encounters/{encounter_id}/readings",
        {
            "id": "r-1",
            "kind": "spo2",
            "value": 93,
            "unit": "%",
            "source": "manual",
            "taken_at": "2026-03-02T09:00:00+00:00",
        },
    )
    assert status == 201
    return nurse, encounter_id


async def test_the_finished_visit_exports_a_valid_fhir_bundle(world) -> None:
    from fhir.resources.R4B.bundle import Bundle

    nurse, encounter_id = await _finished_visit(world)
    async with nurse.http.get(nurse.url(f"/api/encounters/{encounter_id}/fhir")) as response:
        assert response.status == 200
        assert response.content_type == "application/fhir+json"
        bundle = await response.json(content_type=None)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "transaction"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    for expected in ("Patient", "Encounter", "Consent", "QuestionnaireResponse", "Observation"):
        assert expected in kinds
    spo2 = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and any(c.get("code") == "2708-6" for c in e["resource"]["code"].get("coding", []))
    ]
    assert spo2 and spo2[0]["valueQuantity"]["value"] == 93
    outsider = await world.agent("clin_b")
    assert (await outsider.call("GET", f"/api/encounters/{encounter_id}/fhir"))[0] == 404


async def test_the_visit_note_renders_and_escapes_what_people_typed(world) -> None:
    family = await world.agent("family_a")  # in before the visit ends
    nurse, encounter_id = await _finished_visit(world)
    status, html = await nurse.call("GET", f"/api/encounters/{encounter_id}/note")
    assert status == 200
    assert "Patient A" in html and "ESAS-r" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert (await family.call("GET", f"/api/encounters/{encounter_id}/note"))[0] == 403

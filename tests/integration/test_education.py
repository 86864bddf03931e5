"""Issue 18, family education: a topic given in a visit, read by the family, taught back partly,
and back on the list at the next visit; every shipped topic through the API; bad input refused."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, update

from encounters.education import Level, load_builtin_library
from server.store.education import EducationAssignment, EducationTeachBack
from server.store.models import Patient
from tests.builders import World

CRISIS_PLAN: dict[str, Any] = {
    "crisis_plan": {
        "instructions": [
            {
                "crisis": "breathlessness",
                "triggers": ["Breathing fast"],
                "first_steps": ["Sit up and use the fan"],
            }
        ],
        "medicines": [
            {
                "drug": "Morphine sulfate oral solution",
                "dose": "2.5 mg",
                "route": "oral",
                "indication": "breathlessness",
                "min_interval_min": 60,
                "max_doses_per_24h": 6,
                "given_by": "family_or_nurse",
            }
        ],
        "call_tree": [
            {"kind": "hospice_line", "name": "Hospice", "phone": "+44 20 7946 0000"},
            {"kind": "out_of_hours", "name": "GP out of hours", "phone": "111"},
        ],
    }
}


async def diary_token(world: World) -> str:
    clin = await world.agent("clin_a")
    status, body = await clin.call("POST", f"/api/patients/{world.patients['a'].id}/diary-links")
    assert status == 201, body
    return str(body["diary_link"].rsplit("/", 1)[1])


def page_data(html: str) -> dict[str, Any]:
    start = html.index('<script type="application/json" id="page-data">') + len(
        '<script type="application/json" id="page-data">'
    )
    return dict(json.loads(html[start : html.index("</script>", start)]))


async def relogin(agent: Any, world: World, who: str) -> None:
    """After the fake clock moves past the idle limit, as a person would: sign in again."""
    agent.http.cookie_jar.clear()
    await agent.login(world.users[who].email)


async def audit_actions(db: Any, resource_type: str) -> list[str]:
    from server.store.models import AuditEvent

    async with db.begin() as s:
        rows = await s.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_type == resource_type)
        )
        return list(rows)


async def test_topic_given_in_a_visit_read_taught_back_partly_and_resurfaced(
    client, world: World, db, clock
) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    encounter_id = world.encounters["a"].id
    status, body = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": CRISIS_PLAN}
    )
    assert status == 200, body
    status, view = await clin.call("GET", f"/api/patients/{patient_id}/education")
    assert status == 200
    # The crisis-rehearsal step suggests the topics behind the patient's crisis plan.
    assert "breathlessness" in view["suggested"] and "rescue_medicine" in view["suggested"]
    assert "mouth_care" not in view["suggested"]

    status, given = await clin.call(
        "POST",
        f"/api/patients/{patient_id}/education",
        {"topic_id": "breathlessness", "level": "plain", "encounter_id": encounter_id},
    )
    assert status == 201, given

    # The family reads it on the family page of the visit, then again from the diary.
    family = await world.agent("family_a")
    status, page = await family.call("GET", f"/join/{world.tokens['a']}")
    status, body = await family.call("POST", f"/api/education/assignments/{given['id']}/opened", {})
    assert (status, body["status"]) == (200, "recorded")
    clock.advance(hours=2)
    await relogin(clin, world, "clin_a")
    token = await diary_token(world)
    reader = await world.agent()
    status, _ = await reader.call(
        "POST", f"/api/education/assignments/{given['id']}/opened", {"token": token}
    )
    assert status == 200
    status, _ = await reader.call(
        "POST", f"/api/education/assignments/{given['id']}/question", {"token": token}
    )
    assert status == 200

    # Taught back in the visit: one point partly, one not yet, two correct.
    status, body = await clin.call(
        "POST",
        f"/api/patients/{patient_id}/education/teach-back",
        {
            "topic_id": "breathlessness",
            "encounter_id": encounter_id,
            "results": [
                {"point_id": "positions", "result": "correct"},
                {"point_id": "fan_use", "result": "partly"},
                {"point_id": "pacing", "result": "not_yet"},
                {"point_id": "when_breathless_call", "result": "correct"},
            ],
        },
    )
    assert status == 201, body
    assert body["stored"] == 4

    # At the next visit the team sees what was opened and when, the question, and the two
    # points not yet understood come back.
    clock.advance(days=3)
    await relogin(clin, world, "clin_a")
    status, view = await clin.call("GET", f"/api/patients/{patient_id}/education")
    (assignment,) = view["assignments"]
    assert assignment["open_count"] == 2
    assert assignment["first_opened_at"] < assignment["last_opened_at"]
    assert assignment["question_at"] is not None
    assert assignment["encounter_id"] == encounter_id
    assert [(p["point_id"], p["result"]) for p in view["revisit"]] == [
        ("fan_use", "partly"),
        ("pacing", "not_yet"),
    ]
    assert [c["comprehension_pct"] for c in view["comprehension"]] == [62.5]
    assert {p["point_id"] for p in view["points"]["breathlessness"]} >= {"fan_use", "pacing"}

    # Taught again: the fan is now understood, pacing still partly.
    status, _ = await clin.call(
        "POST",
        f"/api/patients/{patient_id}/education/teach-back",
        {
            "topic_id": "breathlessness",
            "results": [
                {"point_id": "fan_use", "result": "correct"},
                {"point_id": "pacing", "result": "partly"},
            ],
        },
    )
    assert status == 201
    status, view = await clin.call("GET", f"/api/patients/{patient_id}/education")
    assert [(p["point_id"], p["result"]) for p in view["revisit"]] == [("pacing", "partly")]
    assert [c["comprehension_pct"] for c in view["comprehension"]] == [62.5, 75.0]

    assert await audit_actions(db, "education_assignment") == [
        "create",
        "open",
        "open",
        "question",
    ]
    assert await audit_actions(db, "education_teach_back") == ["create", "create"]
    assert (await audit_actions(db, "education")).count("read") == 3


async def test_every_shipped_topic_in_every_language_and_level_walks_through_the_api(
    client, world: World, db
) -> None:
    library = load_builtin_library()
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, listing = await clin.call("GET", "/api/education/topics")
    assert status == 200
    listed = {(i["topic_id"], i["language"], i["level"]) for i in listing["items"]}
    assert listed == {(t, lang, lvl.value) for (t, lang) in library.topics for lvl in Level}
    token = await diary_token(world)
    reader = await world.agent()
    languages = sorted({language for (_, language) in library.topics})
    # A topic is given at a level, whatever the language: the family reads it in the patient's.
    for level in Level:
        for topic_id in library.topic_ids():
            status, given = await clin.call(
                "POST",
                f"/api/patients/{patient_id}/education",
                {"topic_id": topic_id, "level": level.value},
            )
            assert status in (200, 201), given
            status, _ = await reader.call(
                "POST", f"/api/education/assignments/{given['id']}/opened", {"token": token}
            )
            assert status == 200
        # Every topic on the diary page, in each language, at the level given.
        for language in languages:
            async with db.begin() as s:
                await s.execute(
                    update(Patient).where(Patient.id == patient_id).values(language=language)
                )
            status, page = await reader.call("GET", f"/diary/{token}")
            assert status == 200
            shown = {t["topic_id"]: t for t in page_data(page)["education"]}
            for topic_id in library.topic_ids():
                topic, on_page = library.best(topic_id, language), shown[topic_id]
                assert (on_page["language"], on_page["level"]) == (topic.language, level.value)
                assert on_page["title"] == topic.version(level).title, (topic_id, language)
                assert len(on_page["sections"]) == len(topic.version(level).sections)
    for topic_id in library.topic_ids():
        topic = library.topics[(topic_id, "en")]
        status, _ = await clin.call(
            "POST",
            f"/api/patients/{patient_id}/education/teach-back",
            {
                "topic_id": topic_id,
                "results": [
                    {"point_id": p.point_id, "result": "correct"} for p in topic.teach_back
                ],
            },
        )
        assert status == 201
    status, view = await clin.call("GET", f"/api/patients/{patient_id}/education")
    assert view["revisit"] == []
    assert {a["topic_id"] for a in view["assignments"]} == set(library.topic_ids())


async def test_bad_education_input_is_refused_and_nothing_is_stored(
    client, world: World, db
) -> None:
    clin = await world.agent("clin_a")
    patient_a, patient_b = world.patients["a"].id, world.patients["b"].id
    cases = [
        ({"topic_id": "no_such_topic"}, 422, "unknown_topic"),
        ({"topic_id": "mouth_care", "level": "simple"}, 422, None),
        ({"topic_id": "Mouth Care"}, 422, None),
        ({"topic_id": "mouth_care", "encounter_id": world.encounters["b"].id}, 404, None),
    ]
    for body, code, slug in cases:
        status, answer = await clin.call("POST", f"/api/patients/{patient_a}/education", body)
        assert status == code, (body, answer)
        assert "error" in answer and "code" in answer
        if slug:
            assert answer["code"] == slug
    status, _ = await clin.call(
        "POST", f"/api/patients/{patient_b}/education", {"topic_id": "mouth_care"}
    )
    assert status == 404
    teach_cases = [
        {"topic_id": "mouth_care", "results": [{"point_id": "nope", "result": "correct"}]},
        {"topic_id": "mouth_care", "results": [{"point_id": "how_often", "result": "maybe"}]},
        {
            "topic_id": "mouth_care",
            "results": [
                {"point_id": "how_often", "result": "correct"},
                {"point_id": "how_often", "result": "partly"},
            ],
        },
        {"topic_id": "mouth_care", "results": []},
    ]
    for body in teach_cases:
        status, answer = await clin.call(
            "POST", f"/api/patients/{patient_a}/education/teach-back", body
        )
        assert status == 422, (body, answer)
    # The family may not mark another patient's topic, nor without a link.
    status, given = await clin.call(
        "POST", f"/api/patients/{patient_a}/education", {"topic_id": "mouth_care"}
    )
    assert status == 201
    anonymous = await world.agent()
    status, answer = await anonymous.call(
        "POST", f"/api/education/assignments/{given['id']}/opened", {}
    )
    assert (status, answer["code"]) == (401, "unauthenticated")
    status, answer = await anonymous.call(
        "POST", f"/api/education/assignments/{given['id']}/opened", {"token": "not-a-token"}
    )
    assert (status, answer["code"]) == (401, "link_invalid")
    family_b = await world.agent("family_b")
    status, _ = await family_b.call("POST", f"/api/education/assignments/{given['id']}/opened", {})
    assert status == 404
    async with db.begin() as s:
        assert await s.scalar(select(func.count()).select_from(EducationTeachBack)) == 0
        row = await s.get(EducationAssignment, given["id"])
        assert row is not None and row.open_count == 0


async def test_action_plan_prints_the_plan_in_large_print(client, world: World) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, _ = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": CRISIS_PLAN}
    )
    assert status == 200
    status, page = await clin.call("GET", f"/patients/{patient_id}/action-plan")
    assert status == 200
    for text in (
        "Morphine sulfate oral solution",
        "2.5 mg",
        "by mouth",
        "+44 20 7946 0000",
        "Sit up and use the fan",
        "GP out of hours",
        "action_plan.css",
    ):
        assert text in page, text
    assert page.index("Hospice") < page.index("GP out of hours")
    other = await world.agent("clin_b")
    status, _ = await other.call("GET", f"/patients/{patient_id}/action-plan")
    assert status == 404


async def test_library_page_lists_every_topic_with_its_readability(client, world: World) -> None:
    clin = await world.agent("clin_a")
    status, page = await clin.call("GET", "/education")
    assert status == 200
    assert "Flesch–Kincaid grade" in page
    assert "Feeling short of breath" in page
    family = await world.agent("family_a")
    status, _ = await family.call("GET", "/education")
    assert status in (302, 200) and "Flesch" not in str(_)

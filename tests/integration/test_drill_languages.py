"""Issue 18: staff read a drill's scenario in the language their own pages are in. Every
shipped scenario is drilled once, then read back in English, Spanish, French and Arabic
through the console, the drill page, the report, the trends and the API behind them, while
what the drill stored stays the English as authored."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import select

from encounters.scenarios import PromptEvent, Scenario, load_builtin_scenarios
from encounters.scenarios.translated import load_builtin_translations
from server.services.drills import DRILLS
from server.store.drills import Drill, DrillEvent
from tests.builders import World
from tests.integration.test_drills_fit_the_plan import fitting_plan

SCENARIOS = load_builtin_scenarios()
LANGUAGES = ("en", "es", "fr", "ar")


def expected_words(language: str, scenario: Scenario) -> dict[str, Any]:
    """What a reader of ``language`` should see, straight from the files."""
    prompt = next(e for e in scenario.events if isinstance(e, PromptEvent))
    if language == "en":
        return {
            "title": scenario.title,
            "summary": scenario.summary,
            "questions": [q.item for q in scenario.teach_back],
            "prompt": prompt.text,
        }
    words = load_builtin_translations()[(language, scenario.scenario_id)]
    return {
        "title": words.title,
        "summary": words.summary,
        "questions": [words.teach_back[q.item] for q in scenario.teach_back],
        "prompt": words.prompts[prompt.event_id],
    }


async def run_drill(world: World, client: Any, clock: Any, coord: Any, scenario: Scenario) -> int:
    """Set up, start and finish one drill: its first prompt played, one teach-back answer."""
    status, created = await coord.call(
        "POST",
        "/api/drills",
        {
            "patient_id": world.patients["a"].id,
            "scenario_id": scenario.scenario_id,
            "clinician_id": world.users["clin_a"].id,
        },
    )
    assert status == 201, created
    drill_id = int(created["drill"]["id"])
    status, body = await coord.call("POST", f"/api/drills/{drill_id}/start")
    assert status == 200, body
    prompt = next(e for e in scenario.events if isinstance(e, PromptEvent))
    clock.advance(seconds=prompt.at_s)
    await client.app[DRILLS].run_due(clock.now(), drill_id)
    # An answer names its question by the English item, whatever the page's language.
    status, body = await coord.call(
        "POST",
        f"/api/drills/{drill_id}/actions",
        {"kind": "teach_back", "item": scenario.teach_back[0].item, "result": "correct"},
    )
    assert status == 201, body
    status, body = await coord.call("POST", f"/api/drills/{drill_id}/finish")
    assert status == 200, body
    clock.advance(seconds=60)
    return drill_id


async def test_every_scenario_reads_in_the_staff_members_language(
    client: Any, world: World, db: Any, clock: Any
) -> None:
    clin, coord = await world.agent("clin_a"), await world.agent("coord_a")
    # The most demanding scenario's plan (no resuscitation, selective care, forms kept at
    # home, a ladder of two tiers) fits every shipped scenario.
    plan = fitting_plan(world, SCENARIOS["expected_death"].plan_needs)
    status, body = await clin.call(
        "PUT", f"/api/patients/{world.patients['a'].id}/care-plan", {"plan": plan}
    )
    assert status == 200, body
    drills = {
        sid: await run_drill(world, client, clock, coord, scenario)
        for sid, scenario in sorted(SCENARIOS.items())
    }

    for language in LANGUAGES:
        # The language chooser on any page: remembered on the account, as staff pages do.
        status, console = await coord.call("GET", f"/drills?lang={language}")
        assert status == 200
        console = html.unescape(console)
        assert f'lang="{language}"' in console
        status, listed = await coord.call("GET", "/api/drills")
        assert status == 200, listed
        titles = {d["scenario_id"]: d["title"] for d in listed["items"]}
        status, trends = await coord.call("GET", "/api/drill-trends")
        assert status == 200, trends
        trend_titles = {t["scenario_id"]: t["title"] for t in trends["items"]}
        status, board = await coord.call("GET", "/api/quality")
        assert status == 200, board
        board_titles = {d["drill_id"]: d["title"] for d in board["drills"]}
        status, library = await coord.call("GET", "/api/scenarios")
        assert status == 200, library
        offered = {s["id"]: s for s in library["items"]}
        for sid, drill_id in drills.items():
            words = expected_words(language, SCENARIOS[sid])
            where = (language, sid)
            # The console: the scenario to set up, and the drills so far.
            assert words["title"] in console and words["summary"] in console, where
            assert titles[sid] == trend_titles[sid] == board_titles[drill_id] == words["title"]
            assert offered[sid]["title"] == words["title"], where
            assert offered[sid]["summary"] == words["summary"], where
            assert [q["item"] for q in offered[sid]["teach_back"]] == words["questions"], where

            # The drill page and the detail it reads.
            status, page = await coord.call("GET", f"/drills/{drill_id}")
            page = html.unescape(page)
            assert status == 200 and words["title"] in page and words["summary"] in page, where
            status, detail = await coord.call("GET", f"/api/drills/{drill_id}")
            assert status == 200, detail
            assert detail["drill"]["title"] == words["title"], where
            assert detail["drill"]["summary"] == words["summary"], where
            assert [q["text"] for q in detail["teach_back"]] == words["questions"], where
            english = [q.item for q in SCENARIOS[sid].teach_back]
            assert [q["item"] for q in detail["teach_back"]] == english, where
            by_kind = {e["kind"]: e for e in detail["events"]}
            assert by_kind["prompt"]["text"] == words["prompt"], where
            assert by_kind["teach_back"]["item"] == english[0], where
            assert by_kind["teach_back"]["question"] == words["questions"][0], where

            # The report, as the API gives it and as the printable page shows it.
            status, out = await coord.call("GET", f"/api/drills/{drill_id}/report")
            assert status == 200, out
            report = out["report"]
            assert out["drill"]["title"] == report["title"] == words["title"], where
            assert [q["text"] for q in report["teach_back"]] == words["questions"], where
            assert (
                report["teach_back"][0]["asked"] and report["teach_back"][0]["item"] == english[0]
            )
            events = [row["event"] for row in report["timeline"] if row["event"]]
            assert any(e.get("key") == "prompt" and e["text"] == words["prompt"] for e in events)
            answers = [e for e in events if e["type"] == "TeachBackAnswer"]
            assert [a["question"] for a in answers] == [words["questions"][0]], where
            status, printed = await coord.call("GET", f"/drills/{drill_id}/report")
            printed = html.unescape(printed)
            assert status == 200, where
            for text in (words["title"], words["prompt"], *words["questions"]):
                assert text in printed, (where, text)

    # What the drills stored does not depend on who read them, or in which language.
    async with db.begin() as s:
        stored = (await s.scalars(select(Drill).order_by(Drill.id))).all()
        answers = (
            await s.scalars(select(DrillEvent).where(DrillEvent.kind.in_(("teach_back", "prompt"))))
        ).all()
    assert {d.scenario["title"] for d in stored} == {s.title for s in SCENARIOS.values()}
    english_words = {q.item for s in SCENARIOS.values() for q in s.teach_back} | {
        e.text for s in SCENARIOS.values() for e in s.events if isinstance(e, PromptEvent)
    }
    assert {a.data.get("item") or a.data["text"] for a in answers} <= english_words
    assert len(answers) == 2 * len(SCENARIOS)

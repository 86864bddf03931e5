"""A drill's stored scenario snapshot: every shipped scenario survives the round trip, and
the report scores against the copy, not the file."""

from __future__ import annotations

import json

import pytest

from encounters.careplan import CrisisInstruction, CrisisPlan
from encounters.drill_json import from_snapshot, snapshot
from encounters.drills import family_steps_for
from encounters.errors import ValidationError
from encounters.scenarios import DiaryEvent, FamilyStep, ReadingEvent, load_builtin_scenarios

SCENARIOS = load_builtin_scenarios()


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_every_shipped_scenario_round_trips_through_json(scenario_id: str) -> None:
    scenario = SCENARIOS[scenario_id]
    stored = json.loads(json.dumps(snapshot(scenario, scenario.expected.family_steps)))
    again, steps = from_snapshot(stored)
    assert again.events == scenario.events
    assert again.expected.alert_rules == scenario.expected.alert_rules
    assert [s.tier for s in again.expected.escalation] == [
        s.tier for s in scenario.expected.escalation
    ]
    assert again.expected.tier == scenario.expected.tier
    assert again.teach_back == scenario.teach_back
    assert steps == scenario.expected.family_steps
    assert (again.title, again.crisis, again.duration_s) == (
        scenario.title,
        scenario.crisis,
        scenario.duration_s,
    )


def test_the_snapshot_keeps_the_patients_own_first_steps() -> None:
    scenario = SCENARIOS["seizure"]
    plan = CrisisPlan(
        instructions=(
            CrisisInstruction(scenario.crisis, ("Shaking",), ("Keep him safe", "Time it")),
        )
    )
    steps = family_steps_for(scenario, plan)
    _, stored_steps = from_snapshot(snapshot(scenario, steps))
    assert stored_steps == (FamilyStep("plan_1", "Keep him safe"), FamilyStep("plan_2", "Time it"))


def test_readings_and_diary_entries_keep_their_values() -> None:
    scenario = SCENARIOS["pain_crisis"]
    again, _ = from_snapshot(snapshot(scenario, ()))
    diary = [e for e in again.events if isinstance(e, DiaryEvent)]
    assert dict(diary[-1].scores) == {"pain": 8, "sleep": 6} and diary[-1].worry
    readings = [e for e in again.events if isinstance(e, ReadingEvent)]
    assert (readings[0].value, readings[-1].value, readings[-1].unit) == (96.0, 126.0, "/min")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(version=99),
        lambda d: d["events"][0].update(type="dance"),
        lambda d: d["events"].append(
            {
                "id": "x",
                "at_s": 1,
                "type": "reading",
                "kind": "mood",
                "value": 1,
                "unit": "",
                "value2": None,
            }
        ),
    ],
)
def test_a_damaged_snapshot_is_refused(change) -> None:  # type: ignore[no-untyped-def]
    stored = snapshot(SCENARIOS["pain_crisis"], ())
    change(stored)
    with pytest.raises(ValidationError):
        from_snapshot(stored)

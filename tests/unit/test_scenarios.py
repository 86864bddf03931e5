"""Drill scenario files: the shipped library, ramps, and every refusal naming file and line."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encounters.careplan import (
    AdvanceCare,
    CarePlan,
    CeilingOfCare,
    CrisisType,
    Resuscitation,
    ladder_in_effect,
)
from encounters.detection import Rule
from encounters.errors import DataFileError
from encounters.scenarios import (
    DiaryEvent,
    PromptEvent,
    Ramp,
    ReadingEvent,
    check_against_ladder,
    expand_ramp,
    load_builtin_scenarios,
    load_scenarios,
    parse_scenario,
)

SHIPPED = sorted(
    entry.name
    for entry in resources.files("encounters.scenarios").iterdir()
    if entry.name.endswith(".toml")
)

VALID = """\
# A small scenario the refusal tests change one line of.
id = "tiny"
title = "Tiny"
crisis = "breathlessness"
summary = "A short test scenario."

[[events]]
id = "opening"
type = "prompt"
at_s = 0
text = "She says she can't breathe."

[[events]]
id = "spo2"
type = "reading"
at_s = 10
kind = "spo2"
unit = "%"
value = 88

[[events]]
id = "diary"
type = "diary"
at_s = 20
items = { breathlessness = 8 }

[expected]
alert_rules = ["vital_out_of_band"]

[[expected.escalation]]
tier = 1

[[expected.escalation]]
tier = 3

[[expected.family_steps]]
id = "sit_upright"
text = "Sit her upright."

[[teach_back]]
item = "Who you call first"
safety_critical = true
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def refusal(text: str, path: str = "drill.toml", *, has_line: bool = True) -> DataFileError:
    """The error parsing ``text`` raises; its message starts with ``file:line:``."""
    with pytest.raises(DataFileError) as caught:
        parse_scenario(text, path)
    error = caught.value
    assert error.path == path
    if has_line:
        assert error.line is not None
        assert str(error).startswith(f"{path}:{error.line}: ")
    return error


def test_ships_the_six_crises_of_the_clinical_table() -> None:
    scenarios = load_builtin_scenarios()
    assert {s.crisis for s in scenarios.values()} == {
        CrisisType.PAIN,
        CrisisType.BREATHLESSNESS,
        CrisisType.HAEMORRHAGE,
        CrisisType.SEIZURE,
        CrisisType.DELIRIUM,
        CrisisType.EXPECTED_DEATH,
    }
    assert len(SHIPPED) == 6


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads_and_fits_the_default_ladder(name: str) -> None:
    text = resources.files("encounters.scenarios").joinpath(name).read_text(encoding="utf-8")
    assert text.startswith("#"), "each file opens with a comment for clinicians"
    scenario = parse_scenario(text, name)
    assert scenario.events
    assert [e.at_s for e in scenario.events] == sorted(e.at_s for e in scenario.events)
    assert scenario.teach_back and any(q.safety_critical for q in scenario.teach_back)
    assert scenario.expected.family_steps
    check_against_ladder(scenario, [t.tier for t in CarePlan().escalation_ladder.tiers])


def test_expected_death_expects_no_tier_beyond_the_hospice_line() -> None:
    scenario = load_builtin_scenarios()["expected_death"]
    assert scenario.expected.tier == 1
    assert scenario.expected.alert_rules == ()


def test_parses_prompt_reading_diary_and_expected_responses() -> None:
    scenario = parse_scenario(VALID, "drill.toml")
    prompt, reading, diary = scenario.events
    assert prompt == PromptEvent("opening", 0, "She says she can't breathe.")
    assert reading == ReadingEvent("spo2", 10, "spo2", 88.0, "%")
    assert isinstance(diary, DiaryEvent)
    assert dict(diary.scores) == {"breathlessness": 8}
    assert scenario.expected.alert_rules == (Rule.VITAL_OUT_OF_BAND,)
    assert [s.tier for s in scenario.expected.escalation] == [1, 3]
    assert scenario.expected.tier == 3
    assert scenario.teach_back[0].safety_critical is True
    assert scenario.duration_s == 20


def test_ramp_expands_to_readings_every_step_rounded_like_its_ends() -> None:
    ramp = Ramp("spo2_fall", 30, "spo2", "%", 94, 84, over_s=180, every_s=30)
    readings = expand_ramp(ramp)
    assert [r.value for r in readings] == [94, 92, 91, 89, 87, 86, 84]
    assert [r.at_s for r in readings] == [30, 60, 90, 120, 150, 180, 210]
    assert readings[0].event_id == "spo2_fall.1" and readings[-1].event_id == "spo2_fall.7"


def test_ramp_keeps_the_decimal_places_of_its_ends() -> None:
    ramp = Ramp("fever", 0, "temperature", "Cel", Decimal("37.2"), Decimal("38.6"), 60, 30)
    assert [r.value for r in expand_ramp(ramp)] == [37.2, 37.9, 38.6]


def test_concurrent_ramps_interleave_in_time_order() -> None:
    scenario = load_builtin_scenarios()["terminal_breathlessness"]
    readings = [e for e in scenario.events if isinstance(e, ReadingEvent)]
    spo2 = [r.value for r in readings if r.kind == "spo2"]
    rate = [r.value for r in readings if r.kind == "respiratory_rate"]
    assert spo2[0] == 94 and spo2[-1] == 84 and spo2 == sorted(spo2, reverse=True)
    assert rate[0] == 22 and rate[-1] == 32 and rate == sorted(rate)
    assert [r.kind for r in readings[:4]] == ["spo2", "respiratory_rate"] * 2


def test_ramp_in_a_file_is_expanded_by_the_loader() -> None:
    text = VALID.replace("value = 88", "from = 94\nto = 84\nover_s = 60\nevery_s = 30").replace(
        "at_s = 20", "at_s = 70"
    )
    scenario = parse_scenario(text, "drill.toml")
    values = [e.value for e in scenario.events if isinstance(e, ReadingEvent)]
    assert values == [94, 89, 84]


def test_refuses_an_unknown_event_type_with_file_and_line() -> None:
    text = VALID.replace('type = "prompt"', 'type = "vital"')
    error = refusal(text)
    assert error.path == "drill.toml"
    assert error.line == line_of(text, 'type = "vital"')
    assert f"drill.toml:{error.line}:" in str(error)
    assert "event type 'vital' is unknown" in str(error)


def test_refuses_a_reading_outside_the_physical_range_with_file_and_line() -> None:
    text = VALID.replace("value = 88", "value = 120")
    error = refusal(text)
    assert error.line == line_of(text, "value = 120")
    assert "physical range" in str(error) and "between 20 and 100" in str(error)


def test_refuses_a_ramp_that_ends_outside_the_physical_range() -> None:
    text = VALID.replace("value = 88", "from = 40\nto = 10\nover_s = 60\nevery_s = 30")
    error = refusal(text)
    assert error.line == line_of(text, "to = 10")


def test_refuses_a_reading_with_the_wrong_unit_with_file_and_line() -> None:
    text = VALID.replace('unit = "%"', 'unit = "/min"')
    error = refusal(text)
    assert error.line == line_of(text, 'unit = "/min"')
    assert "unit '/min' is wrong for spo2" in str(error)


def test_refuses_a_blood_pressure_whose_diastolic_is_not_below_systolic() -> None:
    text = VALID.replace(
        'kind = "spo2"\nunit = "%"\nvalue = 88',
        'kind = "blood_pressure"\nunit = "mm[Hg]"\nvalue = 80\nvalue2 = 90',
    )
    error = refusal(text)
    assert error.line == line_of(text, "value2 = 90")


def test_refuses_events_out_of_time_order_with_file_and_line() -> None:
    text = VALID.replace("at_s = 20", "at_s = 5")
    error = refusal(text)
    assert error.line == line_of(text, "at_s = 5")
    assert "time order" in str(error)


def test_refuses_a_duplicate_event_id_with_file_and_line() -> None:
    text = VALID.replace('id = "diary"', 'id = "spo2"')
    error = refusal(text)
    lines = [n for n, line in enumerate(text.splitlines(), 1) if line == 'id = "spo2"']
    assert error.line == lines[1]
    assert "used twice" in str(error)


def test_refuses_an_empty_timeline() -> None:
    head = VALID[: VALID.index("[[events]]")]
    # No [[events]] line exists to point at, so the file alone is named.
    error = refusal(head, has_line=False)
    assert str(error).startswith("drill.toml: ") and "timeline is empty" in str(error)


def test_refuses_a_tier_below_one_with_file_and_line() -> None:
    text = VALID.replace("tier = 3", "tier = 0")
    error = refusal(text)
    assert error.line == line_of(text, "tier = 0")
    assert "numbered from 1" in str(error)


def test_refuses_expected_tiers_that_do_not_increase() -> None:
    text = VALID.replace("tier = 3", "tier = 1")
    error = refusal(text)
    assert error.line == [n for n, x in enumerate(text.splitlines(), 1) if x == "tier = 1"][1]


def test_ladder_check_refuses_a_tier_the_patients_ladder_lacks() -> None:
    scenario = parse_scenario(VALID, "drill.toml")
    comfort_only = CarePlan(
        ceiling_of_care=CeilingOfCare.COMFORT_ONLY,
        advance_care=AdvanceCare(resuscitation=Resuscitation.DNR),
    )
    tiers = [t.tier for t in ladder_in_effect(comfort_only).tiers]
    assert tiers == [1, 2]
    with pytest.raises(DataFileError) as caught:
        check_against_ladder(scenario, tiers)
    assert caught.value.path == "drill.toml"
    assert caught.value.line == line_of(VALID, "tier = 3")
    assert "tier 3 is not on this patient's escalation ladder (tiers: 1, 2)" in str(caught.value)
    check_against_ladder(scenario, [1, 2, 3])


def test_refuses_an_unknown_alert_rule_diary_item_and_score() -> None:
    assert "alert rule 'spo2_low'" in str(
        refusal(VALID.replace('["vital_out_of_band"]', '["spo2_low"]'))
    )
    text = VALID.replace("breathlessness = 8", "cough = 8")
    assert refusal(text).line == line_of(text, "cough = 8")
    assert "from 0 to 10" in str(
        refusal(VALID.replace("breathlessness = 8", "breathlessness = 11"))
    )


def test_refuses_an_unknown_key_such_as_a_typo() -> None:
    text = VALID.replace("at_s = 10", "at_sec = 10")
    error = refusal(text)
    assert error.line == line_of(text, "at_sec = 10")


def test_refuses_a_ramp_whose_length_is_not_a_whole_number_of_steps() -> None:
    text = VALID.replace("value = 88", "from = 94\nto = 84\nover_s = 50\nevery_s = 30")
    assert refusal(text).line == line_of(text, "over_s = 50")


def test_refuses_invalid_toml_with_its_line() -> None:
    text = VALID.replace('title = "Tiny"', "title = ")
    assert refusal(text).line == line_of(text, "title = ")


def test_refuses_a_repeated_family_step_id_or_teach_back_item() -> None:
    step = '[[expected.family_steps]]\nid = "sit_upright"\ntext = "Again."\n\n[[teach_back]]'
    text = VALID.replace("[[teach_back]]", step, 1)
    assert "used twice" in str(refusal(text))
    item = '[[teach_back]]\nitem = "Who you call first"\n'
    assert "listed twice" in str(refusal(VALID + "\n" + item))


@given(
    st.integers(20, 100),
    st.integers(20, 100),
    st.integers(5, 60),
    st.integers(1, 20),
)
def test_a_ramp_runs_from_its_start_to_its_end_without_overshooting(
    start: int, end: int, every_s: int, steps: int
) -> None:
    ramp = Ramp("r", 0, "spo2", "%", start, end, over_s=every_s * steps, every_s=every_s)
    values = [r.value for r in expand_ramp(ramp)]
    assert len(values) == steps + 1
    assert values[0] == start and values[-1] == end
    assert values == sorted(values, reverse=start > end)
    assert all(min(start, end) <= v <= max(start, end) for v in values)


def test_a_coordinator_adds_a_scenario_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(VALID, encoding="utf-8")
    scenarios = load_scenarios(tmp_path)
    assert "tiny" in scenarios and "seizure" in scenarios
    assert scenarios["tiny"].path == str(tmp_path / "tiny.toml")


def test_refuses_an_added_scenario_reusing_a_shipped_id(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(VALID.replace('id = "tiny"', 'id = "seizure"'), encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_scenarios(tmp_path)
    assert caught.value.path == str(path)
    assert caught.value.line == 2
    assert "already used by seizure.toml" in str(caught.value)


def test_refuses_a_scenario_directory_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DataFileError):
        load_scenarios(tmp_path / "missing")

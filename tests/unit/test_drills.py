"""Drill reports: timing, escalation accuracy, teach-back comprehension and the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encounters.careplan import CrisisInstruction, CrisisPlan, CrisisType
from encounters.detection import Rule
from encounters.drills import (
    Acknowledged,
    AlertRaised,
    DrillRecord,
    Escalated,
    FamilyAction,
    ReadingRecord,
    Resolved,
    Said,
    TeachBackAnswer,
    build_drill_report,
    build_timeline,
    family_steps_for,
    onset_at,
    score_accuracy,
    score_comprehension,
    time_to_acknowledge_s,
    time_to_tier_s,
)
from encounters.errors import ValidationError
from encounters.scenarios import (
    EscalationStep,
    ExpectedResponse,
    FamilyStep,
    TeachBackQuestion,
    load_builtin_scenarios,
)

T0 = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
SCENARIOS = load_builtin_scenarios()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


SIT = FamilyStep("sit_upright", "Help her sit upright.")
FAN = FamilyStep("fan", "Point a fan at her face.")
EXPECTED = ExpectedResponse(
    alert_rules=(Rule.VITAL_OUT_OF_BAND,),
    escalation=(EscalationStep(1),),
    family_steps=(SIT, FAN),
)

# A breathlessness drill: SpO2 falls, an alert is raised, the nurse answers after 75 s.
LOG: list[DrillRecord] = [
    ReadingRecord(at(0), "spo2", 93, abnormal=False, unit="%"),
    ReadingRecord(at(30), "spo2", 89, abnormal=True, unit="%"),
    AlertRaised(at(31), "vital_out_of_band"),
    FamilyAction(at(40), "sit_upright"),
    Said(at(50), "family", "She can't breathe, what do I do?"),
    Acknowledged(at(105), "nurse_ana", tier=1),
    Resolved(at(400), "advice_given", by="nurse_ana"),
]


def test_time_to_acknowledge_runs_from_the_first_abnormal_reading() -> None:
    assert onset_at(LOG) == at(30)
    assert time_to_acknowledge_s(LOG) == 75.0


def test_never_acknowledged_gives_none_not_a_crash() -> None:
    log = [r for r in LOG if not isinstance(r, Acknowledged)]
    assert time_to_acknowledge_s(log) is None
    report = build_drill_report(SCENARIOS["terminal_breathlessness"], log)
    assert report.time_to_acknowledge_s is None
    assert any(m.check == "acknowledged" for m in report.accuracy.misses)


def test_no_abnormal_reading_and_no_alert_gives_no_onset() -> None:
    log: list[DrillRecord] = [Said(at(0), "family", "All calm"), Acknowledged(at(5), "nurse", 1)]
    assert onset_at(log) is None
    assert time_to_acknowledge_s(log) is None
    assert time_to_tier_s(log, 1) is None
    assert time_to_acknowledge_s([]) is None


def test_a_diary_led_crisis_counts_from_the_first_alert() -> None:
    log: list[DrillRecord] = [
        AlertRaised(at(60), "symptom_threshold"),
        Acknowledged(at(150), "nurse", 1),
    ]
    assert onset_at(log) == at(60)
    assert time_to_acknowledge_s(log) == 90.0


def test_an_acknowledgement_before_the_onset_does_not_count() -> None:
    log: list[DrillRecord] = [
        Acknowledged(at(0), "nurse", 1),
        ReadingRecord(at(10), "spo2", 85, abnormal=True),
    ]
    assert time_to_acknowledge_s(log) is None


def test_time_to_tier_counts_to_the_first_escalation_reaching_it() -> None:
    log: list[DrillRecord] = [
        ReadingRecord(at(10), "heart_rate", 130, abnormal=True),
        AlertRaised(at(12), "vital_out_of_band"),
        Escalated(at(912), tier=2),
        Acknowledged(at(1000), "dr_lee", tier=2),
    ]
    assert time_to_tier_s(log, 1) == 2.0
    assert time_to_tier_s(log, 2) == 902.0
    assert time_to_tier_s(log, 3) is None


def test_records_given_out_of_order_are_read_in_time_order() -> None:
    assert time_to_acknowledge_s(list(reversed(LOG))) == 75.0


def test_accuracy_hand_worked_one_family_step_missed() -> None:
    # Checks: rule raised, tier 1 reached, acknowledged, not beyond tier 1, sit, fan = 6.
    # Only the fan was missed: 5 / 6 = 83.33... floored to 83.3.
    accuracy = score_accuracy(EXPECTED, LOG)
    assert (accuracy.checks, accuracy.passed, accuracy.score_pct) == (6, 5, 83.3)
    assert [m.check for m in accuracy.misses] == ["family_step"]
    assert "'fan'" in accuracy.misses[0].detail


def test_accuracy_matches_a_family_step_by_its_text_too() -> None:
    log = [*LOG, FamilyAction(at(60), "  point a FAN at her face. ")]
    accuracy = score_accuracy(EXPECTED, log)
    assert accuracy.score_pct == 100.0 and accuracy.misses == ()


def test_accuracy_counts_over_escalation_as_a_miss() -> None:
    # Expected death: the hospice line only. Reaching the emergency tier is a miss.
    scenario = SCENARIOS["expected_death"]
    log: list[DrillRecord] = [
        AlertRaised(at(0), "vital_out_of_band"),
        Escalated(at(60), tier=3),
        Acknowledged(at(90), "coordinator", tier=3),
        *(FamilyAction(at(100), s.step_id) for s in scenario.expected.family_steps),
    ]
    accuracy = score_accuracy(scenario.expected, log)
    # tier 1 reached, acknowledged, 3 family steps taken; over-escalation missed: 5 / 6.
    assert (accuracy.checks, accuracy.passed) == (6, 5)
    assert [m.check for m in accuracy.misses] == ["over_escalation"]
    assert "tier 3" in accuracy.misses[0].detail


def test_accuracy_lists_every_kind_of_miss_when_nothing_happened() -> None:
    expected = ExpectedResponse(
        (Rule.SYMPTOM_THRESHOLD,), (EscalationStep(1), EscalationStep(2)), (SIT,)
    )
    accuracy = score_accuracy(expected, [])
    # Checks: 1 rule, 2 tiers, acknowledged, not beyond tier 2, 1 step = 6. Only "not beyond
    # tier 2" holds: 1 / 6 = 16.66... floored to 16.6.
    assert (accuracy.checks, accuracy.score_pct) == (6, 16.6)
    assert [m.check for m in accuracy.misses] == [
        "alert_rule",
        "tier",
        "tier",
        "acknowledged",
        "family_step",
    ]


def test_accuracy_with_nothing_expected_is_full() -> None:
    accuracy = score_accuracy(ExpectedResponse(), LOG)
    assert (accuracy.checks, accuracy.score_pct, accuracy.misses) == (0, 100.0, ())


def test_family_steps_come_from_the_patients_crisis_plan_when_it_has_them() -> None:
    scenario = SCENARIOS["terminal_breathlessness"]
    plan = CrisisPlan(
        instructions=(
            CrisisInstruction(
                CrisisType.BREATHLESSNESS, ("breathless",), ("Open the window", "Call Jo")
            ),
        )
    )
    steps = family_steps_for(scenario, plan)
    assert steps == (FamilyStep("plan_1", "Open the window"), FamilyStep("plan_2", "Call Jo"))
    accuracy = score_accuracy(
        scenario.expected,
        [FamilyAction(at(1), "plan_2"), FamilyAction(at(2), "open the window")],
        steps,
    )
    assert not [m for m in accuracy.misses if m.check == "family_step"]
    assert family_steps_for(scenario, CrisisPlan()) == scenario.expected.family_steps


QUESTIONS = (
    TeachBackQuestion("Who you call first", safety_critical=True),
    TeachBackQuestion("What you write down", safety_critical=False),
)


def test_comprehension_hand_worked_with_a_second_cycle() -> None:
    log = [
        TeachBackAnswer(at(500), "Who you call first", "not_yet"),
        TeachBackAnswer(at(530), "Who you call first", "correct"),
        TeachBackAnswer(at(560), "What you write down", "partly"),
    ]
    comprehension = score_comprehension(QUESTIONS, log)
    score = comprehension.score
    assert score is not None
    # The last answer counts: correct (2) + partly (1) = 3 of 4 points.
    assert (score.points, score.max_points, score.comprehension_pct) == (3, 4, 75.0)
    # The safety-critical point is correct, so mastery holds whatever the percentage.
    assert score.mastery is True
    # Neither point was correct at the first attempt (the first took two cycles).
    assert score.first_attempt_correct_pct == 0.0
    assert comprehension.unasked == ()


def test_comprehension_scores_an_unasked_item_as_not_yet() -> None:
    log = [TeachBackAnswer(at(500), "What you write down", "correct")]
    comprehension = score_comprehension(QUESTIONS, log)
    assert comprehension.unasked == ("Who you call first",)
    score = comprehension.score
    assert score is not None
    assert (score.points, score.max_points, score.mastery) == (2, 4, False)
    assert score.first_attempt_correct_pct is None


def test_comprehension_keeps_an_extra_item_the_clinician_asked() -> None:
    log = [TeachBackAnswer(at(1), "Where the kit is", "correct")]
    score = score_comprehension((), log).score
    assert score is not None and (score.items, score.points) == (1, 2)
    assert score_comprehension((), []).score is None


def test_teach_back_answer_refuses_an_unknown_result() -> None:
    with pytest.raises(ValidationError):
        TeachBackAnswer(at(0), "Who you call first", "maybe")


def test_timeline_lists_who_did_what_in_time_order() -> None:
    timeline = build_timeline(list(reversed(LOG)), started_at=at(-10))
    assert [e.offset_s for e in timeline] == [10, 40, 41, 50, 60, 115, 410]
    assert [e.who for e in timeline] == [
        "device",
        "device",
        "system",
        "family",
        "family",
        "nurse_ana",
        "nurse_ana",
    ]
    assert timeline[1].what == "spo2 reading 89 % (abnormal)"
    assert timeline[5].what == "acknowledged the alert at tier 1"
    assert build_timeline([]) == ()


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        onset_at([Said(datetime(2026, 3, 1, 14, 0), "family", "hello")])


def test_drill_report_on_a_shipped_scenario() -> None:
    scenario = SCENARIOS["seizure"]
    log: list[DrillRecord] = [
        ReadingRecord(at(150), "heart_rate", 122, abnormal=True, unit="/min"),
        AlertRaised(at(151), "vital_out_of_band"),
        Escalated(at(1051), tier=2),
        Acknowledged(at(1100), "dr_lee", tier=2),
        *(FamilyAction(at(200), s.step_id) for s in scenario.expected.family_steps),
        *(TeachBackAnswer(at(2000), q.item, "correct") for q in scenario.teach_back),
    ]
    report = build_drill_report(scenario, log, started_at=at(0))
    assert report.scenario_id == "seizure"
    assert report.expected_tier == 2
    assert report.time_to_acknowledge_s == 950.0
    assert report.time_to_expected_tier_s == 901.0
    assert report.accuracy.score_pct == 100.0 and report.accuracy.misses == ()
    assert report.comprehension.score is not None
    assert report.comprehension.score.comprehension_pct == 100.0
    assert report.timeline[0].offset_s == 150.0


RULES = st.sampled_from(list(Rule))
STEP_IDS = st.sampled_from(["a", "b", "c", "d"])
RECORDS = st.lists(
    st.one_of(
        st.builds(AlertRaised, st.just(T0), RULES.map(str)),
        st.builds(Acknowledged, st.just(T0), st.just("nurse"), st.integers(1, 5)),
        st.builds(Escalated, st.just(T0), st.integers(1, 5)),
        st.builds(FamilyAction, st.just(T0), STEP_IDS),
        st.builds(ReadingRecord, st.just(T0), st.just("spo2"), st.just(85.0), st.booleans()),
    ),
    max_size=12,
)
EXPECTATIONS = st.builds(
    ExpectedResponse,
    st.lists(RULES, unique=True).map(tuple),
    st.sets(st.integers(1, 5)).map(lambda tiers: tuple(EscalationStep(t) for t in sorted(tiers))),
    st.lists(STEP_IDS, unique=True).map(lambda ids: tuple(FamilyStep(i, i.upper()) for i in ids)),
)


@given(EXPECTATIONS, RECORDS)
def test_accuracy_is_within_0_and_100_and_full_exactly_when_nothing_is_missed(
    expected: ExpectedResponse, records: list[DrillRecord]
) -> None:
    accuracy = score_accuracy(expected, records)
    assert 0.0 <= accuracy.score_pct <= 100.0
    assert (accuracy.score_pct == 100.0) == (accuracy.misses == ())
    assert accuracy.passed + len(accuracy.misses) == accuracy.checks


def test_things_that_happened_read_as_told_in_the_timeline() -> None:
    from encounters.drills import Happened, Said, build_timeline

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    timeline = build_timeline(
        [
            Happened(start, "script", "prompt to the family: He is breathless"),
            Said(start + timedelta(seconds=5), "family", "We called the hospice line"),
        ],
        start,
    )
    assert [(e.who, e.what, e.offset_s) for e in timeline] == [
        ("script", "prompt to the family: He is breathless", 0.0),
        ("family", "said: We called the hospice line", 5.0),
    ]

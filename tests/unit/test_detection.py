import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.careplan import CarePlan, SymptomThreshold, default_care_plan
from encounters.detection import (
    BASELINE_ENTRIES_MAX,
    AlertCandidate,
    Rule,
    Severity,
    VitalSample,
    detect,
    detect_missed_checkin,
    is_covered,
    one_alert,
)
from encounters.diary import DIARY_SCORE_ITEMS, DiaryEntry
from encounters.errors import ValidationError
from encounters.vital_signs import DEFAULT_HOME_BANDS, Band

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
PLAN = default_care_plan()
BANDS = MappingProxyType(
    {
        "spo2": Band("spo2", "%", low=90),
        "heart_rate": Band("heart_rate", "/min", low=50, high=120),
        "temperature": Band("temperature", "Cel", high=38.0, high_inclusive=True),
    }
)
BANDED = replace(PLAN, vital_bands=BANDS)


def with_thresholds(**limits: tuple[int, int]) -> CarePlan:
    return replace(
        PLAN,
        symptom_thresholds=MappingProxyType({k: SymptomThreshold(*v) for k, v in limits.items()}),
    )


def daily(values: Sequence[int | None], item: str = "pain", step_h: float = 24) -> list[DiaryEntry]:
    """Entries e0, e1, ... ending one hour before NOW, ``step_h`` apart; None skips the item."""
    last = len(values) - 1
    return [
        DiaryEntry(
            f"e{i}",
            NOW - timedelta(hours=1 + (last - i) * step_h),
            MappingProxyType({} if v is None else {item: v}),
            worry=None if v is not None else "skipped",
        )
        for i, v in enumerate(values)
    ]


def run(
    entries: list[DiaryEntry],
    plan: CarePlan = PLAN,
    readings: tuple[VitalSample, ...] = (),
    open_keys: frozenset[str] = frozenset(),
) -> list[AlertCandidate]:
    return detect(entries, readings, plan, now=NOW, open_alert_keys=open_keys)


def sample(reading_id: str, parameter: str, value: float, minutes_ago: int = 5) -> VitalSample:
    return VitalSample(reading_id, parameter, value, NOW - timedelta(minutes=minutes_ago))


# --- thresholds ---------------------------------------------------------------------------


def test_raises_high_when_a_symptom_is_exactly_at_the_severe_threshold() -> None:
    assert run(daily([7])) == [
        AlertCandidate(
            Rule.SYMPTOM_THRESHOLD,
            Severity.HIGH,
            "Pain 7/10 — at or over the severe threshold (7)",
            ("e0",),
            "symptom:pain:high",
        )
    ]


def test_raises_moderate_exactly_at_the_moderate_threshold_and_nothing_just_below() -> None:
    assert run(daily([4])) == [
        AlertCandidate(
            Rule.SYMPTOM_THRESHOLD,
            Severity.MODERATE,
            "Pain 4/10 — at or over the moderate threshold (4)",
            ("e0",),
            "symptom:pain:moderate",
        )
    ]
    assert run(daily([3])) == []


def test_uses_the_patients_own_thresholds() -> None:
    plan = with_thresholds(pain=(5, 8))
    assert run(daily([4]), plan) == []
    assert [(c.severity, c.summary) for c in run(daily([5]), plan)] == [
        (Severity.MODERATE, "Pain 5/10 — at or over the moderate threshold (5)")
    ]
    assert [c.severity for c in run(daily([7]), plan)] == [Severity.MODERATE]
    assert [c.severity for c in run(daily([8]), plan)] == [Severity.HIGH]


def test_reads_only_the_newest_entry() -> None:
    assert run(daily([9, 1])) == []


# --- rise over baseline -------------------------------------------------------------------


def test_raises_a_rise_of_exactly_two_over_the_median_baseline() -> None:
    assert run(daily([1, 1, 1, 3])) == [
        AlertCandidate(
            Rule.SYMPTOM_RISE,
            Severity.MODERATE,
            "Pain 3/10 — up 2 from the recent baseline (1)",
            ("e3", "e2", "e1", "e0"),
            "symptom:pain:moderate",
        )
    ]


def test_a_rise_of_one_raises_nothing() -> None:
    assert run(daily([1, 1, 1, 2])) == []


def test_a_rise_of_one_and_a_half_over_a_half_point_median_raises_nothing() -> None:
    # Scores are whole numbers, so 1.9 cannot happen; a median of four can be x.5.
    plan = with_thresholds(pain=(6, 9))
    assert run(daily([1, 1, 2, 2, 3]), plan) == []
    rise = run(daily([1, 1, 2, 2, 4]), plan)
    assert [c.summary for c in rise] == ["Pain 4/10 — up 2.5 from the recent baseline (1.5)"]


def test_no_baseline_from_fewer_than_three_earlier_answers() -> None:
    assert run(daily([0, 0, 3])) == []
    assert [c.rule_id for c in run(daily([0, 0, 0, 3]))] == [Rule.SYMPTOM_RISE]


def test_skipped_answers_do_not_count_towards_the_baseline() -> None:
    assert run(daily([1, None, None, 1, 3])) == []


def test_baseline_ignores_entries_from_more_than_seven_days_before() -> None:
    entries = daily([1, 1, 1, 3])
    old = [replace(e, recorded_at=e.recorded_at - timedelta(days=5)) for e in entries[:3]]
    assert run([*old, entries[3]]) == []
    # Exactly seven days before the newest entry still counts.
    edge = [replace(e, recorded_at=entries[3].recorded_at - timedelta(days=7)) for e in entries[:3]]
    assert [c.rule_id for c in run([*edge, entries[3]])] == [Rule.SYMPTOM_RISE]


def test_baseline_is_the_median_of_the_seven_most_recent_earlier_answers() -> None:
    # Twice a day for a week: seven older 5s, then seven recent 1s. All fourteen would give a
    # median of 3 and no rise; the seven most recent give 1, so a 3 is a rise of 2.
    assert BASELINE_ENTRIES_MAX == 7
    entries = daily([5] * 7 + [1] * 7 + [3], step_h=11)
    found = run(entries)
    assert [c.summary for c in found] == ["Pain 3/10 — up 2 from the recent baseline (1)"]
    assert found[0].evidence == ("e14", "e13", "e12", "e11", "e10", "e9", "e8", "e7")


# --- new severe ---------------------------------------------------------------------------


def test_raises_critical_for_a_newly_severe_symptom_and_nothing_else_for_it() -> None:
    assert run(daily([3, 4, 5, 8])) == [
        AlertCandidate(
            Rule.SYMPTOM_NEW_SEVERE,
            Severity.CRITICAL,
            "Pain 8/10 — newly severe (below 7 in the last 3 check-ins)",
            ("e3", "e2", "e1", "e0"),
            "symptom:pain:critical",
        )
    ]


def test_a_severe_value_is_not_new_when_the_baseline_had_one() -> None:
    found = run(daily([3, 7, 4, 8]))
    assert [(c.rule_id, c.severity) for c in found] == [(Rule.SYMPTOM_THRESHOLD, Severity.HIGH)]


def test_a_severe_first_entry_is_severe_but_not_new() -> None:
    assert [c.rule_id for c in run(daily([8]))] == [Rule.SYMPTOM_THRESHOLD]


def test_on_a_tie_the_threshold_finding_is_kept_over_the_rise() -> None:
    found = run(daily([1, 1, 1, 5]))
    assert [(c.rule_id, c.severity) for c in found] == [(Rule.SYMPTOM_THRESHOLD, Severity.MODERATE)]


def test_each_item_is_judged_on_its_own_and_the_worst_comes_first() -> None:
    entry = DiaryEntry("e0", NOW, MappingProxyType({"mood": 5, "pain": 8, "sleep": 2}))
    assert [(c.dedup_key, c.severity) for c in run([entry])] == [
        ("symptom:pain:high", Severity.HIGH),
        ("symptom:mood:moderate", Severity.MODERATE),
    ]


# --- vitals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reading", "summary", "key"),
    [
        (
            sample("r1", "spo2", 86),
            "Oxygen saturation 86 % — below the lower limit (90 %)",
            "vital:spo2:low",
        ),
        (
            sample("r1", "heart_rate", 130),
            "Pulse 130/min — above the upper limit (120/min)",
            "vital:heart_rate:high",
        ),
        (
            sample("r1", "heart_rate", 44),
            "Pulse 44/min — below the lower limit (50/min)",
            "vital:heart_rate:low",
        ),
        (
            sample("r1", "temperature", 38.0),
            "Temperature 38.0 °C — at or above the upper limit (38.0 °C)",
            "vital:temperature:high",
        ),
    ],
)
def test_raises_high_for_a_vital_sign_out_of_its_band_in_either_direction(
    reading: VitalSample, summary: str, key: str
) -> None:
    assert run([], BANDED, (reading,)) == [
        AlertCandidate(Rule.VITAL_OUT_OF_BAND, Severity.HIGH, summary, ("r1",), key)
    ]


@pytest.mark.parametrize(
    "reading",
    [sample("r1", "spo2", 90), sample("r1", "heart_rate", 120), sample("r1", "heart_rate", 50)],
)
def test_a_vital_sign_exactly_on_an_exclusive_limit_is_in_band(reading: VitalSample) -> None:
    assert run([], BANDED, (reading,)) == []


def test_several_readings_out_of_band_make_one_alert_quoting_the_worst() -> None:
    readings = (
        sample("r1", "spo2", 88, 20),
        sample("r2", "spo2", 86, 10),
        sample("r3", "spo2", 93, 5),
    )
    found = run([], BANDED, readings)
    assert [(c.summary, c.evidence) for c in found] == [
        ("Oxygen saturation 86 % — below the lower limit (90 %)", ("r1", "r2"))
    ]


def test_vitals_raise_nothing_when_monitoring_is_off() -> None:
    plan = replace(BANDED, monitoring_enabled=False)
    assert run([], plan, (sample("r1", "spo2", 70), sample("r2", "heart_rate", 170))) == []


def test_uses_the_default_home_bands_when_the_plan_sets_none() -> None:
    for parameter, band in DEFAULT_HOME_BANDS.items():
        if band.low is not None:
            found = run([], PLAN, (sample("r1", parameter, band.low - 1),))
            assert [c.dedup_key for c in found] == [f"vital:{parameter}:low"]
            assert run([], PLAN, (sample("r1", parameter, band.low),)) == []
        if band.high is not None:
            found = run([], PLAN, (sample("r1", parameter, band.high + 1),))
            assert [c.dedup_key for c in found] == [f"vital:{parameter}:high"]


def test_ignores_parameters_without_a_band_and_values_that_are_not_numbers() -> None:
    assert run([], BANDED, (sample("r1", "weight", 30), sample("r2", "spo2", math.nan))) == []


# --- missed check-in ----------------------------------------------------------------------


def test_a_check_in_exactly_26_hours_ago_is_not_yet_missed() -> None:
    entry = DiaryEntry("e0", NOW - timedelta(hours=26), MappingProxyType({"pain": 1}))
    assert detect_missed_checkin([entry], now=NOW) == []


def test_raises_low_one_second_past_24_hours_and_the_2_hour_grace() -> None:
    entry = DiaryEntry("e0", NOW - timedelta(hours=26, seconds=1), MappingProxyType({"pain": 1}))
    assert run([entry]) == [
        AlertCandidate(
            Rule.MISSED_CHECKIN,
            Severity.LOW,
            "No diary check-in for 26 h — one is expected every 24 h",
            ("e0",),
            "missed_checkin:e0",
        )
    ]


def test_no_entries_at_all_raise_nothing() -> None:
    assert run([]) == []


# --- deduplication ------------------------------------------------------------------------


def test_an_open_alert_holds_back_the_same_or_a_milder_finding_for_that_item() -> None:
    open_keys = frozenset({"symptom:pain:high"})
    assert run(daily([8]), open_keys=open_keys) == []
    assert run(daily([5]), open_keys=open_keys) == []
    assert [c.dedup_key for c in run(daily([3, 4, 5, 8]), open_keys=open_keys)] == [
        "symptom:pain:critical"
    ]


def test_an_open_moderate_alert_does_not_hold_back_a_worse_one() -> None:
    found = run(daily([8]), open_keys=frozenset({"symptom:pain:moderate"}))
    assert [c.dedup_key for c in found] == ["symptom:pain:high"]


def test_an_open_alert_for_one_item_does_not_hold_back_another() -> None:
    entry = DiaryEntry("e0", NOW, MappingProxyType({"pain": 8, "mood": 8}))
    found = run([entry], open_keys=frozenset({"symptom:mood:high", "vital:spo2:low"}))
    assert [c.dedup_key for c in found] == ["symptom:pain:high"]


def test_an_open_vital_or_check_in_alert_holds_back_its_own_condition() -> None:
    assert run([], BANDED, (sample("r1", "spo2", 80),), frozenset({"vital:spo2:low"})) == []
    old = DiaryEntry("e0", NOW - timedelta(days=3), MappingProxyType({"pain": 1}))
    assert run([old], open_keys=frozenset({"missed_checkin:e0"})) == []


def test_refuses_a_naive_now() -> None:
    with pytest.raises(ValidationError):
        detect([], [], PLAN, now=NOW.replace(tzinfo=None), open_alert_keys=())


# --- properties ---------------------------------------------------------------------------

_ENTRIES = st.lists(
    st.tuples(
        st.integers(0, 14 * 24),
        st.dictionaries(st.sampled_from(sorted(DIARY_SCORE_ITEMS)), st.integers(0, 10)),
    ),
    max_size=15,
).map(
    lambda rows: [
        DiaryEntry(f"e{i}", NOW - timedelta(hours=h), MappingProxyType(s))
        for i, (h, s) in enumerate(rows)
    ]
)


@settings(deadline=None)
@given(
    entries=_ENTRIES,
    spo2=st.lists(st.floats(60, 100), max_size=4),
    moderate=st.integers(0, 9),
    gap=st.integers(1, 3),
)
def test_every_candidate_is_well_formed_and_none_repeats_an_open_key(
    entries: list[DiaryEntry], spo2: list[float], moderate: int, gap: int
) -> None:
    severe = min(moderate + gap, 10)
    plan = replace(
        BANDED,
        symptom_thresholds=MappingProxyType(
            {i: SymptomThreshold(moderate, severe) for i in DIARY_SCORE_ITEMS}
        ),
    )
    readings = tuple(sample(f"r{i}", "spo2", v, i) for i, v in enumerate(spo2))
    found = run(entries, plan, readings)
    known = {e.client_id for e in entries} | {r.reading_id for r in readings}
    keys = [c.dedup_key for c in found]
    assert len(keys) == len(set(keys))
    for candidate in found:
        assert candidate.evidence and set(candidate.evidence) <= known
        assert candidate.summary and "\n" not in candidate.summary
    # Whatever was raised once is held back while it stays open.
    assert run(entries, plan, readings, frozenset(keys)) == []
    if entries:
        latest = max(entries, key=lambda e: (e.recorded_at, e.client_id))
        symptom_items = {c.dedup_key.split(":")[1] for c in found if c.dedup_key[:8] == "symptom:"}
        over = {item for item, v in latest.scores.items() if v >= moderate}
        assert over <= symptom_items


def test_one_entry_with_several_findings_is_one_alert_with_every_reason() -> None:
    pain = AlertCandidate(
        Rule.SYMPTOM_THRESHOLD, Severity.HIGH, "Pain 8", ("e1",), "symptom:pain:high"
    )
    nausea = AlertCandidate(
        Rule.SYMPTOM_THRESHOLD, Severity.MODERATE, "Nausea 5", ("e1",), "symptom:nausea:moderate"
    )
    breath = AlertCandidate(
        Rule.SYMPTOM_NEW_SEVERE,
        Severity.CRITICAL,
        "Breathlessness 9, new",
        ("e1", "e0"),
        "symptom:breathlessness:critical",
    )
    alert = one_alert([nausea, pain, breath])
    assert alert is not None
    assert (alert.rule_id, alert.severity) == (Rule.SYMPTOM_NEW_SEVERE, Severity.CRITICAL)
    assert alert.summary == "Breathlessness 9, new; Pain 8; Nausea 5"
    assert alert.evidence == ("e1", "e0")
    assert set(alert.keys) == {
        "symptom:pain:high",
        "symptom:nausea:moderate",
        "symptom:breathlessness:critical",
    }
    # An open folded alert holds back a later finding it covers, and not a worse one.
    assert is_covered(nausea, alert.keys)
    worse = AlertCandidate(
        Rule.SYMPTOM_THRESHOLD, Severity.HIGH, "Nausea 8", ("e2",), "symptom:nausea:high"
    )
    assert not is_covered(worse, alert.keys)
    assert one_alert([pain]) == pain and one_alert([]) is None

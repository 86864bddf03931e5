"""NEWS2 (the RCP 2017 chart), edge by edge. Bands: test_vital_signs.py."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encounters.errors import ValidationError
from encounters.vitals import (
    Consciousness,
    News2Observations,
    News2Risk,
    News2Score,
    score_consciousness,
    score_news2,
    score_pulse,
    score_respiratory_rate,
    score_spo2,
    score_systolic_bp,
    score_temperature,
)

# NEWS2 sub-scores: every edge of the RCP chart, including the asymmetric ones --


@pytest.mark.parametrize(
    ("rate", "score"),
    [(0, 3), (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (60, 3)],
)
def test_respiration_9_to_11_scores_1_and_21_to_24_scores_2(rate: float, score: int) -> None:
    assert score_respiratory_rate(rate) == score


@pytest.mark.parametrize(
    ("pulse", "score"),
    [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3)],
)
def test_pulse_bands(pulse: float, score: int) -> None:
    assert score_pulse(pulse) == score


@pytest.mark.parametrize(
    ("systolic", "score"),
    [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (260, 3)],
)
def test_systolic_220_scores_3_and_111_to_219_scores_0(systolic: float, score: int) -> None:
    assert score_systolic_bp(systolic) == score


@pytest.mark.parametrize(
    ("temperature", "score"),
    [
        (35.0, 3),
        (35.1, 1),
        (36.0, 1),
        (36.1, 0),
        (37.9, 0),
        (38.0, 0),
        (38.1, 1),
        (39.0, 1),
        (39.1, 2),
        (42.0, 2),  # a high temperature never scores 3
    ],
)
def test_temperature_bands(temperature: float, score: int) -> None:
    assert score_temperature(temperature) == score


@pytest.mark.parametrize(
    ("temperature", "score"), [(36.04, 1), (36.05, 0), (38.04, 0), (38.05, 1), (35.05, 1)]
)
def test_temperature_is_charted_to_one_decimal_half_up_before_scoring(
    temperature: float, score: int
) -> None:
    assert score_temperature(temperature) == score


def test_values_between_whole_chart_rows_are_charted_half_up() -> None:
    assert score_spo2(95.5, on_oxygen=False) == 0  # charted as 96
    assert score_spo2(95.4, on_oxygen=False) == 1  # charted as 95
    assert score_systolic_bp(110.5) == 0  # charted as 111


@pytest.mark.parametrize(
    ("spo2", "score"), [(85, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
)
@pytest.mark.parametrize("on_oxygen", [False, True])
def test_spo2_scale_1(spo2: float, score: int, on_oxygen: bool) -> None:
    assert score_spo2(spo2, on_oxygen=on_oxygen, scale=1) == score


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "score"),
    [
        (83, False, 3),
        (84, False, 2),
        (85, True, 2),
        (86, False, 1),
        (87, True, 1),
        (88, False, 0),
        (92, True, 0),
        (93, False, 0),  # on air, 93 % and above scores 0
        (100, False, 0),
        (93, True, 1),
        (94, True, 1),
        (95, True, 2),
        (96, True, 2),
        (97, True, 3),  # over-oxygenation
        (100, True, 3),
    ],
)
def test_spo2_scale_2_scores_high_saturation_only_on_oxygen(
    spo2: float, on_oxygen: bool, score: int
) -> None:
    assert score_spo2(spo2, on_oxygen=on_oxygen, scale=2) == score


def test_an_unknown_spo2_scale_is_refused() -> None:
    with pytest.raises(ValidationError):
        score_spo2(95, on_oxygen=False, scale=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("level", "score"),
    [
        (Consciousness.ALERT, 0),
        (Consciousness.NEW_CONFUSION, 3),  # new confusion scores 3, not 1
        (Consciousness.VOICE, 3),
        (Consciousness.PAIN, 3),
        (Consciousness.UNRESPONSIVE, 3),
    ],
)
def test_consciousness_anything_but_alert_scores_3(level: Consciousness, score: int) -> None:
    assert score_consciousness(level) == score


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_news2_refuses_negative_or_non_finite_observations(bad: float) -> None:
    with pytest.raises(ValidationError):
        score_pulse(bad)


# NEWS2 total and risk -------------------------------------------------------------------


def observations(**changes: object) -> News2Observations:
    normal: dict[str, object] = {
        "respiratory_rate_per_min": 16,
        "spo2_pct": 97,
        "on_oxygen": False,
        "systolic_bp_mmhg": 125,
        "pulse_per_min": 70,
        "consciousness": Consciousness.ALERT,
        "temperature_cel": 36.8,
    }
    return News2Observations(**{**normal, **changes})  # type: ignore[arg-type]


def test_supplemental_oxygen_adds_2() -> None:
    score = score_news2(observations(on_oxygen=True))
    assert (score.air_or_oxygen, score.spo2, score.total) == (2, 0, 2)


def test_scale_2_is_used_only_when_asked_for() -> None:
    assert score_news2(observations(spo2_pct=89)).spo2 == 3
    assert score_news2(observations(spo2_pct=89, spo2_scale=2)).spo2 == 0


@pytest.mark.parametrize(
    ("changes", "total", "risk"),
    [
        ({}, 0, News2Risk.LOW),
        (
            {"pulse_per_min": 95, "temperature_cel": 38.5, "respiratory_rate_per_min": 10},
            3,
            News2Risk.LOW,
        ),
        ({"on_oxygen": True, "pulse_per_min": 115}, 4, News2Risk.LOW),
        ({"consciousness": Consciousness.NEW_CONFUSION}, 3, News2Risk.LOW_MEDIUM),
        ({"systolic_bp_mmhg": 225, "pulse_per_min": 95}, 4, News2Risk.LOW_MEDIUM),
        (
            {"on_oxygen": True, "respiratory_rate_per_min": 22, "pulse_per_min": 95},
            5,
            News2Risk.MEDIUM,
        ),
        (
            {"respiratory_rate_per_min": 26, "pulse_per_min": 95, "temperature_cel": 38.5},
            5,
            News2Risk.MEDIUM,
        ),  # a single 3 inside a total of 5 is medium, not low-medium
        (
            {"on_oxygen": True, "respiratory_rate_per_min": 22, "pulse_per_min": 112},
            6,
            News2Risk.MEDIUM,
        ),
        (
            {"on_oxygen": True, "respiratory_rate_per_min": 26, "pulse_per_min": 112},
            7,
            News2Risk.HIGH,
        ),
    ],
)
def test_total_and_risk_band(changes: dict[str, object], total: int, risk: News2Risk) -> None:
    score = score_news2(observations(**changes))
    assert (score.total, score.risk) == (total, risk)


def test_the_worst_observations_total_20() -> None:
    score = score_news2(
        observations(
            respiratory_rate_per_min=6,
            spo2_pct=80,
            on_oxygen=True,
            systolic_bp_mmhg=70,
            pulse_per_min=35,
            consciousness=Consciousness.UNRESPONSIVE,
            temperature_cel=34.0,
        )
    )
    assert score.total == 20
    assert score.risk is News2Risk.HIGH


@given(
    st.builds(
        News2Observations,
        respiratory_rate_per_min=st.floats(0, 80),
        spo2_pct=st.floats(20, 100),
        on_oxygen=st.booleans(),
        systolic_bp_mmhg=st.floats(30, 300),
        pulse_per_min=st.floats(10, 350),
        consciousness=st.sampled_from(Consciousness),
        temperature_cel=st.floats(25, 45),
        spo2_scale=st.sampled_from([1, 2]),
    )
)
def test_total_is_the_sum_of_sub_scores_and_within_0_to_20(obs: News2Observations) -> None:
    score: News2Score = score_news2(obs)
    assert score.total == sum(score.sub_scores.values())
    assert 0 <= score.total <= 20
    assert all(0 <= sub <= 3 for sub in score.sub_scores.values())
    assert score.air_or_oxygen in (0, 2)
    if obs.temperature_cel > 36.5:
        assert score.temperature <= 2  # a high temperature never scores 3
    if score.total >= 7:
        assert score.risk is News2Risk.HIGH
    elif score.total >= 5:
        assert score.risk is News2Risk.MEDIUM
    else:
        has_three = 3 in score.sub_scores.values()
        assert score.risk is (News2Risk.LOW_MEDIUM if has_three else News2Risk.LOW)

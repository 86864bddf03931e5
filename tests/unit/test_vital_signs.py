"""The vital-sign catalogue: one table of units, labels, LOINC codes, plausibility and default
bands, and one check of a reading against the patient's band."""

import math
from datetime import UTC, datetime

import pytest

from encounters.careplan import CarePlan, bands_in_effect
from encounters.detection import samples_of, vital_crossings
from encounters.errors import ValidationError
from encounters.readings import KINDS, Reading, ReadingError, parse_message
from encounters.vital_signs import (
    BAND_UNITS,
    DEFAULT_HOME_BANDS,
    LOINC,
    LOINC_DISPLAY,
    PARAMETERS,
    UNITS,
    VITAL_SIGNS,
    Band,
    convert,
    loinc_for,
    out_of_band,
)

TAKEN_AT = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)


def reading(
    kind: str, value: float | None, unit: str, value2: float | None = None, **kw: object
) -> Reading:
    reason = "not-a-number" if value is None else None
    return Reading("r-1", kind, value, unit, "manual", TAKEN_AT, value2, reason, **kw)  # type: ignore[arg-type]


def crossings(r: Reading, plan: CarePlan | None = None) -> list[tuple[str, str, str]]:
    found = vital_crossings(samples_of(r), plan or CarePlan())
    return [(c.sample.parameter, c.direction, c.reason) for c in found]


# The catalogue ------------------------------------------------------------------------------


def test_every_kind_has_a_unit_a_label_loinc_codes_with_a_display_and_known_parameters() -> None:
    assert set(VITAL_SIGNS) == set(KINDS)
    for kind, sign in VITAL_SIGNS.items():
        assert sign.kind == kind and sign.label and sign.units
        assert set(sign.loinc) == set(sign.units)
        for codes in sign.loinc.values():
            assert codes and all(code in LOINC_DISPLAY for code in codes)
        assert sign.parameters and all(p in PARAMETERS for p in sign.parameters)
    for parameter in PARAMETERS.values():
        low, high = parameter.plausible
        assert low < high and parameter.label
        band = parameter.default_band
        assert band is None or (band.parameter, band.unit) == (parameter.name, parameter.unit)


def test_glucose_is_stored_in_mmol_per_litre_or_mg_per_decilitre_with_capillary_loinc() -> None:
    assert VITAL_SIGNS["glucose"].units == ("mmol/L", "mg/dL")
    assert UNITS["glucose"] == "mmol/L" and LOINC["glucose"] == ("14743-9",)
    assert loinc_for("glucose", "mg/dL") == ("41653-7",)
    assert loinc_for("glucose", "mmol/L", "capillary_plasma") == ("14743-9",)
    assert loinc_for("glucose", "mg/dL", "venous_whole_blood") == ("2339-0",)
    assert loinc_for("glucose", "mmol/L", "venous_whole_blood") == ("15074-8",)
    assert loinc_for("glucose", "mg/dL", "arterial_plasma") == ("2345-7",)


def test_a_plan_may_set_bands_for_each_parameter_a_reading_carries() -> None:
    assert set(BAND_UNITS) == {p for sign in VITAL_SIGNS.values() for p in sign.parameters}
    assert "mean_arterial_bp" not in BAND_UNITS  # derived by the cuff, never banded


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("spo2", 90.0, None),
        ("spo2", 89.9, "low"),
        ("spo2", 100.0, None),
        ("respiratory_rate", 10.0, None),
        ("respiratory_rate", 9.0, "low"),
        ("respiratory_rate", 24.0, None),
        ("respiratory_rate", 25.0, "high"),
        ("heart_rate", 50.0, None),
        ("heart_rate", 49.0, "low"),
        ("heart_rate", 120.0, None),
        ("heart_rate", 121.0, "high"),
        ("systolic_bp", 90.0, None),
        ("systolic_bp", 89.0, "low"),
        ("systolic_bp", 250.0, None),
        ("temperature", 37.9, None),
        ("temperature", 38.0, "high"),  # >= 38.0 °C, inclusive
        ("temperature", 30.0, None),
        ("glucose", 4.0, None),
        ("glucose", 3.9, "low"),  # hypoglycaemia below 4 mmol/L
        ("glucose", 15.0, None),
        ("glucose", 15.1, "high"),
    ],
)
def test_default_home_bands(parameter: str, value: float, expected: str | None) -> None:
    assert out_of_band(value, DEFAULT_HOME_BANDS[parameter]) == expected


def test_default_home_bands_cover_the_generic_parameters_in_stored_units() -> None:
    assert {name: band.unit for name, band in DEFAULT_HOME_BANDS.items()} == {
        "spo2": "%",
        "respiratory_rate": "/min",
        "heart_rate": "/min",
        "systolic_bp": "mm[Hg]",
        "temperature": "Cel",
        "glucose": "mmol/L",
    }


@pytest.mark.parametrize(
    ("mg_dl", "expected"), [(72.0, None), (71.0, "low"), (270.0, None), (273.0, "high")]
)
def test_glucose_in_mg_per_decilitre_meets_a_band_in_mmol_per_litre_at_meter_resolution(
    mg_dl: float, expected: str | None
) -> None:
    assert out_of_band(mg_dl, DEFAULT_HOME_BANDS["glucose"], "mg/dL") == expected


def test_a_typed_glucose_far_beyond_any_meter_is_refused_as_out_of_range() -> None:
    message = {
        "id": "g-1",
        "kind": "glucose",
        "value": 1e308,
        "unit": "mg/dL",
        "taken_at": "2024-03-05T14:30:00Z",
        "source": "manual",
    }
    with pytest.raises(ReadingError) as caught:
        parse_message(message, now=TAKEN_AT)
    assert caught.value.code == "out_of_range"


def test_a_conversion_between_unrelated_units_is_refused() -> None:
    assert convert(5.5, "mmol/L", "mg/dL") == 99.0
    with pytest.raises(ValidationError) as caught:
        convert(38.5, "Cel", "[degF]")
    assert caught.value.code == "unit_mismatch"


def test_high_limit_is_exclusive_unless_marked_inclusive() -> None:
    assert out_of_band(100.0, Band("weight", "kg", high=100.0)) is None
    assert out_of_band(100.0, Band("weight", "kg", high=100.0, high_inclusive=True)) == "high"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_refused_rather_than_called_inside_the_band(value: float) -> None:
    with pytest.raises(ValidationError):
        out_of_band(value, DEFAULT_HOME_BANDS["spo2"])


@pytest.mark.parametrize(("low", "high"), [(95.0, 90.0), (math.nan, None), (None, math.inf)])
def test_a_band_with_crossed_or_non_finite_limits_is_refused(
    low: float | None, high: float | None
) -> None:
    with pytest.raises(ValidationError) as caught:
        Band("spo2", "%", low=low, high=high)
    assert caught.value.code == "bad_band"


# The one check -------------------------------------------------------------------------------


def test_a_crossing_is_explained_in_one_plain_sentence() -> None:
    assert crossings(reading("spo2", 88.0, "%")) == [
        ("spo2", "low", "Oxygen saturation 88 % — below the lower limit (90 %)")
    ]
    assert crossings(reading("temperature", 38.0, "Cel")) == [
        ("temperature", "high", "Temperature 38.0 °C — at or above the upper limit (38.0 °C)")
    ]


def test_a_glucose_in_mg_per_decilitre_is_quoted_in_both_units() -> None:
    [(_, direction, reason)] = crossings(reading("glucose", 54.0, "mg/dL"))
    assert direction == "low"
    assert reason == "Blood glucose 54 mg/dL (3 mmol/L) — below the lower limit (4 mmol/L)"


def test_systolic_and_diastolic_are_checked_each_against_its_own_band() -> None:
    plan = CarePlan(
        vital_bands={
            "systolic_bp": Band("systolic_bp", "mm[Hg]", low=90.0),
            "diastolic_bp": Band("diastolic_bp", "mm[Hg]", high=95.0),
        }
    )
    found = crossings(reading("blood_pressure", 85.5, "mm[Hg]", 96.0), plan)
    assert [(p, d) for p, d, _ in found] == [("systolic_bp", "low"), ("diastolic_bp", "high")]


def test_a_diastolic_is_checked_when_the_cuff_could_not_measure_the_systolic() -> None:
    plan = CarePlan(vital_bands={"diastolic_bp": Band("diastolic_bp", "mm[Hg]", high=95.0)})
    missing_systolic = reading("blood_pressure", None, "mm[Hg]", 110.0)
    assert [(p, d) for p, d, _ in crossings(missing_systolic, plan)] == [("diastolic_bp", "high")]


def test_the_patients_own_band_rules_and_the_default_only_where_the_plan_is_silent() -> None:
    plan = CarePlan(vital_bands={"spo2": Band("spo2", "%", low=85.0)})
    assert crossings(reading("spo2", 88.0, "%"), plan) == []
    assert crossings(reading("spo2", 84.0, "%"), plan)[0][1] == "low"
    assert crossings(reading("heart_rate", 130.0, "/min"), plan)[0][1] == "high"


def test_with_monitoring_off_no_reading_crosses_a_band_and_the_chart_shades_none() -> None:
    plan = CarePlan(monitoring_enabled=False)
    for kind, value, unit in (("spo2", 70.0, "%"), ("glucose", 2.0, "mmol/L")):
        assert crossings(reading(kind, value, unit), plan) == []
    assert bands_in_effect(plan) == {}
    assert bands_in_effect(CarePlan())["glucose"] == DEFAULT_HOME_BANDS["glucose"]


def test_nothing_is_checked_without_a_value_or_without_a_band() -> None:
    assert crossings(reading("heart_rate", 80.0, "/min")) == []
    assert crossings(reading("weight", 30.0, "kg")) == []
    assert crossings(reading("spo2", None, "%")) == []

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.careplan import (
    DEFAULT_MODERATE_THRESHOLD,
    DEFAULT_SEVERE_THRESHOLD,
    SYMPTOM_ITEMS,
    VITAL_UNITS,
    CarePlan,
    CeilingOfCare,
    Change,
    ContactKind,
    Resuscitation,
    Route,
    SymptomThreshold,
    band_for,
    default_care_plan,
    ladder_in_effect,
    threshold_for,
)
from encounters.careplan_json import care_plan_to_dict, diff_care_plans, validate_care_plan
from encounters.errors import ValidationError
from encounters.escalation import apply_escalation, escalation_due, raise_alert
from encounters.vital_signs import DEFAULT_HOME_BANDS, Band


def full_plan() -> dict[str, Any]:
    return {
        "goals_of_care": "I want to stay at home with my dog and not go back to hospital.",
        "preferred_place_of_care": "home",
        "preferred_place_of_death": "home",
        "advance_care": {
            "advance_directive_on_file": True,
            "resuscitation": "dnr",
            "polst_on_file": True,
            "form_location": "On the fridge, in the red folder",
        },
        "ceiling_of_care": "comfort_only",
        "monitoring_enabled": False,
        "escalation_ladder": {
            "tiers": [
                {"tier": 1, "label": "On-call nurse", "ack_deadline_min": 15, "role": "nurse"},
                {"tier": 2, "label": "Dr Okafor", "ack_deadline_min": 30, "user_id": "u-7"},
                {
                    "tier": 3,
                    "label": "Emergency guidance",
                    "ack_deadline_min": 10,
                    "role": "coordinator",
                    "is_emergency_services": True,
                },
            ]
        },
        "symptom_thresholds": {"pain": {"moderate": 5, "severe": 7}, "nausea": {"severe": 8}},
        "vital_bands": {"spo2": {"low": 85}},
        "crisis_plan": {
            "instructions": [
                {
                    "crisis": "pain",
                    "triggers": ["Pain 7 or more", "Pain not eased by the rescue dose"],
                    "first_steps": ["Give the rescue dose", "Write down the time", "Call us"],
                },
                {"crisis": "haemorrhage", "triggers": [], "first_steps": ["Use dark towels"]},
            ],
            "medicines": [
                {
                    "drug": "Morphine sulfate",
                    "dose": "2.5 mg",
                    "route": "subcutaneous",
                    "indication": "Pain or breathlessness",
                    "min_interval_min": 60,
                    "max_doses_per_24h": 6,
                    "given_by": "family_or_nurse",
                    "location": "Kitchen cupboard, locked box",
                    "expiry": "2025-09-30",
                }
            ],
            "call_tree": [
                {"kind": "hospice_line", "name": "Hospice 24/7", "phone": "+44 20 7946 0000"},
                {"kind": "community_nurse", "name": "District nurses", "phone": "(020) 7946-0001"},
                {
                    "kind": "emergency_services",
                    "name": "Emergency",
                    "phone": "999",
                    "when": "Fire, or a fall with a suspected broken bone",
                },
            ],
        },
        "care_team": [
            {"name": "Ann Lee", "role": "Nurse", "user_id": "u-1", "email": "ann@example.org"},
            {"name": "Dr Okafor", "role": "Palliative physician", "phone": "+1 555 010 0199"},
        ],
    }


def refused(obj: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_care_plan(obj)
    return caught.value


def test_default_plan_uses_4_and_7_for_every_symptom_and_the_default_home_bands() -> None:
    plan = default_care_plan()
    for item in SYMPTOM_ITEMS:
        assert threshold_for(plan, item) == SymptomThreshold(4, 7)
    assert (DEFAULT_MODERATE_THRESHOLD, DEFAULT_SEVERE_THRESHOLD) == (4, 7)
    for parameter, band in DEFAULT_HOME_BANDS.items():
        assert band_for(plan, parameter) == band
    assert plan.monitoring_enabled is True
    assert [t.tier for t in plan.escalation_ladder.tiers] == [1, 2, 3]


def test_default_home_bands_use_the_units_readings_are_stored_in() -> None:
    for parameter, band in DEFAULT_HOME_BANDS.items():
        assert VITAL_UNITS[parameter] == band.unit


def test_an_empty_object_is_the_default_plan() -> None:
    assert validate_care_plan({}) == default_care_plan()


def test_reads_every_part_of_a_full_plan() -> None:
    plan = validate_care_plan(full_plan())
    assert plan.advance_care.resuscitation is Resuscitation.DNR
    assert plan.ceiling_of_care is CeilingOfCare.COMFORT_ONLY
    assert threshold_for(plan, "pain") == SymptomThreshold(5, 7)
    assert threshold_for(plan, "nausea") == SymptomThreshold(4, 8)
    assert threshold_for(plan, "mood") == SymptomThreshold(4, 7)
    spo2 = band_for(plan, "spo2")
    assert spo2 == Band("spo2", "%", 85.0, None, False)
    medicine = plan.crisis_plan.medicines[0]
    assert (medicine.route, medicine.expiry) == (Route.SUBCUTANEOUS, date(2025, 9, 30))
    assert [c.kind for c in plan.crisis_plan.call_tree][0] is ContactKind.HOSPICE_LINE
    assert plan.escalation_ladder.tiers[1].user_id == "u-7"


def test_round_trips_through_the_api_shape() -> None:
    plan = validate_care_plan(full_plan())
    assert validate_care_plan(care_plan_to_dict(plan)) == plan
    assert validate_care_plan(care_plan_to_dict(default_care_plan())) == default_care_plan()


def test_comfort_only_with_a_dnr_never_reaches_the_emergency_services_tier() -> None:
    plan = validate_care_plan(full_plan())
    assert [t.tier for t in ladder_in_effect(plan).tiers] == [1, 2]


def test_an_alert_under_comfort_only_and_a_dnr_exhausts_before_emergency_services() -> None:
    ladder = ladder_in_effect(validate_care_plan(full_plan()))
    now = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
    state = raise_alert("a-1", ladder, raised_at=now)
    for _ in range(5):
        now += timedelta(hours=1)
        due = escalation_due(state, ladder, now)
        if due is not None:
            state = apply_escalation(state, due)
    assert (state.tier, state.exhausted) == (2, True)
    assert all(event.tier != 3 for event in state.history)


@pytest.mark.parametrize(
    ("ceiling", "resuscitation"),
    [("comfort_only", "not_recorded"), ("comfort_only", "attempt_cpr"), ("selective", "dnr")],
)
def test_the_ladder_is_not_capped_without_both_comfort_only_and_a_dnr(
    ceiling: str, resuscitation: str
) -> None:
    obj = full_plan()
    obj["ceiling_of_care"] = ceiling
    obj["advance_care"]["resuscitation"] = resuscitation
    assert [t.tier for t in ladder_in_effect(validate_care_plan(obj)).tiers] == [1, 2, 3]


def test_refuses_an_unknown_field_at_the_top_and_deep_inside() -> None:
    assert refused({"goals": "x"}).code == "unknown_field"
    obj = full_plan()
    obj["escalation_ladder"]["tiers"][1]["pager"] = "123"
    error = refused(obj)
    assert (error.code, error.field) == ("unknown_field", "escalation_ladder.tiers[1].pager")


def test_refuses_tiers_with_a_gap_in_their_numbers() -> None:
    obj = full_plan()
    obj["escalation_ladder"]["tiers"][2]["tier"] = 4
    error = refused(obj)
    assert (error.code, error.field) == ("tier_order", "escalation_ladder.tiers[2].tier")


def test_refuses_an_emergency_services_first_tier_and_an_empty_ladder() -> None:
    obj = full_plan()
    obj["escalation_ladder"]["tiers"][0]["is_emergency_services"] = True
    assert refused(obj).code == "tier_order"
    obj["escalation_ladder"]["tiers"] = []
    assert refused(obj).field == "escalation_ladder.tiers"


@pytest.mark.parametrize(("minutes", "ok"), [(0, False), (1, True), (1440, True), (1441, False)])
def test_ack_deadlines_run_from_1_to_1440_minutes(minutes: int, ok: bool) -> None:
    obj = full_plan()
    obj["escalation_ladder"]["tiers"][0]["ack_deadline_min"] = minutes
    if ok:
        plan = validate_care_plan(obj)
        assert plan.escalation_ladder.tiers[0].ack_deadline_min == minutes
    else:
        assert refused(obj).field == "escalation_ladder.tiers[0].ack_deadline_min"


def test_refuses_a_tier_with_neither_person_nor_role() -> None:
    obj = full_plan()
    del obj["escalation_ladder"]["tiers"][0]["role"]
    assert refused(obj).field == "escalation_ladder.tiers[0].user_id"


@pytest.mark.parametrize(
    "threshold",
    [{"moderate": 7, "severe": 7}, {"moderate": 8, "severe": 6}, {"severe": 11}, {"moderate": -1}],
)
def test_refuses_thresholds_unless_moderate_is_below_severe_within_0_to_10(
    threshold: dict[str, int],
) -> None:
    obj = full_plan()
    obj["symptom_thresholds"] = {"pain": threshold}
    assert str(refused(obj).field).startswith("symptom_thresholds.pain.")


def test_accepts_thresholds_at_the_ends_of_the_scale() -> None:
    obj = full_plan()
    obj["symptom_thresholds"] = {"mood": {"moderate": 1, "severe": 10}}
    assert threshold_for(validate_care_plan(obj), "mood") == SymptomThreshold(1, 10)


def test_refuses_a_threshold_of_zero() -> None:
    # At 0 a patient with no symptom at all would raise an alert.
    obj = full_plan()
    obj["symptom_thresholds"] = {"pain": {"moderate": 0, "severe": 7}}
    assert refused(obj).field == "symptom_thresholds.pain.moderate"


def test_refuses_a_threshold_for_an_unknown_symptom() -> None:
    obj = full_plan()
    obj["symptom_thresholds"] = {"hiccups": {"moderate": 3}}
    assert refused(obj).code == "unknown_field"


@pytest.mark.parametrize(
    "band",
    [{"low": 95, "high": 90}, {}, {"low": True}, {"low": 88, "unit": "kPa"}, {"low": "88"}],
)
def test_refuses_a_band_that_cannot_be_read(band: dict[str, Any]) -> None:
    obj = full_plan()
    obj["vital_bands"] = {"spo2": band}
    assert str(refused(obj).field).startswith("vital_bands.spo2")


def test_refuses_a_band_for_an_unknown_parameter() -> None:
    obj = full_plan()
    obj["vital_bands"] = {"cholesterol": {"low": 4}}
    assert refused(obj).code == "unknown_field"


@pytest.mark.parametrize(
    "phone", ["+44 20 7946 0000", "911", "(555) 123-4567", "0800.123.456", "112"]
)
def test_accepts_plausible_phone_numbers(phone: str) -> None:
    obj = full_plan()
    obj["crisis_plan"]["call_tree"][1]["phone"] = phone
    assert validate_care_plan(obj).crisis_plan.call_tree[1].phone == phone


@pytest.mark.parametrize(
    "phone", ["call me", "12", "+", "1234567890123456", "555-CALL-NOW", "", 5551234, "+44 20 7946 "]
)
def test_refuses_implausible_phone_numbers(phone: object) -> None:
    obj = full_plan()
    obj["crisis_plan"]["call_tree"][1]["phone"] = phone
    assert refused(obj).field == "crisis_plan.call_tree[1].phone"


def test_the_hospice_line_comes_first_in_the_call_tree() -> None:
    obj = full_plan()
    tree = obj["crisis_plan"]["call_tree"]
    tree[0], tree[1] = tree[1], tree[0]
    error = refused(obj)
    assert (error.code, error.field) == ("call_order", "crisis_plan.call_tree[0].kind")


def test_emergency_services_need_the_conditions_for_calling_them() -> None:
    obj = full_plan()
    del obj["crisis_plan"]["call_tree"][2]["when"]
    assert refused(obj).field == "crisis_plan.call_tree[2].when"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_interval_min", 0),
        ("max_doses_per_24h", 0),
        ("route", "by mouth"),
        ("given_by", "anyone"),
        ("indication", " "),
        ("expiry", "2025-02-30"),
        ("expiry", "30/09/2025"),
    ],
)
def test_refuses_a_just_in_case_medicine_missing_a_safe_value(key: str, value: object) -> None:
    obj = full_plan()
    obj["crisis_plan"]["medicines"][0][key] = value
    assert refused(obj).field == f"crisis_plan.medicines[0].{key}"


def test_refuses_two_instructions_for_the_same_crisis_and_one_without_steps() -> None:
    obj = full_plan()
    obj["crisis_plan"]["instructions"][1]["crisis"] = "pain"
    assert refused(obj).field == "crisis_plan.instructions"
    obj = full_plan()
    obj["crisis_plan"]["instructions"][1]["first_steps"] = []
    assert refused(obj).field == "crisis_plan.instructions[1].first_steps"


@pytest.mark.parametrize(
    ("key", "value"),
    [("monitoring_enabled", "yes"), ("ceiling_of_care", "partial"), ("care_team", {})],
)
def test_refuses_a_value_of_the_wrong_kind(key: str, value: object) -> None:
    obj = full_plan()
    obj[key] = value
    assert refused(obj).field == key


def test_error_messages_do_not_repeat_what_the_person_wrote() -> None:
    obj = full_plan()
    obj["goals_of_care"] = "my private wish " * 400
    error = refused(obj)
    assert error.field == "goals_of_care"
    assert "private" not in error.message


def test_no_changes_between_equal_plans() -> None:
    assert diff_care_plans(validate_care_plan(full_plan()), validate_care_plan(full_plan())) == []


def test_lists_each_changed_field_with_its_path_old_and_new_value() -> None:
    old_obj = full_plan()
    new_obj = copy.deepcopy(old_obj)
    new_obj["escalation_ladder"]["tiers"][0]["ack_deadline_min"] = 10
    new_obj["symptom_thresholds"]["mood"] = {"moderate": 3, "severe": 6}
    new_obj["monitoring_enabled"] = True
    del new_obj["crisis_plan"]["call_tree"][2]
    changes = diff_care_plans(validate_care_plan(old_obj), validate_care_plan(new_obj))
    removed = care_plan_to_dict(validate_care_plan(old_obj))["crisis_plan"]
    assert isinstance(removed, dict) and isinstance(removed["call_tree"], list)
    assert changes == [
        Change("monitoring_enabled", False, True),
        Change("escalation_ladder.tiers[0].ack_deadline_min", 15, 10),
        Change("symptom_thresholds.mood", None, {"moderate": 3, "severe": 6}),
        Change("crisis_plan.call_tree[2]", removed["call_tree"][2], None),
    ]


_THRESHOLDS = st.dictionaries(
    st.sampled_from(sorted(SYMPTOM_ITEMS)),
    st.tuples(st.integers(1, 9), st.integers(2, 10))
    .filter(lambda t: t[0] < t[1])
    .map(lambda t: {"moderate": t[0], "severe": t[1]}),
    max_size=5,
)
_DEADLINES = st.lists(st.integers(1, 1440), min_size=1, max_size=5)


def _plan_from(thresholds: dict[str, Any], deadlines: list[int], monitoring: bool) -> CarePlan:
    tiers = [
        {"tier": i, "label": f"Tier {i}", "ack_deadline_min": m, "role": f"role_{i}"}
        for i, m in enumerate(deadlines, start=1)
    ]
    return validate_care_plan(
        {
            "symptom_thresholds": thresholds,
            "escalation_ladder": {"tiers": tiers},
            "monitoring_enabled": monitoring,
        }
    )


@settings(deadline=None)
@given(thresholds=_THRESHOLDS, deadlines=_DEADLINES, monitoring=st.booleans())
def test_any_valid_plan_round_trips_and_differs_from_itself_in_nothing(
    thresholds: dict[str, Any], deadlines: list[int], monitoring: bool
) -> None:
    plan = _plan_from(thresholds, deadlines, monitoring)
    assert validate_care_plan(care_plan_to_dict(plan)) == plan
    assert diff_care_plans(plan, plan) == []


@settings(deadline=None)
@given(
    a=st.tuples(_THRESHOLDS, _DEADLINES, st.booleans()),
    b=st.tuples(_THRESHOLDS, _DEADLINES, st.booleans()),
)
def test_a_diff_is_empty_exactly_when_the_plans_are_equal(
    a: tuple[dict[str, Any], list[int], bool], b: tuple[dict[str, Any], list[int], bool]
) -> None:
    old, new = _plan_from(*a), _plan_from(*b)
    changes = diff_care_plans(old, new)
    assert (changes == []) == (old == new)
    assert all(c.old != c.new for c in changes)


def test_a_glucose_band_may_be_set_in_either_unit_a_meter_reports() -> None:
    obj = full_plan()
    obj["vital_bands"] = {"glucose": {"unit": "mg/dL", "low": 70, "high": 250}}
    plan = validate_care_plan(obj)
    assert plan.vital_bands["glucose"] == Band("glucose", "mg/dL", 70.0, 250.0)
    obj["vital_bands"] = {"glucose": {"unit": "kg/L", "low": 0.0007}}
    assert refused(obj).code == "invalid_value"

"""Instruments: shipped data files, answer checks, scores, bands and visit-to-visit comparison."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encounters.errors import DataFileError, ValidationError
from encounters.instruments import (
    Instrument,
    InstrumentScore,
    Severity,
    Thresholds,
    check_answers,
    classify,
    compare_scores,
    load_builtin_instruments,
    load_instruments,
    parse_instrument,
    score_answers,
)

INSTRUMENTS = load_builtin_instruments()
ESAS = INSTRUMENTS["esas_r"]
FOUR_AT = INSTRUMENTS["four_at"]
PAINAD = INSTRUMENTS["painad"]
NRS = INSTRUMENTS["breathlessness_nrs"]
BORG = INSTRUMENTS["modified_borg"]
ECOG = INSTRUMENTS["ecog"]
AKPS = INSTRUMENTS["akps"]
CAREGIVER = INSTRUMENTS["caregiver_check"]

ESAS_FIXED = (
    "pain",
    "tiredness",
    "drowsiness",
    "nausea",
    "appetite",
    "shortness_of_breath",
    "depression",
    "anxiety",
    "wellbeing",
)


def esas(**overrides: object) -> dict[str, object]:
    answers: dict[str, object] = dict.fromkeys(ESAS_FIXED, 0)
    answers.update(overrides)
    return answers


def score(instrument: Instrument, answers: Mapping[str, object]) -> InstrumentScore:
    return score_answers(instrument, check_answers(instrument, answers, complete=True))


# --- what ships ----------------------------------------------------------------------------


def test_ships_the_free_instruments_named_in_clinical_md() -> None:
    assert set(INSTRUMENTS) == {
        "esas_r",
        "ecog",
        "akps",
        "four_at",
        "painad",
        "breathlessness_nrs",
        "modified_borg",
        "caregiver_check",
    }


@pytest.mark.parametrize(
    "licensed",
    [r"zarit", r"\bzbi", r"\bcam\b", r"confusion assessment", r"\bpps", r"palliative performance",
     r"\bipos\b", r"\bpos\b", r"outcome scale"],
)  # fmt: skip
def test_no_shipped_instrument_is_a_licensed_one(licensed: str) -> None:
    pattern = re.compile(licensed, re.IGNORECASE)
    for instrument in INSTRUMENTS.values():
        assert not pattern.search(instrument.instrument_id), instrument.instrument_id
        assert not pattern.search(instrument.name), instrument.name
        assert not pattern.search(instrument.short_name), instrument.short_name


def test_every_shipped_instrument_carries_source_licence_and_acknowledgement() -> None:
    for instrument in INSTRUMENTS.values():
        assert instrument.source.strip()
        assert instrument.licence.strip()
        assert instrument.acknowledgement.strip()


def test_every_shipped_data_file_opens_with_a_header_comment_for_clinicians() -> None:
    files = [
        f for f in resources.files("encounters.instruments").iterdir() if f.name.endswith(".toml")
    ]
    assert len(files) == len(INSTRUMENTS)
    for entry in files:
        lines = entry.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# "), entry.name
        assert lines[2].startswith("# For clinicians"), entry.name


def test_esas_acknowledges_the_university_of_alberta_and_forbids_modification() -> None:
    assert "University of Alberta" in ESAS.licence
    assert "may not be modified" in ESAS.licence
    assert "University of Alberta" in ESAS.acknowledgement


def test_caregiver_check_is_hearths_own_not_a_licensed_copy() -> None:
    assert "Hearth" in CAREGIVER.source
    assert CAREGIVER.scoring.method == "none"


# --- ESAS-r -----------------------------------------------------------------------------------


def test_esas_items_are_in_the_published_order() -> None:
    assert ESAS.item_ids == (*ESAS_FIXED, "other", "other_name")


@pytest.mark.parametrize(
    ("item_id", "text", "definition", "low", "high"),
    [
        ("pain", "Pain", "", "No Pain", "Worst Possible Pain"),
        ("tiredness", "Tiredness", "Tiredness = lack of energy", "No Tiredness",
         "Worst Possible Tiredness"),
        ("drowsiness", "Drowsiness", "Drowsiness = feeling sleepy", "No Drowsiness",
         "Worst Possible Drowsiness"),
        ("nausea", "Nausea", "", "No Nausea", "Worst Possible Nausea"),
        ("appetite", "Lack of Appetite", "", "No Lack of Appetite",
         "Worst Possible Lack of Appetite"),
        ("shortness_of_breath", "Shortness of Breath", "", "No Shortness of Breath",
         "Worst Possible Shortness of Breath"),
        ("depression", "Depression", "Depression = feeling sad", "No Depression",
         "Worst Possible Depression"),
        ("anxiety", "Anxiety", "Anxiety = feeling nervous", "No Anxiety",
         "Worst Possible Anxiety"),
        ("wellbeing", "Wellbeing", "Wellbeing = how you feel overall", "Best Wellbeing",
         "Worst Possible Wellbeing"),
    ],
)  # fmt: skip
def test_esas_wording_definitions_and_anchors_match_the_published_form(
    item_id: str, text: str, definition: str, low: str, high: str
) -> None:
    item = ESAS.item(item_id)
    assert item is not None
    assert (item.text, item.definition) == (text, definition)
    assert [(a.value, a.label) for a in item.anchors] == [(0, low), (10, high)]
    assert item.values == tuple(range(11))
    assert item.required


def test_esas_asks_about_now_with_the_forms_instruction() -> None:
    assert ESAS.recall == "now"
    assert ESAS.instructions == "Please circle the number that best describes how you feel NOW:"


def test_esas_other_item_is_optional_and_carries_the_form_example() -> None:
    other = ESAS.item("other")
    assert other is not None and not other.required
    assert other.text == "Other Problem (for example constipation)"
    assert other.needs == ("other_name",)


@given(st.sampled_from(ESAS_FIXED), st.integers(min_value=0, max_value=10))
def test_esas_accepts_every_whole_number_from_0_to_10(item_id: str, value: int) -> None:
    assert check_answers(ESAS, {item_id: value}, complete=False) == {item_id: value}


@pytest.mark.parametrize("value", [11, -1, 4.5, 4.0, True, "4", [4]])
def test_esas_refuses_values_outside_0_to_10_naming_item_and_range(value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        check_answers(ESAS, {"pain": value}, complete=False)
    assert "'pain'" in refused.value.message
    assert "from 0 to 10" in refused.value.message
    assert refused.value.field == "pain"


def test_esas_refusal_echoes_the_number_sent() -> None:
    with pytest.raises(ValidationError, match=r"got 11\."):
        check_answers(ESAS, {"nausea": 11}, complete=False)


def test_esas_complete_set_needs_all_nine_fixed_items() -> None:
    answers = esas()
    del answers["wellbeing"]
    check_answers(ESAS, answers, complete=False)
    with pytest.raises(ValidationError, match="'wellbeing' is missing") as refused:
        check_answers(ESAS, answers, complete=True)
    assert refused.value.field == "wellbeing"


def test_esas_other_score_needs_the_name_of_the_problem() -> None:
    with pytest.raises(ValidationError, match="'other_name' is needed"):
        check_answers(ESAS, esas(other=5), complete=True)
    assert check_answers(ESAS, esas(other=5, other_name="constipation"), complete=True)


def test_esas_refusing_a_long_other_name_does_not_repeat_the_text() -> None:
    secret = "Mrs Example's hiccups " * 10
    with pytest.raises(ValidationError) as refused:
        check_answers(ESAS, esas(other=3, other_name=secret), complete=True)
    assert "hiccups" not in refused.value.message
    assert "1 to 80 characters" in refused.value.message


def test_esas_refuses_an_unknown_item() -> None:
    with pytest.raises(ValidationError, match="has no item 'itch'"):
        check_answers(ESAS, {"itch": 3}, complete=False)


@given(st.fixed_dictionaries({k: st.integers(0, 10) for k in ESAS_FIXED}), st.integers(0, 10))
def test_tsds_is_the_sum_of_the_nine_fixed_items_without_other(
    answers: dict[str, int], other: int
) -> None:
    result = score(ESAS, {**answers, "other": other, "other_name": "itch"})
    assert result.total == sum(answers.values())
    physical = sum(v for k, v in answers.items() if k not in ("depression", "anxiety"))
    assert result.subscores == {
        "physical": physical,
        "emotional": answers["depression"] + answers["anxiety"],
    }


def test_esas_records_which_subscore_definition_it_uses() -> None:
    assert "as some reports use it" in ESAS.scoring.subscore_definition
    assert "Definitions vary between papers" in ESAS.scoring.subscore_definition
    assert ESAS.scoring.total_label.startswith("Total Symptom Distress Score")


def test_esas_tsds_reaches_90_at_the_worst_end() -> None:
    assert score(ESAS, dict.fromkeys(ESAS_FIXED, 10)).total == 90


# --- 4AT --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item_id", "code", "points"),
    [
        ("alertness", "normal", 0), ("alertness", "mild_sleepiness", 0),
        ("alertness", "clearly_abnormal", 4),
        ("amt4", "no_mistakes", 0), ("amt4", "one_mistake", 1),
        ("amt4", "two_or_more_mistakes", 2), ("amt4", "untestable", 2),
        ("attention", "seven_or_more", 0), ("attention", "fewer_than_seven", 1),
        ("attention", "refuses", 1), ("attention", "untestable", 2),
        ("acute_change", "no", 0), ("acute_change", "yes", 4),
    ],
)  # fmt: skip
def test_four_at_options_carry_their_published_scores(item_id: str, code: str, points: int) -> None:
    item = FOUR_AT.item(item_id)
    assert item is not None
    option = item.option(code)
    assert option is not None and option.score == points


def four_at(**overrides: str) -> dict[str, object]:
    answers: dict[str, object] = {
        "alertness": "normal",
        "amt4": "no_mistakes",
        "attention": "seven_or_more",
        "acute_change": "no",
        "acute_change_informant": "family",
    }
    answers.update(overrides)
    return answers


def test_four_at_untestable_on_items_2_and_3_is_scored_and_already_positive() -> None:
    result = score(FOUR_AT, four_at(amt4="untestable", attention="untestable"))
    assert result.total == 4
    assert result.band == "possible_delirium"


@pytest.mark.parametrize(
    ("answers", "total", "band"),
    [
        ({}, 0, "unlikely"),
        ({"amt4": "one_mistake"}, 1, "possible_cognitive_impairment"),
        ({"amt4": "two_or_more_mistakes", "attention": "refuses"}, 3,
         "possible_cognitive_impairment"),
        ({"acute_change": "yes"}, 4, "possible_delirium"),
        ({"alertness": "clearly_abnormal", "amt4": "untestable", "attention": "untestable",
          "acute_change": "yes"}, 12, "possible_delirium"),
    ],
)  # fmt: skip
def test_four_at_total_bands_follow_clinical_md_1_4(
    answers: dict[str, str], total: int, band: str
) -> None:
    result = score(FOUR_AT, four_at(**answers))
    assert (result.total, result.band) == (total, band)
    assert result.band_validated is True


def test_four_at_item_2_refuses_3_naming_the_allowed_answers() -> None:
    with pytest.raises(ValidationError) as refused:
        check_answers(FOUR_AT, {"amt4": 3}, complete=False)
    assert "'amt4'" in refused.value.message
    assert "no_mistakes, one_mistake, two_or_more_mistakes, untestable" in refused.value.message


def test_four_at_item_4_records_who_supplied_the_information() -> None:
    answers = four_at()
    del answers["acute_change_informant"]
    with pytest.raises(ValidationError, match="acute_change_informant"):
        check_answers(FOUR_AT, answers, complete=True)
    informant = FOUR_AT.item("acute_change_informant")
    assert informant is not None
    assert {o.code for o in informant.options} >= {"family", "patient", "clinician"}


# --- PAINAD, breathlessness NRS, modified Borg, ECOG, AKPS, caregiver check ---------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, None), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe"),
     (10, "severe")],
)  # fmt: skip
def test_painad_bands_follow_clinical_md_1_5_and_say_they_are_not_validated(
    total: int, band: str | None
) -> None:
    ids = PAINAD.item_ids
    answers = {item_id: min(2, max(0, total - 2 * i)) for i, item_id in enumerate(ids)}
    result = score(PAINAD, answers)
    assert (result.total, result.band) == (total, band)
    if band is not None:
        assert result.band_validated is False
        assert "not validated" in str(result.band_label)
    assert "not been validated" in PAINAD.scoring.bands_note


def test_painad_items_score_0_to_2_only() -> None:
    assert len(PAINAD.items) == 5
    with pytest.raises(ValidationError, match="from 0 to 2"):
        check_answers(PAINAD, {"breathing": 3}, complete=False)


@pytest.mark.parametrize(
    ("value", "band"),
    [(0, "none"), (1, "mild"), (4, "mild"), (5, "moderate"), (8, "moderate"), (9, "severe"),
     (10, "severe")],
)  # fmt: skip
def test_breathlessness_nrs_bands_follow_clinical_md_1_7(value: int, band: str) -> None:
    result = score(NRS, {"score": value})
    assert (result.total, result.band) == (value, band)


@pytest.mark.parametrize("sent", [0.5, "0.5", Decimal("0.50")])
def test_borg_accepts_half_and_stores_it_as_an_exact_decimal(sent: object) -> None:
    answers = check_answers(BORG, {"score": sent}, complete=True)
    assert answers == {"score": Decimal("0.5")}
    assert isinstance(answers["score"], Decimal)
    total = score_answers(BORG, answers).total
    assert isinstance(total, Decimal) and total == Decimal("0.5")


@pytest.mark.parametrize("value", [6, 8, 1.0, 10])
def test_borg_unlabelled_and_whole_steps_are_valid(value: object) -> None:
    assert check_answers(BORG, {"score": value}, complete=True) == {"score": Decimal(str(value))}


def test_borg_six_and_eight_have_no_words() -> None:
    item = BORG.item("score")
    assert item is not None
    labelled = {a.value for a in item.anchors}
    assert Decimal(6) not in labelled and Decimal(8) not in labelled
    assert Decimal("0.5") in labelled


@pytest.mark.parametrize("value", [0.7, 0.25, 11, -0.5, "abc", "NaN", float("inf"), True])
def test_borg_refuses_values_between_steps_naming_the_allowed_values(value: object) -> None:
    with pytest.raises(ValidationError, match=r"one of 0, 0\.5, 1, 2, .*, 10"):
        check_answers(BORG, {"score": value}, complete=True)


def test_ecog_grades_0_to_5_and_refuses_6() -> None:
    assert score(ECOG, {"grade": 5}).total == 5
    with pytest.raises(ValidationError, match="from 0 to 5"):
        check_answers(ECOG, {"grade": 6}, complete=True)


@pytest.mark.parametrize("value", [55, 110, -10, 5])
def test_akps_only_accepts_steps_of_ten(value: int) -> None:
    with pytest.raises(ValidationError, match="one of 0, 10, 20"):
        check_answers(AKPS, {"level": value}, complete=True)
    assert score(AKPS, {"level": 40}).total == 40


def test_caregiver_check_records_answers_without_a_total() -> None:
    answers = {"coping": 3, "sleep": "poorly", "support_needed": True, "worries": "nights"}
    result = score(CAREGIVER, answers)
    assert result.total is None and result.band is None
    with pytest.raises(ValidationError, match="true or false"):
        check_answers(CAREGIVER, {"support_needed": "yes"}, complete=False)


def test_answers_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(ValidationError, match="must be an object"):
        check_answers(ESAS, [1, 2, 3], complete=False)


# --- organisation instruments and malformed files --------------------------------------------

SMALL = """\
# A small licensed instrument an organisation adds (test fixture).
id = "org_scale"
name = "Organisation scale"
short_name = "Org"
version = "1"
source = "Organisation"
licence = "Licensed to the organisation"
acknowledgement = "Used under licence"

[[items]]
id = "q1"
kind = "integer"
min = 0
max = 4
text = "Question one"

[[items]]
id = "q2"
kind = "integer"
min = 0
max = 4
text = "Question two"

[scoring]
method = "sum"
total_label = "Total"
items = ["q1", "q2"]

[[scoring.bands]]
code = "high"
label = "High"
min = 5
max = 8
"""


def test_an_organisation_adds_an_instrument_from_its_own_directory(tmp_path: Path) -> None:
    (tmp_path / "org_scale.toml").write_text(SMALL, encoding="utf-8")
    loaded = load_instruments(tmp_path)
    assert set(loaded) == set(INSTRUMENTS) | {"org_scale"}
    result = score(loaded["org_scale"], {"q1": 4, "q2": 2})
    assert (result.total, result.band) == (6, "high")


def test_an_organisation_file_cannot_replace_a_shipped_instrument(tmp_path: Path) -> None:
    (tmp_path / "esas.toml").write_text(SMALL.replace('"org_scale"', '"esas_r"'), "utf-8")
    with pytest.raises(DataFileError, match="already used") as refused:
        load_instruments(tmp_path)
    assert refused.value.line == 2
    assert refused.value.path.endswith("esas.toml")


def test_a_missing_organisation_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="not a directory"):
        load_instruments(tmp_path / "absent")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ('kind = "integer"\nmin = 0\nmax = 4\ntext = "Question two"',
         'kind = "slider"\nmin = 0\nmax = 4\ntext = "Question two"', 'kind = "slider"',
         "kind 'slider' is unknown"),
        ('items = ["q1", "q2"]', 'items = ["q1", "q3"]', 'items = ["q1", "q3"]',
         "item 'q3', which is not in this file"),
        ('max = 8', 'max = 8\nmxa = 9', "mxa = 9", "unknown key 'mxa'"),
        ('min = 5', 'min = "five"', 'min = "five"', "'min' must be a number"),
        ('text = "Question one"', 'text = "Question one"\nanchors = [{ value = 9, label = "x" }]',
         "anchors =", "anchor 9 is not one of the item's values"),
        ('method = "sum"', 'method = "average"', 'method = "average"', "method 'average'"),
        ('max = 4\ntext = "Question two"', 'max = 0\ntext = "Question two"', "max = 0",
         "'min' must be less than 'max'"),
        ('name = "Organisation scale"', 'name = "Organisation scale', 'name = "Organisation',
         "not valid TOML"),
    ],
)  # fmt: skip
def test_a_malformed_instrument_file_is_refused_with_file_and_line(
    old: str, new: str, needle: str, message: str
) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    with pytest.raises(DataFileError) as refused:
        parse_instrument(text, "org/bad.toml")
    assert message in refused.value.message
    assert refused.value.path == "org/bad.toml"
    assert refused.value.line == line_of(text, needle)
    assert refused.value.message.startswith(f"org/bad.toml:{refused.value.line}:")


def test_a_missing_top_level_key_is_refused_naming_the_key() -> None:
    text = SMALL.replace('acknowledgement = "Used under licence"\n', "")
    with pytest.raises(DataFileError, match="'acknowledgement' is missing") as refused:
        parse_instrument(text, "org/bad.toml")
    assert refused.value.path == "org/bad.toml"


def test_overlapping_bands_are_refused() -> None:
    text = SMALL + '\n[[scoring.bands]]\ncode = "higher"\nlabel = "Higher"\nmin = 7\nmax = 8\n'
    with pytest.raises(DataFileError, match="without overlap"):
        parse_instrument(text, "bad.toml")


def test_a_scored_item_must_be_required() -> None:
    text = SMALL.replace('text = "Question two"', 'text = "Question two"\nrequired = false')
    with pytest.raises(DataFileError, match="not a required item with a score") as refused:
        parse_instrument(text, "bad.toml")
    assert refused.value.line == line_of(text, 'items = ["q1", "q2"]')


# --- comparison with the last visit and the patient's thresholds ----------------------------


@pytest.mark.parametrize(
    ("value", "severity"),
    [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe"),
     (10, "severe")],
)  # fmt: skip
def test_default_esas_thresholds_are_moderate_4_and_severe_7(value: int, severity: str) -> None:
    assert ESAS.item_thresholds == Thresholds(moderate=4, severe=7)
    (pain,) = [c for c in compare_scores(ESAS, esas(pain=value)) if c.item_id == "pain"]
    assert pain.severity == severity
    assert pain.is_moderate_or_worse == (value >= 4)
    assert pain.is_severe == (value >= 7)


def test_a_patients_own_threshold_overrides_the_default_for_that_item_only() -> None:
    result = compare_scores(
        ESAS, esas(pain=4, tiredness=4), thresholds={"pain": Thresholds(moderate=5, severe=7)}
    )
    by_item = {c.item_id: c for c in result}
    assert by_item["pain"].severity is Severity.MILD and not by_item["pain"].is_moderate_or_worse
    assert by_item["tiredness"].is_moderate_or_worse


@pytest.mark.parametrize(
    ("before", "now", "change", "notable"),
    [(3, 5, 2, True), (5, 3, -2, True), (3, 4, 1, False), (4, 3, -1, False), (0, 10, 10, True),
     (6, 6, 0, False)],
)  # fmt: skip
def test_change_of_two_points_or_more_either_way_is_flagged(
    before: int, now: int, change: int, notable: bool
) -> None:
    (pain,) = [
        c for c in compare_scores(ESAS, esas(pain=now), esas(pain=before)) if c.item_id == "pain"
    ]
    assert (pain.previous, pain.change, pain.is_notable_change) == (before, change, notable)


def test_no_previous_visit_means_no_change() -> None:
    for item in compare_scores(ESAS, esas(pain=9)):
        assert item.previous is None and item.change is None and not item.is_notable_change


def test_other_problem_is_compared_only_when_it_is_the_same_problem() -> None:
    now = esas(other=6, other_name="Constipation ")
    same = compare_scores(ESAS, now, esas(other=2, other_name="constipation"))
    different = compare_scores(ESAS, now, esas(other=2, other_name="itch"))
    assert [c.change for c in same if c.item_id == "other"] == [4]
    assert [c.change for c in different if c.item_id == "other"] == [None]


@pytest.mark.parametrize(("moderate", "severe"), [(5, 4), (0, 7), (4, 11)])
def test_impossible_thresholds_are_refused(moderate: int, severe: int) -> None:
    with pytest.raises(ValidationError, match="1 <= moderate <= severe <= 10"):
        compare_scores(ESAS, esas(), thresholds={"pain": Thresholds(moderate, severe)})


def test_thresholds_for_an_unknown_item_are_refused() -> None:
    with pytest.raises(ValidationError, match="no numeric item 'itch'"):
        compare_scores(ESAS, esas(), thresholds={"itch": Thresholds(4, 7)})


def test_comparison_refuses_an_out_of_range_score() -> None:
    with pytest.raises(ValidationError, match="'pain'"):
        compare_scores(ESAS, esas(pain=12))


@given(
    st.integers(0, 10),
    st.one_of(st.none(), st.integers(0, 10)),
    st.integers(1, 10).flatmap(lambda m: st.tuples(st.just(m), st.integers(m, 10))),
)
def test_comparison_flags_agree_with_the_band_and_the_change(
    now: int, before: int | None, cut: tuple[int, int]
) -> None:
    thresholds = Thresholds(moderate=cut[0], severe=cut[1])
    previous = None if before is None else esas(pain=before)
    (pain,) = [
        c
        for c in compare_scores(ESAS, esas(pain=now), previous, {"pain": thresholds})
        if c.item_id == "pain"
    ]
    assert pain.severity == classify(now, thresholds)
    assert pain.is_severe == (pain.severity is Severity.SEVERE)
    assert pain.is_moderate_or_worse == (pain.severity in (Severity.MODERATE, Severity.SEVERE))
    assert pain.change == (None if before is None else now - before)
    assert pain.is_notable_change == (before is not None and abs(now - before) >= 2)

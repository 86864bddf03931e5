"""Visit templates: the shipped default and the refusals of malformed templates."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from encounters.errors import DataFileError
from encounters.instruments import load_builtin_instruments, load_instruments
from encounters.templates import (
    KIND_FIELDS,
    Role,
    StepKind,
    Who,
    load_template,
    load_templates,
    parse_template,
)

DEFAULT = load_template()


def test_default_template_has_the_five_steps_in_order() -> None:
    assert DEFAULT.template_id == "home_palliative_visit"
    assert DEFAULT.step_ids == ("identity", "consent", "assessment", "crisis_rehearsal", "wrap_up")
    assert [s.kind for s in DEFAULT.steps] == list(StepKind)


@pytest.mark.parametrize(
    ("step_id", "who", "skippable", "requires"),
    [
        ("identity", Who.CLINICIAN, False, ()),
        ("consent", Who.CLINICIAN, False, ()),
        ("assessment", Who.EITHER, True, ("identity", "consent")),
        ("crisis_rehearsal", Who.CLINICIAN, True, ("identity", "consent")),
        (
            "wrap_up",
            Who.CLINICIAN,
            False,
            ("identity", "consent", "assessment", "crisis_rehearsal"),
        ),
    ],
)
def test_default_steps_say_who_may_do_them_and_what_comes_first(
    step_id: str, who: Who, skippable: bool, requires: tuple[str, ...]
) -> None:
    step = DEFAULT.step(step_id)
    assert step is not None
    assert (step.who, step.skippable, step.requires) == (who, skippable, requires)
    assert step.skip_needs_reason
    assert step.title.strip()


def test_who_allows_family_only_on_family_or_either_steps() -> None:
    assert Who.EITHER.allows(Role.FAMILY) and Who.EITHER.allows(Role.CLINICIAN)
    assert not Who.CLINICIAN.allows(Role.FAMILY)
    assert not Who.FAMILY.allows(Role.CLINICIAN)


def test_identity_step_collects_two_identifiers_method_location_and_a_still_reference() -> None:
    step = DEFAULT.step("identity")
    assert step is not None
    assert set(step.fields) == {
        "name_confirmed",
        "birth_date_confirmed",
        "method",
        "location",
        "snapshot_ref",
        "face_present_hint",
    }


def test_consent_step_collects_separate_answers_and_a_privacy_checklist() -> None:
    step = DEFAULT.step("consent")
    assert step is not None
    wanted = {"video_visit", "consenter", "surrogate_name", "relationship", "recording",
              "share_with_family", "privacy_explained", "privacy_points"}  # fmt: skip
    assert wanted <= set(step.fields)
    assert len(step.checklist) >= 3
    assert len({p.point_id for p in step.checklist}) == len(step.checklist)


def test_assessment_step_collects_the_contracts_instruments_under_their_keys() -> None:
    step = DEFAULT.step("assessment")
    assert step is not None
    keys = {use.key: (use.instrument.instrument_id, use.required) for use in step.instruments}
    assert keys == {
        "esas": ("esas_r", True),
        "ecog": ("ecog", False),
        "akps": ("akps", False),
        "four_at": ("four_at", False),
        "painad": ("painad", False),
        "breathlessness_nrs": ("breathlessness_nrs", False),
        "borg": ("modified_borg", False),
        "caregiver": ("caregiver_check", False),
    }
    assert step.fields == ("answered_by",)


def test_every_step_collects_at_least_what_its_kind_requires() -> None:
    for step in DEFAULT.steps:
        assert KIND_FIELDS[step.kind].required <= set(step.fields)


def test_default_template_file_opens_with_a_header_comment_for_clinicians() -> None:
    text = (
        resources.files("encounters.templates")
        .joinpath("home_palliative_visit.toml")
        .read_text(encoding="utf-8")
    )
    assert text.startswith("# Home palliative care video visit")
    assert "# For clinicians" in text.splitlines()[2]


def test_an_unknown_template_id_is_refused() -> None:
    with pytest.raises(DataFileError, match="no shipped template 'nope'"):
        load_template("nope")
    with pytest.raises(DataFileError):
        load_template("../etc/passwd")


SMALL = """\
# A two-step template (test fixture).
id = "short_visit"
version = 1
title = "Short visit"

[[steps]]
id = "consent"
kind = "consent"
title = "Consent"
who = "clinician"
skippable = false
skip_needs_reason = true
requires = []
fields = ["video_visit", "consenter", "recording", "share_with_family", "privacy_explained"]

[[steps]]
id = "assessment"
kind = "assessment"
title = "Symptoms"
who = "either"
skippable = true
skip_needs_reason = false
requires = ["consent"]
fields = ["answered_by"]

[[steps.instruments]]
instrument = "esas_r"
key = "esas"
required = true
"""


def test_a_small_template_loads() -> None:
    template = parse_template(SMALL, "org/short.toml")
    assert template.step_ids == ("consent", "assessment")
    step = template.step("assessment")
    assert step is not None and not step.skip_needs_reason


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


@pytest.mark.parametrize(
    ("old", "new", "needle", "occurrence", "message"),
    [
        ('requires = ["consent"]', 'requires = ["identity"]', 'requires = ["identity"]', 1,
         "requires 'identity', which is not a step here"),
        ('instrument = "esas_r"', 'instrument = "zarit"', 'instrument = "zarit"', 1,
         "instrument 'zarit' is unknown"),
        ('kind = "assessment"', 'kind = "quiz"', 'kind = "quiz"', 1, "kind 'quiz' is unknown"),
        ('requires = []', 'requires = ["assessment"]', 'requires = ["consent"]', 1,
         "cycle: consent -> assessment -> consent"),
        ('requires = ["consent"]', 'requires = ["assessment"]', 'requires = ["assessment"]', 1,
         "cycle: assessment -> assessment"),
        ('id = "assessment"', 'id = "consent"', 'id = "consent"', 2,
         "step id 'consent' is used twice"),
        ('fields = ["answered_by"]', 'fields = ["answered_by", "mood"]', 'fields = ["answered_by"',
         1, "no field 'mood'"),
        ('fields = ["answered_by"]', 'fields = []', 'fields = []', 1, "must collect answered_by"),
        ('who = "either"', 'who = "anyone"', 'who = "anyone"', 1, "who 'anyone' is unknown"),
        ('skippable = true', 'skipable = true', 'skipable = true', 1, "unknown key 'skipable'"),
        ('skippable = true', 'skippable = "yes"', 'skippable = "yes"', 1,
         "'skippable' must be true or false"),
        ('required = true', 'required = true\nkey2 = "x"', 'key2 = "x"', 1, "unknown key 'key2'"),
        ('title = "Symptoms"', 'title = "Symptoms', 'title = "Symptoms', 1, "not valid TOML"),
    ],
)  # fmt: skip
def test_a_malformed_template_is_refused_with_file_and_line(
    old: str, new: str, needle: str, occurrence: int, message: str
) -> None:
    assert old in SMALL
    text = SMALL.replace(old, new, 1)
    with pytest.raises(DataFileError) as refused:
        parse_template(text, "org/short.toml")
    assert message in refused.value.message
    assert refused.value.path == "org/short.toml"
    assert refused.value.line == line_of(text, needle, occurrence)


def test_instruments_on_a_step_that_is_not_an_assessment_are_refused() -> None:
    text = SMALL.replace(
        'privacy_explained"]\n',
        'privacy_explained"]\n\n[[steps.instruments]]\ninstrument = "ecog"\nrequired = false\n',
    )
    with pytest.raises(DataFileError, match="only an assessment step collects instruments"):
        parse_template(text, "bad.toml")


def test_an_assessment_without_instruments_is_refused() -> None:
    text = SMALL.split("[[steps.instruments]]")[0]
    with pytest.raises(DataFileError, match="needs at least one"):
        parse_template(text, "bad.toml")


def test_a_template_may_use_an_organisations_instrument(tmp_path: Path) -> None:
    (tmp_path / "org.toml").write_text(
        "\n".join(
            [
                'id = "org_scale"', 'name = "Org scale"', 'short_name = "Org"', 'version = "1"',
                'source = "Org"', 'licence = "Licensed"', 'acknowledgement = "Used under licence"',
                "[[items]]", 'id = "q1"', 'kind = "integer"', "min = 0", "max = 4",
                'text = "Q1"', "[scoring]", 'method = "none"',
            ]
        ),
        encoding="utf-8",
    )  # fmt: skip
    text = SMALL.replace('required = true\n', 'required = true\n\n[[steps.instruments]]\n'
                         'instrument = "org_scale"\nrequired = false\n')  # fmt: skip
    with pytest.raises(DataFileError, match="instrument 'org_scale' is unknown"):
        parse_template(text, "org/short.toml", load_builtin_instruments())
    template = parse_template(text, "org/short.toml", load_instruments(tmp_path))
    step = template.step("assessment")
    assert step is not None
    use = step.instrument_use("org_scale")
    assert use is not None and use.instrument.instrument_id == "org_scale"


def test_organisation_templates_load_beside_the_default(tmp_path: Path) -> None:
    (tmp_path / "short.toml").write_text(SMALL, encoding="utf-8")
    templates = load_templates(tmp_path)
    assert set(templates) == {"home_palliative_visit", "short_visit"}


def test_an_organisation_template_cannot_reuse_a_template_id(tmp_path: Path) -> None:
    (tmp_path / "clash.toml").write_text(
        SMALL.replace('"short_visit"', '"home_palliative_visit"'), encoding="utf-8"
    )
    with pytest.raises(DataFileError, match="already used") as refused:
        load_templates(tmp_path)
    assert refused.value.line == 2

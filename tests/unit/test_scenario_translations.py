"""The words of the shipped drill scenarios in es, fr and ar, for the family's page and
staff views alike (issue 18)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from encounters.education.model import Origin
from encounters.errors import DataFileError
from encounters.scenarios import PromptEvent, load_builtin_scenarios
from encounters.scenarios.translated import (
    load_builtin_translations,
    parse_translation,
    prompt_translations,
    scenario_in,
    translation_for,
)

LANGUAGES = ("es", "fr", "ar")

GOOD = """\
scenario = "seizure"
language = "es"
origin = "machine_translation"
title = "Una convulsión"
summary = "Un resumen"

[prompts]
onset = "uno"
still_shaking = "dos"
stopped = "tres"

[family_steps]
keep_safe = "a"
time_seizure = "b"
give_rescue_medicine = "c"
recovery_position = "d"
call_hospice_line = "e"

[teach_back]
1 = "primera"
2 = "segunda"
3 = "tercera"
"""


def test_every_shipped_scenario_is_translated_in_full_and_marked_unreviewed() -> None:
    scenarios = load_builtin_scenarios()
    translations = load_builtin_translations()
    for scenario in scenarios.values():
        prompts = {e.event_id for e in scenario.events if isinstance(e, PromptEvent)}
        steps = {s.step_id for s in scenario.expected.family_steps}
        questions = {q.item for q in scenario.teach_back}
        for language in LANGUAGES:
            words = translations[(language, scenario.scenario_id)]
            assert set(words.prompts) == prompts and set(words.family_steps) == steps
            assert set(words.teach_back) == questions
            assert words.title != scenario.title and words.summary != scenario.summary
            # Every question is translated, and no two share one translation.
            assert len(set(words.teach_back.values())) == len(questions)
            assert not questions & set(words.teach_back.values())
            assert words.origin is Origin.MACHINE_TRANSLATION and words.reviewed_by is None


def test_the_family_language_picks_the_words_and_english_or_unknown_falls_back() -> None:
    assert translation_for("es", "seizure") is not None
    assert translation_for("en", "seizure") is None
    assert translation_for("de", "seizure") is None
    assert translation_for("es", "a_coordinators_own") is None
    texts = prompt_translations("expected_death", "stopped")
    assert set(texts) == set(LANGUAGES) and "911" in texts["es"]


def test_a_good_file_parses() -> None:
    words = parse_translation(GOOD, "es/seizure.toml", load_builtin_scenarios(), "es")
    assert words.prompts["onset"] == "uno" and words.family_steps["call_hospice_line"] == "e"
    assert words.summary == "Un resumen"
    # Questions are numbered in the English file's order and looked up by the English text.
    seizure = load_builtin_scenarios()["seizure"]
    assert [words.teach_back[q.item] for q in seizure.teach_back] == [
        "primera",
        "segunda",
        "tercera",
    ]


def test_a_reader_gets_the_scenario_in_their_language_and_english_where_none() -> None:
    seizure = load_builtin_scenarios()["seizure"]
    first = seizure.teach_back[0].item
    spanish = scenario_in("es", seizure)
    assert spanish.language == "es"
    assert (spanish.title, spanish.summary) == (
        "Una convulsión que no se detiene",
        "Las sacudidas empiezan en un brazo, se extienden a todo el cuerpo y siguen "
        "después de 5 minutos.",
    )
    assert spanish.question(first) == "Cuánto tiempo espera antes de dar el medicamento de rescate"
    assert spanish.prompt("still_shaking", "x") == "Ya han pasado 5 minutos y sigue con sacudidas."
    assert spanish.family_step("call_hospice_line", "x").startswith("Llame")
    # A step from the patient's own plan, or a question the file no longer asks: as stored.
    assert spanish.family_step("plan_1", "Call Dr Ng") == "Call Dr Ng"
    assert spanish.question("An older question") == "An older question"
    arabic = scenario_in("ar", seizure)
    assert arabic.question(first) == "كم تنتظر قبل أن تعطي دواء الإنقاذ"
    for language in ("en", "de", None):
        english = scenario_in(language, seizure)
        assert (english.language, english.title, english.question(first)) == (
            "en",
            seizure.title,
            first,
        )
    # A coordinator's own scenario has no translation: its English in every language.
    own = replace(seizure, scenario_id="a_coordinators_own", title="Our own drill")
    assert scenario_in("fr", own).title == "Our own drill"
    assert scenario_in("fr", own).family_step("keep_safe", "Keep her safe") == "Keep her safe"


@pytest.mark.parametrize(
    ("broken", "line", "reason"),
    [
        (GOOD.replace("onset =", "onsett ="), 8, "'onsett' is not a prompt"),
        (GOOD.replace('stopped = "tres"\n', ""), 7, "'stopped' has no translation"),
        (GOOD.replace('keep_safe = "a"', 'keep_safe = ""'), 13, "non-empty"),
        (GOOD.replace('"seizure"', '"fits"'), 1, "not a known scenario"),
        (GOOD.replace('summary = "Un resumen"\n', ""), 4, "'summary' is missing"),
        (GOOD.replace('summary = "Un resumen"', 'summary = " "'), 5, "non-empty"),
        (GOOD.replace('3 = "tercera"', '4 = "cuarta"'), 22, "'4' is not a teach-back question"),
        (GOOD.replace('3 = "tercera"\n', ""), 19, "teach-back question '3' has no translation"),
        (GOOD.replace('2 = "segunda"', f'2 = "{"a" * 201}"'), 21, "at most 200 characters"),
        (GOOD.split("[teach_back]")[0], 1, "[teach_back] is missing"),
        (GOOD.replace("[teach_back]", "[teachback]"), 19, "unknown key 'teachback'"),
    ],
)
def test_a_broken_file_is_refused_with_file_line_and_reason(
    broken: str, line: int, reason: str
) -> None:
    with pytest.raises(DataFileError) as refused:
        parse_translation(broken, "es/seizure.toml", load_builtin_scenarios(), "es")
    assert refused.value.path == "es/seizure.toml"
    assert refused.value.line == line
    assert reason in str(refused.value)

"""The education library: shipped topics, refusals naming file and line, readability per
language, and teach-back points carried over to the next visit."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from encounters.careplan import CrisisType
from encounters.education import Level, Origin, load_builtin_library, load_library, parse_topic
from encounters.errors import DataFileError
from encounters.teach_back import PointResult, comprehension_over_time, points_to_revisit
from server.core.readability import ReadabilityError, measure

PICTURES = {p.name for p in Path("web/static/education").glob("*.svg")}
REQUIRED_TOPICS = {
    "rescue_medicine",
    "medicine_schedule",
    "red_flags",
    "breathlessness",
    "mouth_care",
    "moving_safely",
    "pressure_care",
    "home_devices",
    "last_days",
    "death_at_home",
    "carer_wellbeing",
}

GOOD = """\
id = "hand_washing"
language = "en"
origin = "original"

[[sources]]
organisation = "WHO"
title = "Hand hygiene"

[[teach_back]]
id = "when"
text = "When you wash your hands"
safety_critical = false

[plain]
title = "Washing hands"
summary = "Clean hands stop germs."

[[plain.sections]]
heading = "When"
text = "Wash your hands before you give medicine."

[standard]
title = "Hand hygiene"
summary = "Hand hygiene prevents infection."

[[standard.sections]]
heading = "When"
text = "Wash your hands before and after any care."
"""


def test_ships_every_required_topic_in_english_at_both_levels_with_pictures_that_exist() -> None:
    library = load_builtin_library(PICTURES)
    assert set(library.topic_ids()) >= REQUIRED_TOPICS
    for topic_id in REQUIRED_TOPICS:
        topic = library.get(topic_id, "en")
        assert topic is not None
        assert topic.sources and topic.teach_back
        assert {v.level for v in topic.versions.values()} == set(Level)
    breathless = library.get("breathlessness", "en")
    assert breathless is not None
    assert {p.file for p in breathless.pictures.values()} == {
        "breathless_sitting_forward.svg",
        "breathless_fan.svg",
    }


@pytest.mark.parametrize("language", ["es", "fr", "ar"])
def test_every_required_topic_is_translated_whole_into(language: str) -> None:
    """Each topic in each language at both levels: a translation of the English text, with its
    sections, steps and teach-back points, never an original of its own."""
    library = load_builtin_library(PICTURES)
    for topic_id in REQUIRED_TOPICS:
        topic, english = library.get(topic_id, language), library.get(topic_id, "en")
        assert topic is not None and english is not None, (topic_id, language)
        assert topic.origin in (Origin.MACHINE_TRANSLATION, Origin.HUMAN_TRANSLATION)
        assert [p.point_id for p in topic.teach_back] == [p.point_id for p in english.teach_back]
        for level in Level:
            mine, theirs = topic.version(level), english.version(level)
            assert [len(s.steps) for s in mine.sections] == [
                len(s.steps) for s in theirs.sections
            ], (topic_id, language, level)
            assert [s.picture for s in mine.sections] == [s.picture for s in theirs.sections]
            assert mine.title != theirs.title, "still the English text"
            # Doses are on the action plan, never in a topic, in any language.
            assert not re.search(r"\d\s*(mg|ml)\b", mine.reading_text.lower())


def test_rescue_medicine_names_no_dose() -> None:
    topic = load_builtin_library().get("rescue_medicine", "en")
    assert topic is not None
    for version in topic.versions.values():
        text = version.reading_text.lower()
        assert "the medicine your team prescribed for breakthrough pain" in text
        assert " mg" not in text and " ml" not in text


def test_crisis_plan_suggests_the_topics_behind_it() -> None:
    library = load_builtin_library()
    suggested = library.for_crises({CrisisType.BREATHLESSNESS})
    assert "breathlessness" in suggested and "rescue_medicine" in suggested
    assert "mouth_care" not in suggested


def test_a_bad_file_is_refused_with_file_and_line() -> None:
    bad = GOOD.replace("safety_critical = false", 'safety_critical = "no"')
    with pytest.raises(DataFileError) as caught:
        parse_topic(bad, "team/en/hand_washing.toml")
    assert caught.value.path == "team/en/hand_washing.toml"
    assert caught.value.line == 12
    assert "team/en/hand_washing.toml:12" in str(caught.value)


def test_a_missing_level_is_refused() -> None:
    without_standard = GOOD[: GOOD.index("[standard]")]
    with pytest.raises(DataFileError, match=r"\[standard\] text is missing"):
        parse_topic(without_standard, "t.toml")


def test_a_misspelt_key_is_refused_at_its_line() -> None:
    with pytest.raises(DataFileError) as caught:
        parse_topic(GOOD.replace('heading = "When"\ntext', 'heading = "When"\ntxet', 1), "t.toml")
    assert "unknown key 'txet'" in str(caught.value)
    assert caught.value.line == 20


def test_a_picture_that_is_not_shipped_is_refused() -> None:
    text = GOOD.replace(
        "[[teach_back]]", '[pictures.sink]\nfile = "sink.svg"\nalt = "A sink"\n\n[[teach_back]]'
    )
    with pytest.raises(DataFileError, match="not among the shipped drawings") as caught:
        parse_topic(text, "t.toml", picture_files=PICTURES)
    assert caught.value.line == 10


def test_a_team_directory_adds_topics_and_translations(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hand_washing.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "es").mkdir()
    spanish = GOOD.replace('language = "en"', 'language = "es"').replace(
        'origin = "original"', 'origin = "machine_translation"'
    )
    (tmp_path / "es" / "hand_washing.toml").write_text(spanish, encoding="utf-8")
    library = load_library(tmp_path)
    added = library.get("hand_washing", "es")
    assert added is not None and added.origin is Origin.MACHINE_TRANSLATION
    assert not added.is_reviewed
    assert library.best("hand_washing", "fr").language == "en"


def test_a_translation_must_teach_the_same_points(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hand_washing.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "fr").mkdir()
    french = (
        GOOD.replace('language = "en"', 'language = "fr"')
        .replace('origin = "original"', 'origin = "human_translation"')
        .replace('id = "when"', 'id = "quand"')
    )
    (tmp_path / "fr" / "hand_washing.toml").write_text(french, encoding="utf-8")
    with pytest.raises(DataFileError, match="differ from the English original") as caught:
        load_library(tmp_path)
    assert caught.value.path.endswith("fr/hand_washing.toml")
    assert caught.value.line == 10


def test_a_team_may_not_replace_a_shipped_topic(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "mine.toml").write_text(
        GOOD.replace('id = "hand_washing"', 'id = "mouth_care"'), encoding="utf-8"
    )
    with pytest.raises(DataFileError, match="already written in"):
        load_library(tmp_path)


def test_a_file_in_the_wrong_language_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "hand_washing.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(DataFileError, match="not the folder's"):
        load_library(tmp_path)


# -- readability ------------------------------------------------------------------------------

PLAIN_EN = "Give the medicine. Wait one hour. Call us if the pain stays."
HARD_EN = (
    "Administration of supplementary analgesia necessitates meticulous documentation of "
    "chronological intervals, therapeutic effectiveness and unanticipated physiological "
    "consequences, communicated expeditiously to the multidisciplinary palliative team."
)


def test_english_is_measured_as_a_flesch_kincaid_grade() -> None:
    plain, hard = measure(PLAIN_EN, "en"), measure(HARD_EN, "en")
    assert plain.formula.name.startswith("Flesch–Kincaid")
    assert plain.sentences == 3 and plain.words == 12
    assert plain.meets_plain_target and plain.score < 3
    assert not hard.meets_plain_target and hard.score > 15


def test_spanish_is_measured_with_fernandez_huerta() -> None:
    plain = measure("Dé la medicina. Espere una hora. Llame si el dolor sigue.", "es")
    hard = measure(
        "La administración de analgesia suplementaria requiere documentación meticulosa de "
        "intervalos cronológicos y consecuencias fisiológicas imprevistas.",
        "es",
    )
    assert plain.formula.name == "Fernández-Huerta"
    assert plain.meets_plain_target and not hard.meets_plain_target
    assert plain.score > hard.score


def test_french_is_measured_with_kandel_moles() -> None:
    plain = measure("Donnez le cachet. Attendez une heure. Appelez si la douleur reste.", "fr")
    hard = measure(
        "L'administration d'une analgésie supplémentaire nécessite une documentation "
        "méticuleuse des intervalles chronologiques et des conséquences physiologiques "
        "imprévues, communiquées rapidement à l'équipe pluridisciplinaire.",
        "fr",
    )
    assert plain.formula.name == "Kandel–Moles"
    assert plain.meets_plain_target and not hard.meets_plain_target


def test_arabic_is_measured_with_simplified_osman() -> None:
    plain = measure("أعط الدواء. انتظر ساعة. اتصل بنا إذا بقي الألم.", "ar")
    hard = measure(
        "تستلزم الاستراتيجيات العلاجية المتخصصة استشارات متعددة التخصصات ومتابعات "
        "استقصائية مستمرة للمضاعفات الفيزيولوجية المستجدة وغير المتوقعة إطلاقا",
        "ar",
    )
    assert plain.formula.approximate
    assert plain.score > hard.score
    assert plain.meets_plain_target and not hard.meets_plain_target


def test_a_language_without_a_formula_is_refused() -> None:
    with pytest.raises(ReadabilityError, match="no readability formula"):
        measure("Hallo Welt.", "de")


def test_every_shipped_plain_text_meets_its_target() -> None:
    library = load_builtin_library()
    for (topic_id, language), topic in library.topics.items():
        score = measure(topic.version(Level.PLAIN).reading_text, language)
        assert score.meets_plain_target, (topic_id, language, score.score)


# -- teach-back carry-over --------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=3)


def test_a_point_not_yet_understood_comes_back_and_a_learnt_one_does_not() -> None:
    history = [
        PointResult("breathlessness", "fan_use", "partly", T0),
        PointResult("breathlessness", "positions", "correct", T0),
        PointResult("breathlessness", "pacing", "not_yet", T0),
        PointResult("breathlessness", "pacing", "correct", T1),
    ]
    again = points_to_revisit(history)
    assert [(p.topic_id, p.point_id, p.result) for p in again] == [
        ("breathlessness", "fan_use", "partly")
    ]


def test_a_point_forgotten_after_being_learnt_comes_back() -> None:
    history = [
        PointResult("red_flags", "whom_at_night", "not_yet", T1),
        PointResult("red_flags", "whom_at_night", "correct", T0),
    ]
    assert [p.result for p in points_to_revisit(history)] == ["not_yet"]


def test_comprehension_per_topic_is_a_line_over_sittings() -> None:
    history = [
        PointResult("breathlessness", "fan_use", "partly", T0),
        PointResult("breathlessness", "positions", "not_yet", T0),
        PointResult("breathlessness", "fan_use", "correct", T1),
        PointResult("mouth_care", "how_often", "correct", T1),
    ]
    line = comprehension_over_time(history)
    assert [(p.topic_id, p.at, p.comprehension_pct) for p in line] == [
        ("breathlessness", T0, 25.0),
        ("breathlessness", T1, 100.0),
        ("mouth_care", T1, 100.0),
    ]

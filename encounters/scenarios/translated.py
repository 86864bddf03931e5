"""The words of the shipped drill scenarios in the languages Hearth's pages are in.

Everything a person reads of a scenario is translated: the title, the summary, the prompts,
the first steps and the teach-back questions. The family reads theirs in the family's
language; staff read the title, summary, prompts, steps and teach-back questions in the
language their own page is in. The words live in ``translations/<language>/<scenario id>.toml``,
keyed by the English scenario's event and step ids, and the teach-back questions by their
number in the English file (1 for the first). Every key must match the English scenario
exactly, and every refusal names the file and the line, as the scenario loader's do.
Only the words change with the reader: ids, and what a drill stores, stay the English as
authored. The shipped translations are machine translations until a person who reads the
language reviews them and signs ``reviewed_by``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from encounters.education.model import Origin
from encounters.errors import DataFileError
from encounters.instruments.datafile import TableReader, parse_toml
from encounters.scenarios.loader import PROMPT_MAX_CHARS, load_builtin_scenarios
from encounters.scenarios.model import PromptEvent, Scenario
from encounters.teach_back import TEACH_BACK_ITEM_MAX_CHARS

_PACKAGE = "encounters.scenarios"
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class ScenarioTranslation:
    """One scenario's words in one language."""

    scenario_id: str
    language: str
    origin: Origin
    reviewed_by: str | None
    title: str
    summary: str
    prompts: Mapping[str, str]  # by the English prompt event's id
    family_steps: Mapping[str, str]  # by the English family step's id
    teach_back: Mapping[str, str]  # by the English question, as a drill stores it
    path: str


def parse_translation(
    text: str, path: str, scenarios: Mapping[str, Scenario], folder: str | None = None
) -> ScenarioTranslation:
    """Read one translation file; refuse it with file and line unless every key matches the
    English scenario's prompts, family steps and teach-back questions, none missing and none
    extra."""
    top, _source = parse_toml(text, path)
    top.allow_only(
        "scenario",
        "language",
        "origin",
        "reviewed_by",
        "title",
        "summary",
        "prompts",
        "family_steps",
        "teach_back",
    )
    scenario_id = top.text("scenario")
    scenario = scenarios.get(scenario_id)
    if scenario is None:
        top.fail(f"scenario '{scenario_id}' is not a known scenario", "scenario")
    language = top.text("language")
    if not _LANGUAGE.match(language) or language == SOURCE_LANGUAGE:
        top.fail("'language' must be a two- or three-letter code other than \"en\"", "language")
    if folder is not None and folder != language:
        top.fail(f"language '{language}' does not match its folder '{folder}'", "language")
    origin_text = top.text("origin")
    if origin_text not in (Origin.HUMAN_TRANSLATION.value, Origin.MACHINE_TRANSLATION.value):
        top.fail('origin must be "human_translation" or "machine_translation"', "origin")
    title = top.text("title")
    if not top.has("summary"):
        top.fail("'summary' is missing; add summary = \"...\" below the title", "title")
    summary = top.text("summary")
    prompt_ids = [e.event_id for e in scenario.events if isinstance(e, PromptEvent)]
    prompts = _texts(top, "prompts", prompt_ids, "prompt")
    step_ids = [s.step_id for s in scenario.expected.family_steps]
    steps = _texts(top, "family_steps", step_ids, "family step")
    # A question has no id of its own: it is named by its place in the English file.
    numbers = [str(n) for n in range(1, len(scenario.teach_back) + 1)]
    questions = _texts(top, "teach_back", numbers, "teach-back question", TEACH_BACK_ITEM_MAX_CHARS)
    return ScenarioTranslation(
        scenario_id=scenario_id,
        language=language,
        origin=Origin(origin_text),
        reviewed_by=top.text("reviewed_by", "").strip() or None,
        title=title,
        summary=summary,
        prompts=prompts,
        family_steps=steps,
        teach_back=MappingProxyType(
            {q.item: questions[n] for n, q in zip(numbers, scenario.teach_back, strict=True)}
        ),
        path=path,
    )


def _texts(
    top: TableReader, key: str, ids: list[str], what: str, max_chars: int = PROMPT_MAX_CHARS
) -> Mapping[str, str]:
    reader = top.child(key)
    if reader is None:
        if ids:
            # Nothing to point at: name the scenario line, which says what is translated.
            top.fail(
                f"[{key}] is missing; the scenario has {len(ids)} {what}(s) to translate",
                "scenario",
            )
        return MappingProxyType({})
    for given in reader.table:
        if given not in ids:
            reader.fail(
                f"'{given}' is not a {what} of the English scenario; "
                f"expected: {', '.join(ids) or 'none'}",
                given,
            )
    found: dict[str, str] = {}
    for wanted in ids:
        if not reader.has(wanted):
            reader.fail(f"the {what} '{wanted}' has no translation; add {wanted} = \"...\"")
        value = reader.text(wanted)
        if len(value) > max_chars:
            reader.fail(f"'{wanted}' must be at most {max_chars} characters", wanted)
        found[wanted] = value
    return MappingProxyType(found)


@cache
def load_builtin_translations() -> Mapping[tuple[str, str], ScenarioTranslation]:
    """The shipped translations, by (language, scenario id), read and checked once per
    process against the shipped scenarios."""
    scenarios = load_builtin_scenarios()
    found: dict[tuple[str, str], ScenarioTranslation] = {}
    root = resources.files(_PACKAGE).joinpath("translations")
    for folder in sorted(root.iterdir(), key=lambda e: e.name):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".toml"):
                continue
            path = f"translations/{folder.name}/{entry.name}"
            translation = parse_translation(
                entry.read_text(encoding="utf-8"), path, scenarios, folder.name
            )
            if entry.name != f"{translation.scenario_id}.toml":
                raise DataFileError(
                    f"translates '{translation.scenario_id}'; name the file "
                    f"{translation.scenario_id}.toml",
                    path=path,
                )
            found[(translation.language, translation.scenario_id)] = translation
    return MappingProxyType(found)


def translation_for(language: str | None, scenario_id: str) -> ScenarioTranslation | None:
    """The scenario's words in ``language``; None means show the English."""
    if not language or language == SOURCE_LANGUAGE:
        return None
    return load_builtin_translations().get((language, scenario_id))


@dataclass(frozen=True, slots=True)
class ScenarioWords:
    """A scenario as one reader reads it: each text in their language where a translation
    has it, else the English as authored. Look words up by what a drill stores (event and
    step ids, the English teach-back question); ids and stored records never change."""

    language: str  # the language of the translated words; "en" when there are none
    title: str
    summary: str
    _prompts: Mapping[str, str]
    _steps: Mapping[str, str]
    _questions: Mapping[str, str]

    def prompt(self, event_id: str, english: str) -> str:
        return self._prompts.get(event_id, english)

    def family_step(self, step_id: str, english: str) -> str:
        return self._steps.get(step_id, english)

    def question(self, english: str) -> str:
        return self._questions.get(english, english)


def scenario_in(language: str | None, scenario: Scenario) -> ScenarioWords:
    """The one place a scenario's words are put into a reader's language, for the family's
    page and every staff view alike. ``scenario`` may be the copy a drill stored: a family
    step from the patient's own plan (ids ``plan_1``...) and a question the shipped file no
    longer asks keep their English, as does everything of a scenario without a translation
    (one a coordinator added) or in a language without one."""
    words = translation_for(language, scenario.scenario_id)
    if words is None:
        return ScenarioWords(SOURCE_LANGUAGE, scenario.title, scenario.summary, {}, {}, {})
    return ScenarioWords(
        words.language,
        words.title,
        words.summary,
        words.prompts,
        words.family_steps,
        words.teach_back,
    )


def prompt_translations(scenario_id: str, event_id: str) -> dict[str, str]:
    """A prompt's text in every language it is translated into, by language."""
    return {
        language: words.prompts[event_id]
        for (language, sid), words in load_builtin_translations().items()
        if sid == scenario_id and event_id in words.prompts
    }

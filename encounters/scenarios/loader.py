"""Loading drill scenario files: the shipped ones, and any a coordinator adds.

A coordinator writes a new scenario as a TOML file in the same format and passes its
directory to :func:`load_scenarios`; no code changes. Every refusal names the file and the
line, because the person fixing it is a clinician with a text editor, not a developer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn, TypeVar

from encounters.careplan import CeilingOfCare, CrisisType, Resuscitation
from encounters.detection import Rule
from encounters.diary import DIARY_SCORE_ITEMS, SCORE_MAX, SCORE_MIN, WORRY_MAX_CHARS
from encounters.errors import DataFileError
from encounters.instruments.datafile import DataSource, Number, TableReader, parse_toml
from encounters.readings import KINDS, UNITS, Kind, Reading, ReadingError, check_plausible
from encounters.scenarios.model import (
    DiaryEvent,
    EscalationStep,
    ExpectedResponse,
    FamilyStep,
    PlanNeeds,
    PlanRecord,
    PromptEvent,
    Ramp,
    ReadingEvent,
    Scenario,
    TeachBackQuestion,
    TimelineEvent,
    expand_ramp,
)
from encounters.teach_back import TEACH_BACK_ITEM_MAX_CHARS, TEACH_BACK_MAX_ITEMS

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PACKAGE = "encounters.scenarios"
EVENT_TYPES = ("reading", "prompt", "diary")
# A rehearsal is one sitting; an offset beyond two hours is a typing slip (7200 vs 72000).
SCENARIO_MAX_S = 7200
# A drill player has no use for readings faster than this, and a slower ramp is a step.
RAMP_EVERY_MIN_S = 5
RAMP_SAMPLES_MAX = 200
PROMPT_MAX_CHARS = 1000
_PLAUSIBLE_CHECK_CLIENT_ID = "scenario"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_E = TypeVar("_E", bound=StrEnum)


def parse_scenario(text: str, path: str) -> Scenario:
    """Read one scenario file's text; refuse it with file and line if malformed."""
    top, _source = parse_toml(text, path)
    top.allow_only(
        "id", "title", "crisis", "summary", "events", "expected", "teach_back", "requires"
    )
    scenario_id = _identifier(top, "id")
    title, summary = top.text("title"), top.text("summary")
    crisis_text = top.text("crisis")
    try:
        crisis = CrisisType(crisis_text)
    except ValueError:
        allowed = ", ".join(c.value for c in CrisisType)
        top.fail(f"crisis '{crisis_text}' is unknown; expected one of: {allowed}", "crisis")
    readers = top.children("events")
    if not readers:
        top.fail("a scenario needs at least one [[events]] block: its timeline is empty", "events")
    events: list[TimelineEvent] = []
    seen: set[str] = set()
    previous_at_s = 0
    for reader in readers:
        _allow_event_keys(reader)
        event_id = _identifier(reader, "id")
        if event_id in seen:
            reader.fail(f"event id '{event_id}' is used twice", "id")
        seen.add(event_id)
        at_s = _offset(reader, "at_s")
        # The file reads as a script, top to bottom; an event placed above an earlier one
        # is almost always a slip that would silently reorder the drill.
        if at_s < previous_at_s:
            reader.fail(
                f"event '{event_id}' at {at_s} s comes after one at {previous_at_s} s; "
                "list events in time order",
                "at_s",
            )
        previous_at_s = at_s
        events.extend(_event(reader, event_id, at_s))
    expected_reader = top.child("expected")
    return Scenario(
        scenario_id=scenario_id,
        title=title,
        crisis=crisis,
        summary=summary,
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        expected=ExpectedResponse() if expected_reader is None else _expected(expected_reader),
        teach_back=_teach_back(top),
        path=path,
        plan_needs=_requires(top.child("requires")),
    )


@cache
def load_builtin_scenarios() -> Mapping[str, Scenario]:
    """The scenarios Hearth ships, by id, read from the package's data files once per
    process: they are part of the installed package and cannot change while it runs."""
    found: dict[str, Scenario] = {}
    for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _add(found, entry.read_text(encoding="utf-8"), entry.name)
    return MappingProxyType(found)


def load_scenarios(extra_dir: Path | None = None) -> Mapping[str, Scenario]:
    """The shipped scenarios plus every ``*.toml`` in ``extra_dir``, by id.

    An extra file may not reuse an id: two drills of one name would make past drill
    reports ambiguous. A coordinator who wants a variant copies the file under a new id.
    """
    found = dict(load_builtin_scenarios())
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise DataFileError("is not a directory of scenario files", path=str(extra_dir))
        for path in sorted(extra_dir.glob("*.toml")):
            _add(found, path.read_text(encoding="utf-8"), str(path))
    return MappingProxyType(found)


def check_against_ladder(scenario: Scenario, tier_numbers: Collection[int]) -> None:
    """Refuse a scenario whose expected escalation names a tier the patient's ladder lacks.

    Pass the tiers of the ladder in effect (``careplan.ladder_in_effect``): a ladder capped
    by the ceiling of care has no emergency tier, and a drill expecting one would teach the
    family to call emergency services against the plan.
    """
    known = sorted(set(tier_numbers))
    for step in scenario.expected.escalation:
        if step.tier not in known:
            raise DataFileError(
                f"expected tier {step.tier} is not on this patient's escalation ladder "
                f"(tiers: {', '.join(map(str, known)) or 'none'})",
                path=scenario.path,
                line=step.line,
            )


def _add(found: dict[str, Scenario], text: str, path: str) -> None:
    scenario = parse_scenario(text, path)
    previous = found.get(scenario.scenario_id)
    if previous is not None:
        DataSource(text, path).fail(
            f"scenario id '{scenario.scenario_id}' is already used by {previous.path}", ("id",)
        )
    found[scenario.scenario_id] = scenario


def _identifier(reader: TableReader, key: str) -> str:
    value = reader.text(key)
    if not _ID.match(value):
        reader.fail(
            f"'{key}' must be lower-case letters, digits and underscores, starting with a letter",
            key,
        )
    return value


def _offset(reader: TableReader, key: str, low: int = 0) -> int:
    value = reader.integer(key)
    if not low <= value <= SCENARIO_MAX_S:
        reader.fail(f"'{key}' must be from {low} to {SCENARIO_MAX_S} seconds; got {value}", key)
    return value


def _allow_event_keys(reader: TableReader) -> None:
    # Checked before any value is read, so a misspelt key is reported as itself rather
    # than as the key it was meant to be going missing.
    event_type = reader.text("type")
    if event_type not in EVENT_TYPES:
        reader.fail(
            f"event type '{event_type}' is unknown; expected one of: {', '.join(EVENT_TYPES)}",
            "type",
        )
    common = ("id", "type", "at_s")
    if event_type == "prompt":
        reader.allow_only(*common, "text")
    elif event_type == "diary":
        reader.allow_only(*common, "items", "worry")
    elif reader.has("from"):
        reader.allow_only(*common, "kind", "unit", "from", "to", "over_s", "every_s")
    else:
        reader.allow_only(*common, "kind", "unit", "value", "value2")


def _event(reader: TableReader, event_id: str, at_s: int) -> tuple[TimelineEvent, ...]:
    event_type = reader.text("type")
    if event_type == "prompt":
        text = reader.text("text")
        if len(text) > PROMPT_MAX_CHARS:
            reader.fail(f"'text' must be at most {PROMPT_MAX_CHARS} characters", "text")
        return (PromptEvent(event_id, at_s, text),)
    if event_type == "diary":
        return (_diary(reader, event_id, at_s),)
    return _reading(reader, event_id, at_s)


def _diary(reader: TableReader, event_id: str, at_s: int) -> DiaryEvent:
    items = reader.child("items")
    scores: dict[str, int] = {}
    if items is not None:
        for item in items.table:
            if item not in DIARY_SCORE_ITEMS:
                expected = ", ".join(sorted(DIARY_SCORE_ITEMS))
                items.fail(f"diary item '{item}' is unknown; expected one of: {expected}", item)
            score = items.integer(item)
            if not SCORE_MIN <= score <= SCORE_MAX:
                items.fail(f"diary item '{item}' must be from {SCORE_MIN} to {SCORE_MAX}", item)
            scores[item] = score
    worry = reader.text("worry", "") or None
    if worry is not None and len(worry) > WORRY_MAX_CHARS:
        reader.fail(f"'worry' must be at most {WORRY_MAX_CHARS} characters", "worry")
    if not scores and worry is None:
        reader.fail("a diary event needs 'items' or a 'worry', as a real check-in does", "type")
    return DiaryEvent(event_id, at_s, MappingProxyType(scores), worry)


def _reading(reader: TableReader, event_id: str, at_s: int) -> tuple[ReadingEvent, ...]:
    is_ramp = reader.has("from")
    kind_text = reader.text("kind")
    if kind_text not in KINDS:
        reader.fail(
            f"reading kind '{kind_text}' is unknown; expected one of: {', '.join(KINDS)}", "kind"
        )
    kind: Kind = next(k for k in KINDS if k == kind_text)
    unit = reader.text("unit")
    if unit != UNITS[kind]:
        reader.fail(f"unit '{unit}' is wrong for {kind}; it is read in '{UNITS[kind]}'", "unit")
    if not is_ramp:
        value2: float | None = None
        if kind == "blood_pressure":
            value2 = float(reader.number("value2"))
        elif reader.has("value2"):
            reader.fail("only a blood_pressure reading has 'value2' (the diastolic)", "value2")
        reading = ReadingEvent(event_id, at_s, kind, float(reader.number("value")), unit, value2)
        _check_plausible(reader, reading, "value")
        return (reading,)
    if kind == "blood_pressure":
        reader.fail("a blood_pressure reading cannot ramp; write single readings", "from")
    ramp = Ramp(
        event_id=event_id,
        at_s=at_s,
        kind=kind,
        unit=unit,
        start=reader.number("from"),
        end=_number(reader, "to"),
        over_s=_offset(reader, "over_s", low=1),
        every_s=_offset(reader, "every_s", low=RAMP_EVERY_MIN_S),
    )
    if ramp.over_s % ramp.every_s:
        reader.fail(
            f"'over_s' ({ramp.over_s}) must be a whole number of 'every_s' ({ramp.every_s}), "
            "so the ramp ends on its 'to' value",
            "over_s",
        )
    if ramp.over_s // ramp.every_s + 1 > RAMP_SAMPLES_MAX:
        reader.fail(f"a ramp may give at most {RAMP_SAMPLES_MAX} readings", "every_s")
    if at_s + ramp.over_s > SCENARIO_MAX_S:
        reader.fail(f"the ramp runs past {SCENARIO_MAX_S} seconds", "over_s")
    # A straight line stays between its ends, so checking both ends checks every sample.
    readings = expand_ramp(ramp)
    _check_plausible(reader, readings[0], "from")
    _check_plausible(reader, readings[-1], "to")
    return readings


def _number(reader: TableReader, key: str) -> Number:
    if not reader.has(key):
        reader.fail(f"'{key}' is missing; a ramp needs from, to, over_s and every_s", key)
    return reader.number(key)


def _check_plausible(reader: TableReader, event: ReadingEvent, key: str) -> None:
    # The readings table is the one source of physical limits; reuse it through a Reading.
    # taken_at is irrelevant to plausibility, so a fixed instant stands in for it.
    reading = Reading(
        client_id=_PLAUSIBLE_CHECK_CLIENT_ID,
        kind=event.kind,
        value=event.value,
        unit=event.unit,
        source="simulator",
        taken_at=_EPOCH,
        value2=event.value2,
    )
    try:
        check_plausible(reading)
    except ReadingError as error:
        _refuse_reading(reader, error, key)


def _refuse_reading(reader: TableReader, error: ReadingError, key: str) -> NoReturn:
    place = "value2" if error.field == "value.diastolic" else key
    reader.fail(f"reading is outside the physical range: {error.message}", place)


def _expected(reader: TableReader) -> ExpectedResponse:
    reader.allow_only("alert_rules", "escalation", "family_steps")
    rules: list[Rule] = []
    for name in reader.texts("alert_rules"):
        try:
            rules.append(Rule(name))
        except ValueError:
            allowed = ", ".join(r.value for r in Rule)
            reader.fail(
                f"alert rule '{name}' is unknown; expected one of: {allowed}", "alert_rules"
            )
    steps: list[EscalationStep] = []
    for step in reader.children("escalation"):
        step.allow_only("tier")
        tier = step.integer("tier")
        if tier < 1:
            step.fail(
                f"'tier' must be 1 or more (ladder tiers are numbered from 1); got {tier}", "tier"
            )
        steps.append(EscalationStep(tier, line=step.source.line_of((*step.where, "tier"))))
    for earlier, later in pairwise(steps):
        if later.tier <= earlier.tier:
            raise DataFileError(
                "expected escalation tiers must increase, in call order",
                path=reader.source.path,
                line=later.line,
            )
    family: list[FamilyStep] = []
    for step in reader.children("family_steps"):
        step.allow_only("id", "text")
        family_step = FamilyStep(_identifier(step, "id"), step.text("text"))
        if any(f.step_id == family_step.step_id for f in family):
            step.fail(f"family step id '{family_step.step_id}' is used twice", "id")
        family.append(family_step)
    return ExpectedResponse(tuple(rules), tuple(steps), tuple(family))


def _requires(reader: TableReader | None) -> PlanNeeds:
    """The care plan the scenario is written for: ``[requires]`` with any of
    ``resuscitation``, ``ceiling_of_care`` and ``documented`` (lists of the plan's values)."""
    if reader is None:
        return PlanNeeds()
    reader.allow_only("resuscitation", "ceiling_of_care", "documented")
    return PlanNeeds(
        resuscitation=_choices(reader, "resuscitation", Resuscitation),
        ceiling_of_care=_choices(reader, "ceiling_of_care", CeilingOfCare),
        documented=_choices(reader, "documented", PlanRecord),
    )


def _choices(reader: TableReader, key: str, kind: type[_E]) -> tuple[_E, ...]:
    found: list[_E] = []
    for name in reader.texts(key):
        try:
            found.append(kind(name))
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            reader.fail(f"{key} '{name}' is unknown; expected one of: {allowed}", key)
    return tuple(found)


def _teach_back(top: TableReader) -> tuple[TeachBackQuestion, ...]:
    readers = top.children("teach_back")
    if len(readers) > TEACH_BACK_MAX_ITEMS:
        top.fail(f"at most {TEACH_BACK_MAX_ITEMS} teach-back questions", "teach_back")
    questions: list[TeachBackQuestion] = []
    for reader in readers:
        reader.allow_only("item", "safety_critical")
        item = reader.text("item")
        if len(item) > TEACH_BACK_ITEM_MAX_CHARS:
            reader.fail(f"'item' must be at most {TEACH_BACK_ITEM_MAX_CHARS} characters", "item")
        if any(q.item == item for q in questions):
            reader.fail("this teach-back item is listed twice", "item")
        questions.append(TeachBackQuestion(item, reader.boolean("safety_critical", False)))
    return tuple(questions)

"""Per-step answer rules: what each kind of step accepts, and how partial answers merge.

Answers arrive as JSON. ``check_partial`` validates the values an ``answer``
event carries (each is committed as entered); ``check_complete`` validates the
whole set when the step is completed (the least each step accepts is listed
in docs/api.md). Both return plain JSON values, normalised: a modified Borg answer
becomes its exact decimal text ("0.5"), so storage never rounds it.
Messages name the field and what it expects and never repeat free text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from encounters.errors import ValidationError
from encounters.instruments import (
    Answer,
    InstrumentScore,
    check_answers,
    score_answers,
)
from encounters.instruments.scoring import shown_key
from encounters.teach_back import check_teach_back, merge_teach_back
from encounters.templates import KIND_FIELDS, InstrumentUse, Step, StepKind

LOCATION_MAX_CHARS = 500
NAME_MAX_CHARS = 200
REFERENCE_MAX_CHARS = 200
SCENARIO_MAX_CHARS = 100
PLAN_MAX_CHARS = 20_000
SHARED_WITH_MAX_PEOPLE = 20

IDENTITY_METHODS = ("photo_id", "known_to_clinician", "family_vouched")
CONSENTERS = ("patient", "surrogate")
CONSENT_FORMS = ("verbal", "written")
# Who answered the symptom questions: the ESAS-r form's "completed by" boxes
# in the API's words (docs/api.md), plus the form's "caregiver-assisted".
ANSWERED_BY = ("patient", "family", "clinician", "caregiver_assisted")


def _bool(value: object, field: str, step: Step) -> object:
    if not isinstance(value, bool):
        raise ValidationError(f"Field '{field}' must be true or false.", field=field)
    return value


def _text(max_chars: int) -> Callable[[object, str, Step], object]:
    def check(value: object, field: str, step: Step) -> object:
        if not isinstance(value, str) or not value.strip() or len(value) > max_chars:
            raise ValidationError(
                f"Field '{field}' must be a text of 1 to {max_chars} characters.", field=field
            )
        return value

    return check


def _choice(allowed: tuple[str, ...]) -> Callable[[object, str, Step], object]:
    def check(value: object, field: str, step: Step) -> object:
        if not isinstance(value, str) or value not in allowed:
            raise ValidationError(
                f"Field '{field}' must be one of: {', '.join(allowed)}.", field=field
            )
        return value

    return check


def _names(value: object, field: str, step: Step) -> object:
    if (
        not isinstance(value, list)
        or len(value) > SHARED_WITH_MAX_PEOPLE
        or not all(isinstance(v, str) and v.strip() and len(v) <= NAME_MAX_CHARS for v in value)
    ):
        raise ValidationError(
            f"Field '{field}' must be a list of up to {SHARED_WITH_MAX_PEOPLE} names, "
            f"each 1 to {NAME_MAX_CHARS} characters.",
            field=field,
        )
    return list(value)


def _privacy_points(value: object, field: str, step: Step) -> object:
    allowed = [point.point_id for point in step.checklist]
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) and v in allowed for v in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(
            f"Field '{field}' must list checklist points without repeats, from: "
            f"{', '.join(allowed) or '(this step has no checklist)'}.",
            field=field,
        )
    return list(value)


_FIELD_CHECKS: Mapping[str, Callable[[object, str, Step], object]] = {
    "name_confirmed": _bool,
    "birth_date_confirmed": _bool,
    "method": _choice(IDENTITY_METHODS),
    "location": _text(LOCATION_MAX_CHARS),
    "snapshot_ref": _text(REFERENCE_MAX_CHARS),
    "face_present_hint": _bool,
    "video_visit": _bool,
    "form": _choice(CONSENT_FORMS),
    "consenter": _choice(CONSENTERS),
    "surrogate_name": _text(NAME_MAX_CHARS),
    "relationship": _text(NAME_MAX_CHARS),
    "recording": _bool,
    "share_with_family": _bool,
    "shared_with": _names,
    "privacy_explained": _bool,
    "privacy_points": _privacy_points,
    "answered_by": _choice(ANSWERED_BY),
    "plan_reviewed": _bool,
    "scenario": _text(SCENARIO_MAX_CHARS),
    "teach_back": lambda value, field, step: check_teach_back(value, field),
    "plan": _text(PLAN_MAX_CHARS),
}


def _as_json(answer: Answer) -> object:
    # Decimal is not JSON; its exact text is ("0.5" stays 0.5, never 0.49999…).
    return str(answer) if isinstance(answer, Decimal) else answer


def _check_instrument(step: Step, key: str, value: object, *, complete: bool) -> object:
    use = step.instrument_use(key)
    assert use is not None
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"'{key}' must be an object of {use.instrument.short_name} item ids to answers; "
            f"items: {', '.join(use.instrument.item_ids)}.",
            field=key,
        )
    # check_answers refuses unknown item ids and passes over None (not answered).
    checked = check_answers(use.instrument, value, complete=complete, field=f"{key}.")
    result: dict[str, object] = {k: _as_json(v) for k, v in checked.items()}
    if not complete:
        # In an ``answer`` event, None clears that item's stored answer.
        result.update({str(k): None for k, v in value.items() if v is None})
    return result


def check_partial(step: Step, answers: object) -> dict[str, object]:
    """Validate the values an ``answer`` event carries; ``None`` means "clear this answer"."""
    if not isinstance(answers, Mapping):
        raise ValidationError(
            "Answers must be an object of field names to values.", field="answers"
        )
    checked: dict[str, object] = {}
    for key, value in answers.items():
        if not isinstance(key, str):
            raise ValidationError("Answer field names must be texts.", field="answers")
        if step.instrument_use(key) is not None:
            checked[key] = _check_instrument(step, key, value, complete=False)
        elif key in step.fields:
            checked[key] = None if value is None else _FIELD_CHECKS[key](value, key, step)
        else:
            known = [*step.fields, *(use.key for use in step.instruments)]
            raise ValidationError(
                f"Step '{step.step_id}' has no field '{shown_key(key)}'; fields: "
                f"{', '.join(known)}.",
                field=shown_key(key),
            )
    return checked


def merge_answers(
    step: Step, stored: Mapping[str, object], new: Mapping[str, object]
) -> dict[str, object]:
    """Stored answers updated with checked new ones: ``None`` clears, instruments merge by item."""
    merged: dict[str, object] = dict(stored)
    for key, value in new.items():
        old = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif step.instrument_use(key) is not None and isinstance(value, Mapping):
            items = dict(old) if isinstance(old, Mapping) else {}
            for item_id, answer in value.items():
                if answer is None:
                    items.pop(item_id, None)
                else:
                    items[item_id] = answer
            if items:
                merged[key] = items
            else:
                merged.pop(key, None)
        elif key == "teach_back" and isinstance(value, list):
            merged[key] = merge_teach_back(old, value)
        else:
            merged[key] = value
    return merged


def check_complete(step: Step, answers: Mapping[str, object]) -> dict[str, object]:
    """Validate the full answer set of ``step``; returns it normalised."""
    checked = check_partial(step, answers)
    present = {k: v for k, v in checked.items() if v is not None}
    for field in sorted(KIND_FIELDS[step.kind].required):
        if field not in present:
            raise ValidationError(
                f"Step '{step.step_id}' cannot be completed without '{field}'.", field=field
            )
    for use in step.instruments:
        if use.key in present:
            present[use.key] = _check_instrument(step, use.key, present[use.key], complete=True)
        elif use.required:
            raise ValidationError(
                f"Step '{step.step_id}' cannot be completed without the "
                f"{use.instrument.short_name} answers ('{use.key}').",
                field=use.key,
            )
    _KIND_RULES.get(step.kind, _no_rule)(present)
    return present


def _no_rule(answers: Mapping[str, object]) -> None:
    return None


def _must_be_true(answers: Mapping[str, object], field: str, why: str) -> None:
    if answers.get(field) is not True:
        raise ValidationError(f"'{field}' must be true to complete this step: {why}.", field=field)


def _identity_rule(answers: Mapping[str, object]) -> None:
    _must_be_true(answers, "name_confirmed", "the full name must match the record")
    _must_be_true(answers, "birth_date_confirmed", "the date of birth must match the record")


def _consent_rule(answers: Mapping[str, object]) -> None:
    _must_be_true(answers, "video_visit", "a video visit needs consent to the video visit")
    _must_be_true(answers, "privacy_explained", "the privacy points must be explained")
    surrogate = answers.get("consenter") == "surrogate"
    for field in ("surrogate_name", "relationship"):
        if surrogate and field not in answers:
            raise ValidationError(
                f"Consent by a surrogate needs '{field}'.",
                field=field,
            )
        if not surrogate and field in answers:
            raise ValidationError(
                f"'{field}' is recorded only when the consenter is a surrogate; clear it "
                "(send null) or set consenter to surrogate.",
                field=field,
            )
    if "shared_with" in answers and answers.get("share_with_family") is not True:
        raise ValidationError(
            "'shared_with' is recorded only when share_with_family is true.",
            field="shared_with",
        )


_KIND_RULES: Mapping[StepKind, Callable[[Mapping[str, object]], None]] = {
    StepKind.IDENTITY: _identity_rule,
    StepKind.CONSENT: _consent_rule,
}


def score_assessment(step: Step, answers: Mapping[str, object]) -> dict[str, InstrumentScore]:
    """Every answered instrument's score, by answer key, from a complete answer set."""
    scores: dict[str, InstrumentScore] = {}
    for use in step.instruments:
        given = answers.get(use.key)
        if isinstance(given, Mapping):
            checked = check_answers(use.instrument, given, complete=True, field=f"{use.key}.")
            scores[use.key] = score_answers(use.instrument, checked)
    return scores


def stored_instrument_answers(
    use: InstrumentUse, answers: Mapping[str, object]
) -> dict[str, Answer] | None:
    """One instrument's answers out of a step's stored answers, as the instrument's own values.

    Stored answers are JSON, so a modified Borg answer is its exact decimal text ("0.5"); this
    gives it back as the data file's Decimal, checked as when it was entered. None when the
    step holds no answers to ``use``.
    """
    given = answers.get(use.key)
    if not isinstance(given, Mapping):
        return None
    return check_answers(use.instrument, given, complete=False, field=f"{use.key}.")

"""Checking answers against an instrument and scoring a complete set.

Every answer must be one of the item's allowed values exactly: ESAS-r 4.5 or
11, 4AT item 2 = 3 and Borg 0.7 are refused rather than rounded or clamped,
because a silently changed symptom score is worse than a question asked again.
Messages name the item and the allowed values, and echo the sent value only
when it is a number (free text may be patient data).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from encounters.errors import ValidationError
from encounters.instruments.model import (
    Answer,
    Instrument,
    InstrumentScore,
    Item,
    ItemKind,
    Number,
    ScoringMethod,
)

_SHOWN_KEY_CHARS = 40


def shown_key(key: object) -> str:
    """A caller-sent key, shortened, for a message (keys are field names, not data)."""
    text = str(key)
    return text if len(text) <= _SHOWN_KEY_CHARS else text[:_SHOWN_KEY_CHARS] + "…"


def _refuse(instrument: Instrument, item: Item, value: object, field: str) -> ValidationError:
    sent = ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        sent = f"; got {value}"
    elif isinstance(value, bool):
        sent = f"; got {str(value).lower()}"
    return ValidationError(
        f"{instrument.short_name} item '{item.item_id}' must be {item.describe_allowed()}{sent}.",
        field=field,
    )


def check_item_answer(instrument: Instrument, item: Item, value: object, field: str) -> Answer:
    """The validated (normalised) answer to one item, or a ValidationError."""
    if item.kind is ItemKind.INTEGER:
        if isinstance(value, int) and not isinstance(value, bool) and value in item.values:
            return value
    elif item.kind is ItemKind.DECIMAL:
        number = _as_decimal(value)
        if number is not None:
            for allowed in item.values:
                if allowed == number:
                    # The data file's own value, so 1.0 and "1" are stored alike.
                    return allowed
    elif item.kind is ItemKind.CHOICE:
        if isinstance(value, str) and item.option(value) is not None:
            return value
    elif item.kind is ItemKind.BOOLEAN:
        if isinstance(value, bool):
            return value
    elif isinstance(value, str) and value.strip():
        assert item.max_length_chars is not None
        if len(value) <= item.max_length_chars:
            return value
    raise _refuse(instrument, item, value, field)


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # The shortest text of a float is what the sender typed (0.5, not 0.5000…).
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def check_answers(
    instrument: Instrument,
    answers: object,
    *,
    complete: bool,
    field: str = "",
) -> dict[str, Answer]:
    """Validate answers to ``instrument``; with ``complete``, also that none is missing.

    ``None`` counts as not answered. ``field`` prefixes the field named in errors
    (e.g. ``"esas."``). Returns the answers normalised (Borg values as Decimal).
    """
    if not isinstance(answers, Mapping):
        raise ValidationError(
            f"{instrument.short_name} answers must be an object of item ids to answers; "
            f"items: {', '.join(instrument.item_ids)}.",
            field=field.rstrip(".") or None,
        )
    checked: dict[str, Answer] = {}
    for key, value in answers.items():
        item = instrument.item(key) if isinstance(key, str) else None
        if item is None:
            raise ValidationError(
                f"{instrument.short_name} has no item '{shown_key(key)}'; "
                f"items: {', '.join(instrument.item_ids)}.",
                field=f"{field}{shown_key(key)}",
            )
        if value is not None:
            checked[item.item_id] = check_item_answer(
                instrument, item, value, f"{field}{item.item_id}"
            )
    if complete:
        _check_complete(instrument, checked, field)
    return checked


def _check_complete(instrument: Instrument, checked: Mapping[str, Answer], field: str) -> None:
    for item in instrument.items:
        if item.required and item.item_id not in checked:
            raise ValidationError(
                f"{instrument.short_name} item '{item.item_id}' is missing; "
                f"it must be {item.describe_allowed()}.",
                field=f"{field}{item.item_id}",
            )
        if item.item_id in checked:
            for needed in item.needs:
                if needed not in checked:
                    raise ValidationError(
                        f"{instrument.short_name} item '{needed}' is needed when "
                        f"'{item.item_id}' is answered.",
                        field=f"{field}{needed}",
                    )


def item_score(item: Item, answer: Answer) -> Number | None:
    """The number an answer contributes to a total, or None for unscored answers."""
    if item.is_numeric and isinstance(answer, int | Decimal) and not isinstance(answer, bool):
        return answer
    if item.kind is ItemKind.CHOICE and isinstance(answer, str):
        option = item.option(answer)
        return option.score if option is not None else None
    return None


def _sum(
    instrument: Instrument, answers: Mapping[str, Answer], item_ids: tuple[str, ...]
) -> Number:
    total: Number = 0
    for item_id in item_ids:
        item = instrument.item(item_id)
        answer = answers.get(item_id)
        score = None if item is None or answer is None else item_score(item, answer)
        if score is None:
            raise ValidationError(
                f"{instrument.short_name} cannot be scored: item '{item_id}' is not answered.",
                field=item_id,
            )
        total = total + score
    return total


def score_answers(instrument: Instrument, answers: Mapping[str, Answer]) -> InstrumentScore:
    """Score a complete, validated set of answers (see :func:`check_answers`)."""
    scoring = instrument.scoring
    if scoring.method is ScoringMethod.NONE:
        return InstrumentScore(instrument_id=instrument.instrument_id, total=None)
    total = _sum(instrument, answers, scoring.items)
    subscores = {s.subscore_id: _sum(instrument, answers, s.items) for s in scoring.subscores}
    band = next((b for b in scoring.bands if b.contains(total)), None)
    return InstrumentScore(
        instrument_id=instrument.instrument_id,
        total=total,
        band=band.code if band else None,
        band_label=band.label if band else None,
        band_validated=scoring.bands_validated if scoring.bands else None,
        subscores=MappingProxyType(subscores),
    )

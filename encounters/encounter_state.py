"""The state of one encounter's workflow, and its plain-JSON form for storage.

States are frozen all the way down: answers are kept as read-only mappings and
tuples, so no caller can change a state in place and a refused event can never
have changed anything. ``state_to_dict`` / ``state_from_dict`` round-trip exactly;
decimal totals (modified Borg) are written as their exact text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from encounters.errors import ValidationError
from encounters.instruments import InstrumentScore, Number
from encounters.teach_back import TeachBackScore
from encounters.templates import Role, StepKind

STATE_FORMAT_VERSION = 1

JsonValue = None | bool | int | float | str | tuple["JsonValue", ...] | Mapping[str, "JsonValue"]


class EncounterStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class StepStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    SKIPPED = "skipped"

    @property
    def is_done(self) -> bool:
        return self is not StepStatus.OPEN


def freeze(value: object) -> JsonValue:
    """A read-only copy of a JSON value (objects become mappings, lists tuples)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    raise ValidationError(f"A {type(value).__name__} is not a JSON value.", field="answers")


def thaw(value: JsonValue) -> object:
    """The plain JSON (dicts and lists) of a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def _empty() -> Mapping[str, JsonValue]:
    return MappingProxyType({})


def _no_scores() -> Mapping[str, InstrumentScore]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Actor:
    role: Role
    actor_id: str


@dataclass(frozen=True)
class StepState:
    step_id: str
    kind: StepKind
    status: StepStatus = StepStatus.OPEN
    answers: Mapping[str, JsonValue] = field(default_factory=_empty)
    answered_at: datetime | None = None
    done_by: Actor | None = None
    done_at: datetime | None = None
    skip_reason: str | None = None
    scores: Mapping[str, InstrumentScore] = field(default_factory=_no_scores)
    teach_back: TeachBackScore | None = None


@dataclass(frozen=True)
class Reopening:
    step_id: str
    reason: str
    by: Actor
    at: datetime


@dataclass(frozen=True)
class EncounterState:
    template_id: str
    template_version: int
    status: EncounterStatus
    steps: tuple[StepState, ...]
    started_by: Actor | None = None
    started_at: datetime | None = None
    finished_by: Actor | None = None
    finished_at: datetime | None = None
    reopenings: tuple[Reopening, ...] = ()
    last_event_at: datetime | None = None

    def step(self, step_id: str) -> StepState | None:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        return None


# --- to plain JSON ---------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _actor(actor: Actor | None) -> dict[str, str] | None:
    return None if actor is None else {"role": actor.role.value, "id": actor.actor_id}


def _number(value: Number | None) -> int | str | None:
    return str(value) if isinstance(value, Decimal) else value


def _score_to_dict(score: InstrumentScore) -> dict[str, object]:
    return {
        "instrument": score.instrument_id,
        "total": _number(score.total),
        "band": score.band,
        "band_label": score.band_label,
        "band_validated": score.band_validated,
        "subscores": {k: _number(v) for k, v in score.subscores.items()},
    }


def _teach_back_to_dict(score: TeachBackScore | None) -> dict[str, object] | None:
    if score is None:
        return None
    return {
        "points": score.points,
        "max_points": score.max_points,
        "comprehension_pct": score.comprehension_pct,
        "first_attempt_correct_pct": score.first_attempt_correct_pct,
        "items": score.items,
        "safety_critical_items": score.safety_critical_items,
        "mastery": score.mastery,
    }


def _step_to_dict(step: StepState) -> dict[str, object]:
    return {
        "step": step.step_id,
        "kind": step.kind.value,
        "status": step.status.value,
        "answers": thaw(step.answers),
        "answered_at": _time(step.answered_at),
        "done_by": _actor(step.done_by),
        "done_at": _time(step.done_at),
        "skip_reason": step.skip_reason,
        "scores": {key: _score_to_dict(score) for key, score in step.scores.items()},
        "teach_back": _teach_back_to_dict(step.teach_back),
    }


def state_to_dict(state: EncounterState) -> dict[str, object]:
    """A plain dict of ``state`` that ``json.dumps`` accepts, for storage and the API."""
    return {
        "format": STATE_FORMAT_VERSION,
        "template": state.template_id,
        "template_version": state.template_version,
        "status": state.status.value,
        "started_by": _actor(state.started_by),
        "started_at": _time(state.started_at),
        "finished_by": _actor(state.finished_by),
        "finished_at": _time(state.finished_at),
        "last_event_at": _time(state.last_event_at),
        "steps": [_step_to_dict(step) for step in state.steps],
        "reopenings": [
            {"step": r.step_id, "reason": r.reason, "by": _actor(r.by), "at": _time(r.at)}
            for r in state.reopenings
        ],
    }


# --- from plain JSON -------------------------------------------------------------------

_T = TypeVar("_T")


def _bad(where: str, expected: str) -> ValidationError:
    return ValidationError(f"Stored state field '{where}' must be {expected}.", field=where)


def _get(data: Mapping[str, object], key: str, kind: type[_T], where: str) -> _T:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _bad(f"{where}{key}", kind.__name__)
    return value


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _bad(where, "an object")
    return value


def _opt_str(data: Mapping[str, object], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _get(data, key, str, where)


def _opt_time(data: Mapping[str, object], key: str, where: str) -> datetime | None:
    text = _opt_str(data, key, where)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"{where}{key}", "an ISO-8601 time") from None
    if value.tzinfo is None:
        raise _bad(f"{where}{key}", "an ISO-8601 time with its UTC offset")
    return value.astimezone(UTC)


def _opt_actor(data: Mapping[str, object], key: str, where: str) -> Actor | None:
    value = data.get(key)
    if value is None:
        return None
    actor = _mapping(value, f"{where}{key}")
    try:
        role = Role(_get(actor, "role", str, f"{where}{key}."))
    except ValueError:
        raise _bad(f"{where}{key}.role", "clinician or family") from None
    return Actor(role=role, actor_id=_get(actor, "id", str, f"{where}{key}."))


def _opt_number(value: object, where: str) -> Number | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    raise _bad(where, "a whole number or a decimal text")


def _score_from(value: object, where: str) -> InstrumentScore:
    data = _mapping(value, where)
    validated = data.get("band_validated")
    if validated is not None and not isinstance(validated, bool):
        raise _bad(f"{where}.band_validated", "true, false or null")
    subscores: dict[str, Number] = {}
    for key, number in _mapping(data.get("subscores", {}), f"{where}.subscores").items():
        parsed = _opt_number(number, f"{where}.subscores.{key}")
        if parsed is None:
            raise _bad(f"{where}.subscores.{key}", "a number")
        subscores[key] = parsed
    return InstrumentScore(
        instrument_id=_get(data, "instrument", str, f"{where}."),
        total=_opt_number(data.get("total"), f"{where}.total"),
        band=_opt_str(data, "band", f"{where}."),
        band_label=_opt_str(data, "band_label", f"{where}."),
        band_validated=validated,
        subscores=MappingProxyType(subscores),
    )


def _pct(data: Mapping[str, object], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{where}{key}", "a number")
    return float(value)


def _teach_back_from(value: object, where: str) -> TeachBackScore | None:
    if value is None:
        return None
    data = _mapping(value, where)
    pct = _pct(data, "comprehension_pct", f"{where}.")
    if pct is None:
        raise _bad(f"{where}.comprehension_pct", "a number")
    return TeachBackScore(
        points=_get(data, "points", int, f"{where}."),
        max_points=_get(data, "max_points", int, f"{where}."),
        comprehension_pct=pct,
        first_attempt_correct_pct=_pct(data, "first_attempt_correct_pct", f"{where}."),
        items=_get(data, "items", int, f"{where}."),
        safety_critical_items=_get(data, "safety_critical_items", int, f"{where}."),
        mastery=_get(data, "mastery", bool, f"{where}."),
    )


def _step_from(value: object, where: str) -> StepState:
    data = _mapping(value, where)
    prefix = f"{where}."
    try:
        status = StepStatus(_get(data, "status", str, prefix))
    except ValueError:
        raise _bad(f"{prefix}status", "open, completed or skipped") from None
    try:
        kind = StepKind(_get(data, "kind", str, prefix))
    except ValueError:
        raise _bad(f"{prefix}kind", "a step kind") from None
    answers = freeze(_mapping(data.get("answers", {}), f"{prefix}answers"))
    assert isinstance(answers, Mapping)
    scores = _mapping(data.get("scores", {}), f"{prefix}scores")
    return StepState(
        step_id=_get(data, "step", str, prefix),
        kind=kind,
        status=status,
        answers=answers,
        answered_at=_opt_time(data, "answered_at", prefix),
        done_by=_opt_actor(data, "done_by", prefix),
        done_at=_opt_time(data, "done_at", prefix),
        skip_reason=_opt_str(data, "skip_reason", prefix),
        scores=MappingProxyType(
            {k: _score_from(v, f"{prefix}scores.{k}") for k, v in scores.items()}
        ),
        teach_back=_teach_back_from(data.get("teach_back"), f"{prefix}teach_back"),
    )


def _reopening_from(value: object, where: str) -> Reopening:
    data = _mapping(value, where)
    by = _opt_actor(data, "by", f"{where}.")
    at = _opt_time(data, "at", f"{where}.")
    if by is None or at is None:
        raise _bad(where, "an object with 'step', 'reason', 'by' and 'at'")
    return Reopening(
        step_id=_get(data, "step", str, f"{where}."),
        reason=_get(data, "reason", str, f"{where}."),
        by=by,
        at=at,
    )


def stored_state(data: Mapping[str, object] | None) -> EncounterState | None:
    """The state stored for a visit, or None for a visit whose workflow has not started."""
    return state_from_dict(data) if data else None


def state_from_dict(data: Mapping[str, object]) -> EncounterState:
    """The state a :func:`state_to_dict` dict describes; a malformed dict is refused."""
    if data.get("format") != STATE_FORMAT_VERSION:
        raise _bad("format", str(STATE_FORMAT_VERSION))
    try:
        status = EncounterStatus(_get(data, "status", str, ""))
    except ValueError:
        raise _bad("status", "not_started, in_progress or finished") from None
    steps = data.get("steps")
    reopenings = data.get("reopenings", [])
    if not isinstance(steps, list) or not isinstance(reopenings, list):
        raise _bad("steps", "a list (and reopenings a list)")
    return EncounterState(
        template_id=_get(data, "template", str, ""),
        template_version=_get(data, "template_version", int, ""),
        status=status,
        steps=tuple(_step_from(s, f"steps.{i}") for i, s in enumerate(steps)),
        started_by=_opt_actor(data, "started_by", ""),
        started_at=_opt_time(data, "started_at", ""),
        finished_by=_opt_actor(data, "finished_by", ""),
        finished_at=_opt_time(data, "finished_at", ""),
        reopenings=tuple(_reopening_from(r, f"reopenings.{i}") for i, r in enumerate(reopenings)),
        last_event_at=_opt_time(data, "last_event_at", ""),
    )

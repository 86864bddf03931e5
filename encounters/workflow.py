"""The encounter workflow: a pure state machine over a visit template.

``apply(template, state, event)`` returns a new state or raises; it never changes
the state it is given (states are frozen). Illegal events raise ConflictError
(HTTP 409), bad values ValidationError (HTTP 422), each with a readable reason.

Rules:
- Nothing happens before ``start``; nothing after ``finish``. Only a clinician
  starts and finishes an encounter.
- ``answer``, ``complete`` and ``skip`` need the step open, every step it
  ``requires`` done (completed or skipped), and a role the step allows.
- ``answer`` validates the values it carries and merges them into the step's
  answers (``null`` clears one); each is committed as entered. ``complete``
  validates the full set and records who, when, and the computed scores.
- ``skip`` needs a skippable step, and a reason when the step says so. Answers
  already entered are kept (nothing entered is lost) but not scored.
- ``reopen`` needs a done step and a reason; it clears that step's outcome and
  scores and keeps its answers for correction. It un-does nothing else: steps
  that depend on it stay done, because they were valid when done and their
  record must not vanish; ``finish`` still needs the reopened step done again.
- Consent gates: a still from the video (``snapshot_ref``) and recording need
  the consent step completed with that consent given (``is_snapshot_allowed``,
  ``is_recording_allowed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from encounters.answers import check_complete, check_partial, merge_answers, score_assessment
from encounters.encounter_state import (
    Actor,
    EncounterState,
    EncounterStatus,
    JsonValue,
    Reopening,
    StepState,
    StepStatus,
    freeze,
    state_from_dict,
    state_to_dict,
    thaw,
)
from encounters.errors import ConflictError, ValidationError
from encounters.teach_back import score_teach_back
from encounters.templates import Role, Step, StepKind, Template

__all__ = [
    "Actor",
    "EncounterState",
    "EncounterStatus",
    "Event",
    "EventType",
    "Reopening",
    "StepState",
    "StepStatus",
    "apply",
    "initial_state",
    "is_recording_allowed",
    "is_snapshot_allowed",
    "is_step_ready",
    "parse_event",
    "ready_steps",
    "state_from_dict",
    "state_to_dict",
]

REASON_MAX_CHARS = 2_000
ACTOR_ID_MAX_CHARS = 200


class EventType(StrEnum):
    START = "start"
    ANSWER = "answer"
    COMPLETE = "complete"
    SKIP = "skip"
    REOPEN = "reopen"
    FINISH = "finish"


_NO_STEP = (EventType.START, EventType.FINISH)
_NO_ANSWERS = (EventType.START, EventType.FINISH, EventType.SKIP, EventType.REOPEN)


def _no_answers() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Event:
    type: EventType
    role: Role
    actor_id: str
    at: datetime
    step: str | None = None
    answers: Mapping[str, object] = field(default_factory=_no_answers)
    reason: str = ""


def parse_event(
    payload: Mapping[str, object], *, role: Role | str, actor_id: str, at: datetime
) -> Event:
    """An Event from an API body ``{"type", "step", "answers", "reason"}``.

    Who acts and when come from the session and the server's clock, never the body.
    """
    for key in payload:
        if key not in ("type", "step", "answers", "reason"):
            raise ValidationError(
                f"Unknown event field '{str(key)[:40]}'; expected type, step, answers, reason.",
                field=str(key)[:40],
            )
    type_text, step = payload.get("type"), payload.get("step")
    answers = payload.get("answers")
    answers = {} if answers is None else answers
    reason = payload.get("reason")
    reason = "" if reason is None else reason
    allowed = ", ".join(t.value for t in EventType)
    if not isinstance(type_text, str) or type_text not in set(EventType):
        raise ValidationError(f"Event 'type' must be one of: {allowed}.", field="type")
    if step is not None and not isinstance(step, str):
        raise ValidationError("Event 'step' must be a step id.", field="step")
    if not isinstance(answers, Mapping):
        raise ValidationError("Event 'answers' must be an object.", field="answers")
    if not isinstance(reason, str):
        raise ValidationError("Event 'reason' must be a text.", field="reason")
    if role not in set(Role):
        raise ValidationError("The actor's role must be clinician or family.", field="role")
    return Event(
        type=EventType(type_text),
        role=Role(role),
        actor_id=actor_id,
        at=at,
        step=step,
        answers=MappingProxyType(dict(answers)),
        reason=reason,
    )


def initial_state(template: Template) -> EncounterState:
    """A not-yet-started encounter with every step of ``template`` open."""
    return EncounterState(
        template_id=template.template_id,
        template_version=template.version,
        status=EncounterStatus.NOT_STARTED,
        steps=tuple(StepState(step_id=s.step_id, kind=s.kind) for s in template.steps),
    )


def _consent_given(state: EncounterState, answer: str) -> bool:
    # A template without a consent step never allows consent-gated actions; one
    # with several needs each of them given.
    consents = [step for step in state.steps if step.kind is StepKind.CONSENT]
    return (
        state.status is EncounterStatus.IN_PROGRESS
        and bool(consents)
        and all(
            step.status is StepStatus.COMPLETED and step.answers.get(answer) is True
            for step in consents
        )
    )


def is_recording_allowed(state: EncounterState) -> bool:
    """True only while consent is completed with recording agreed."""
    return _consent_given(state, "recording")


def is_snapshot_allowed(state: EncounterState) -> bool:
    """True only while consent to the video visit is completed (a still is part of it)."""
    return _consent_given(state, "video_visit")


def is_step_ready(template: Template, state: EncounterState, step_id: str) -> bool:
    """Whether ``step_id`` is open and every step it requires is done."""
    step, current = template.step(step_id), state.step(step_id)
    if step is None or current is None or current.status.is_done:
        return False
    return all(_is_done(state, required) for required in step.requires)


def ready_steps(template: Template, state: EncounterState) -> tuple[str, ...]:
    """Open steps that can be worked on now, in template order (none before start)."""
    if state.status is not EncounterStatus.IN_PROGRESS:
        return ()
    return tuple(s for s in template.step_ids if is_step_ready(template, state, s))


def _is_done(state: EncounterState, step_id: str) -> bool:
    step = state.step(step_id)
    return step is not None and step.status.is_done


def _check_event(event: Event) -> datetime:
    if not isinstance(event.type, EventType):
        raise ValidationError("Unknown event type.", field="type")
    if event.at.tzinfo is None or event.at.utcoffset() is None:
        raise ValidationError("The event time must carry its UTC offset.", field="at")
    if not event.actor_id.strip() or len(event.actor_id) > ACTOR_ID_MAX_CHARS:
        raise ValidationError(
            f"The actor id must be 1 to {ACTOR_ID_MAX_CHARS} characters.", field="actor_id"
        )
    if event.type in _NO_STEP and event.step is not None:
        raise ValidationError(f"A '{event.type}' event names no step.", field="step")
    if event.type not in _NO_STEP and not event.step:
        raise ValidationError(f"A '{event.type}' event must name a step.", field="step")
    if event.type in _NO_ANSWERS and event.answers:
        raise ValidationError(f"A '{event.type}' event carries no answers.", field="answers")
    if len(event.reason) > REASON_MAX_CHARS:
        raise ValidationError(
            f"The reason must be at most {REASON_MAX_CHARS} characters.", field="reason"
        )
    return event.at.astimezone(UTC)


def apply(template: Template, state: EncounterState, event: Event) -> EncounterState:
    """The state after ``event``; raises ConflictError or ValidationError and changes nothing."""
    at = _check_event(event)
    if (state.template_id, state.template_version) != (template.template_id, template.version) or (
        tuple(s.step_id for s in state.steps) != template.step_ids
    ):
        raise ConflictError(
            "This encounter was started with a different version of its template.",
            code="template_mismatch",
        )
    if state.last_event_at is not None and at < state.last_event_at:
        raise ValidationError("The event is dated before the encounter's last event.", field="at")
    if state.status is EncounterStatus.FINISHED:
        raise ConflictError(
            "The encounter is finished; nothing more can be changed.", code="finished"
        )
    actor = Actor(role=event.role, actor_id=event.actor_id)
    if event.type is EventType.START:
        new = _start(state, actor, at)
    elif state.status is EncounterStatus.NOT_STARTED:
        raise ConflictError("The encounter has not been started yet.", code="not_started")
    elif event.type is EventType.FINISH:
        new = _finish(state, actor, at)
    else:
        assert event.step is not None
        new = _step_event(template, state, event, actor, at)
    return replace(new, last_event_at=at)


def _start(state: EncounterState, actor: Actor, at: datetime) -> EncounterState:
    if state.status is not EncounterStatus.NOT_STARTED:
        raise ConflictError("The encounter has already been started.", code="already_started")
    if actor.role is not Role.CLINICIAN:
        raise ConflictError("Only a clinician can start an encounter.", code="role_not_allowed")
    return replace(state, status=EncounterStatus.IN_PROGRESS, started_by=actor, started_at=at)


def _finish(state: EncounterState, actor: Actor, at: datetime) -> EncounterState:
    if actor.role is not Role.CLINICIAN:
        raise ConflictError("Only a clinician can finish an encounter.", code="role_not_allowed")
    undone = [step.step_id for step in state.steps if not step.status.is_done]
    if undone:
        raise ConflictError(
            f"The encounter cannot finish: steps not done yet: {', '.join(undone)}.",
            code="steps_not_done",
        )
    return replace(state, status=EncounterStatus.FINISHED, finished_by=actor, finished_at=at)


def _with_step(state: EncounterState, new_step: StepState) -> EncounterState:
    steps = tuple(new_step if s.step_id == new_step.step_id else s for s in state.steps)
    return replace(state, steps=steps)


def _step_event(
    template: Template, state: EncounterState, event: Event, actor: Actor, at: datetime
) -> EncounterState:
    step_id = event.step or ""
    step, current = template.step(step_id), state.step(step_id)
    if step is None or current is None:
        raise ValidationError(
            f"There is no step '{step_id[:40]}'; steps: {', '.join(template.step_ids)}.",
            field="step",
        )
    if not step.who.allows(actor.role):
        raise ConflictError(
            f"Step '{step_id}' can be done only by a {step.who.value}.", code="role_not_allowed"
        )
    if event.type is EventType.REOPEN:
        return _reopen(state, current, event, actor, at)
    if current.status.is_done:
        raise ConflictError(
            f"Step '{step_id}' is already {current.status.value}; reopen it with a reason to "
            "change it.",
            code="step_done",
        )
    missing = [r for r in step.requires if not _is_done(state, r)]
    if missing:
        raise ConflictError(
            f"Step '{step_id}' needs these steps done first: {', '.join(missing)}.",
            code="requirements_not_done",
        )
    if event.type is EventType.SKIP:
        return _skip(state, step, current, event, actor, at)
    if event.type is EventType.ANSWER and not event.answers:
        raise ValidationError("An 'answer' event needs at least one answer.", field="answers")
    given = check_partial(step, event.answers)
    if given.get("snapshot_ref") is not None and not is_snapshot_allowed(state):
        raise ConflictError(
            "A still from the video can be taken only after consent to the video visit is "
            "completed.",
            code="consent_required",
        )
    merged = merge_answers(step, _thawed(current.answers), given)
    answered_at = at if given else current.answered_at
    if event.type is EventType.ANSWER:
        return _with_step(state, replace(current, answers=_frozen(merged), answered_at=answered_at))
    complete = check_complete(step, merged)
    return _with_step(
        state,
        replace(
            current,
            status=StepStatus.COMPLETED,
            answers=_frozen(complete),
            answered_at=answered_at,
            done_by=actor,
            done_at=at,
            scores=MappingProxyType(
                score_assessment(step, complete) if step.kind is StepKind.ASSESSMENT else {}
            ),
            teach_back=(
                score_teach_back(complete["teach_back"])
                if step.kind is StepKind.CRISIS_REHEARSAL
                else None
            ),
        ),
    )


def _frozen(answers: Mapping[str, object]) -> Mapping[str, JsonValue]:
    frozen = freeze(answers)
    assert isinstance(frozen, Mapping)
    return frozen


def _thawed(answers: Mapping[str, JsonValue]) -> dict[str, object]:
    plain = thaw(answers)
    assert isinstance(plain, dict)
    return plain


def _skip(
    state: EncounterState,
    step: Step,
    current: StepState,
    event: Event,
    actor: Actor,
    at: datetime,
) -> EncounterState:
    if not step.skippable:
        raise ConflictError(f"Step '{step.step_id}' cannot be skipped.", code="not_skippable")
    reason = event.reason.strip()
    if step.skip_needs_reason and not reason:
        raise ValidationError(
            f"Skipping step '{step.step_id}' needs a reason.",
            code="reason_required",
            field="reason",
        )
    return _with_step(
        state,
        replace(
            current,
            status=StepStatus.SKIPPED,
            done_by=actor,
            done_at=at,
            skip_reason=reason or None,
        ),
    )


def _reopen(
    state: EncounterState, current: StepState, event: Event, actor: Actor, at: datetime
) -> EncounterState:
    if not current.status.is_done:
        raise ConflictError(f"Step '{current.step_id}' is already open.", code="step_open")
    reason = event.reason.strip()
    if not reason:
        raise ValidationError(
            f"Reopening step '{current.step_id}' needs a reason.",
            code="reason_required",
            field="reason",
        )
    reopened = StepState(
        step_id=current.step_id,
        kind=current.kind,
        answers=current.answers,
        answered_at=current.answered_at,
    )
    record = Reopening(step_id=current.step_id, reason=reason, by=actor, at=at)
    return replace(_with_step(state, reopened), reopenings=(*state.reopenings, record))

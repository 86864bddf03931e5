"""The escalation ladder: who must acknowledge an alert, and by when.

Timers are data. An alert's state carries the deadline of its current tier; a job in the
server calls :func:`escalation_due` with the current time and, when it returns an
:class:`Escalate`, stores the result of :func:`apply_escalation` and only then notifies the
next tier. Every change is an :class:`AlertEvent` appended to the state's history, and
:func:`replay` rebuilds the same state from that history.

Rules chosen here (each tier is someone who must act by a deadline; the hospice line first):

- An alert starts on the first tier with deadline = raised_at + that tier's deadline.
- At the deadline (not one second before) it moves to the next tier; the new deadline counts
  from the moment of the move, so a server that was down does not skip a tier's whole window.
- At the last tier's deadline there is nowhere further to go: the alert stays on the last tier,
  is marked ``exhausted`` and has no deadline; the coordinator's queue shows it as such.
- An :class:`Escalate` names the tier and deadline it was computed from. Applying it to a state
  that has moved on (already escalated, acknowledged, reassigned) is refused with code
  ``stale_escalation``, so a restart or a second worker can never fire one escalation twice.
- The ceiling of care caps the ladder before it gets here: see ``careplan.ladder_in_effect``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from encounters.errors import ConflictError, ValidationError

ACK_DEADLINE_MIN_MIN = 1
# A day: a tier that may take longer to answer is not an escalation ladder.
ACK_DEADLINE_MAX_MIN = 1440
RESOLUTION_NOTE_MAX_CHARS = 2000
REASSIGN_REASON_MAX_CHARS = 500


class Outcome(StrEnum):
    ADVICE_GIVEN = "advice_given"
    MEDICINE_CHANGED = "medicine_changed"
    SAME_DAY_VIDEO_VISIT = "same_day_video_visit"
    NURSE_VISIT = "nurse_visit"
    EMERGENCY_SERVICES = "emergency_services"
    NO_ACTION_NEEDED = "no_action_needed"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    RAISED = "raised"
    ESCALATED = "escalated"
    EXHAUSTED = "exhausted"
    ACKNOWLEDGED = "acknowledged"
    REASSIGNED = "reassigned"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Tier:
    """One rung: a named person, a role, or both, who must acknowledge within the deadline."""

    tier: int
    label: str
    ack_deadline_min: int
    user_id: str | None = None
    role: str | None = None
    is_emergency_services: bool = False

    def __post_init__(self) -> None:
        if not ACK_DEADLINE_MIN_MIN <= self.ack_deadline_min <= ACK_DEADLINE_MAX_MIN:
            raise ValidationError(
                f"Tier {self.tier}: ack_deadline_min must be from {ACK_DEADLINE_MIN_MIN} to "
                f"{ACK_DEADLINE_MAX_MIN} minutes; got {self.ack_deadline_min}.",
                field="ack_deadline_min",
            )
        if not self.user_id and not self.role:
            raise ValidationError(
                f"Tier {self.tier} needs a user_id or a role: someone must be able to answer.",
                field="user_id",
            )

    def is_member(self, user_id: str, user_roles: Collection[str]) -> bool:
        return user_id == self.user_id or (self.role is not None and self.role in user_roles)


@dataclass(frozen=True)
class EscalationLadder:
    """Tiers in call order. Numbers start at 1 and increase; the care-plan validator also
    refuses gaps, but a ladder capped by the ceiling of care may skip a number."""

    tiers: tuple[Tier, ...]

    def __post_init__(self) -> None:
        numbers = [t.tier for t in self.tiers]
        if not numbers or numbers[0] != 1 or any(a >= b for a, b in pairwise(numbers)):
            raise ValidationError(
                f"A ladder's tiers must start at 1 and increase; got {numbers}.", field="tiers"
            )

    def tier(self, number: int) -> Tier | None:
        return next((t for t in self.tiers if t.tier == number), None)

    def next_after(self, number: int) -> Tier | None:
        return next((t for t in self.tiers if t.tier > number), None)


@dataclass(frozen=True)
class AlertEvent:
    """One line of an alert's append-only history. ``actor_id`` is None for the system."""

    kind: EventKind
    at: datetime
    actor_id: str | None = None
    tier: int | None = None
    deadline: datetime | None = None
    to_user_id: str | None = None
    reason: str | None = None
    outcome: Outcome | None = None
    note: str | None = None


@dataclass(frozen=True)
class AlertState:
    alert_id: str
    is_drill: bool
    raised_at: datetime
    status: AlertStatus
    tier: int
    deadline: datetime | None
    exhausted: bool = False
    assignee_id: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: Outcome | None = None
    history: tuple[AlertEvent, ...] = field(default=())


@dataclass(frozen=True)
class Escalate:
    """A due escalation: from ``from_tier`` (whose deadline was ``due_at``) to ``to_tier``.

    ``exhausts`` is true at the last tier: the alert stays there and ``deadline`` is None.
    """

    alert_id: str
    from_tier: int
    to_tier: int
    due_at: datetime
    at: datetime
    deadline: datetime | None
    exhausts: bool = False


def raise_alert(
    alert_id: str, ladder: EscalationLadder, *, raised_at: datetime, is_drill: bool = False
) -> AlertState:
    raised_at = _aware(raised_at, "raised_at")
    first = ladder.tiers[0]
    deadline = raised_at + timedelta(minutes=first.ack_deadline_min)
    event = AlertEvent(EventKind.RAISED, raised_at, tier=first.tier, deadline=deadline)
    return _fold(None, event, alert_id=alert_id, is_drill=is_drill)


def escalation_due(state: AlertState, ladder: EscalationLadder, now: datetime) -> Escalate | None:
    """The escalation owed at ``now``, or None (not yet due, answered, or exhausted)."""
    now = _aware(now, "now")
    if state.status is not AlertStatus.OPEN or state.deadline is None or now < state.deadline:
        return None
    following = ladder.next_after(state.tier)
    if following is None:
        return Escalate(state.alert_id, state.tier, state.tier, state.deadline, now, None, True)
    deadline = now + timedelta(minutes=following.ack_deadline_min)
    return Escalate(state.alert_id, state.tier, following.tier, state.deadline, now, deadline)


def apply_escalation(state: AlertState, escalate: Escalate) -> AlertState:
    """Apply a due escalation once; a stale or repeated one is refused (``stale_escalation``)."""
    if (
        escalate.alert_id != state.alert_id
        or state.status is not AlertStatus.OPEN
        or state.exhausted
        or escalate.from_tier != state.tier
        or escalate.due_at != state.deadline
    ):
        raise ConflictError(
            f"This escalation from tier {escalate.from_tier} no longer matches the alert "
            f"(now on tier {state.tier}, status {state.status}); it was already applied or "
            "overtaken.",
            code="stale_escalation",
        )
    _not_before_last(state, escalate.at)
    if escalate.exhausts:
        event = AlertEvent(EventKind.EXHAUSTED, escalate.at, tier=state.tier)
    else:
        event = AlertEvent(
            EventKind.ESCALATED, escalate.at, tier=escalate.to_tier, deadline=escalate.deadline
        )
    return _fold(state, event)


def acknowledge(
    state: AlertState,
    ladder: EscalationLadder,
    *,
    user_id: str,
    user_roles: Collection[str],
    now: datetime,
) -> AlertState:
    """Stop the clock. Only someone on the current tier (or the assignee) may acknowledge."""
    now = _aware(now, "now")
    _require_open(state)
    if state.status is AlertStatus.ACKNOWLEDGED:
        raise ConflictError("The alert is already acknowledged.", code="already_acknowledged")
    _require_on_tier(state, ladder, user_id, user_roles)
    _not_before_last(state, now)
    return _fold(state, AlertEvent(EventKind.ACKNOWLEDGED, now, actor_id=user_id, tier=state.tier))


def resolve(
    state: AlertState,
    ladder: EscalationLadder,
    *,
    user_id: str,
    user_roles: Collection[str],
    outcome: Outcome | str,
    now: datetime,
    note: str | None = None,
) -> AlertState:
    """Close the alert with an outcome. Resolving an unacknowledged alert acknowledges it at
    the same moment, so the response figures count it as answered, not as never answered."""
    now = _aware(now, "now")
    _require_open(state)
    try:
        outcome = Outcome(outcome)
    except ValueError:
        allowed = ", ".join(o.value for o in Outcome)
        raise ValidationError(
            f"outcome must be one of {allowed}; got {str(outcome)[:40]!r}.", field="outcome"
        ) from None
    if note is not None and len(note) > RESOLUTION_NOTE_MAX_CHARS:
        raise ValidationError(
            f"note must be at most {RESOLUTION_NOTE_MAX_CHARS} characters; got {len(note)}.",
            field="note",
        )
    if user_id != state.acknowledged_by:
        _require_on_tier(state, ladder, user_id, user_roles)
    _not_before_last(state, now)
    if state.status is AlertStatus.OPEN:
        ack = AlertEvent(EventKind.ACKNOWLEDGED, now, actor_id=user_id, tier=state.tier)
        state = _fold(state, ack)
    event = AlertEvent(
        EventKind.RESOLVED, now, actor_id=user_id, tier=state.tier, outcome=outcome, note=note
    )
    return _fold(state, event)


def reassign(
    state: AlertState,
    ladder: EscalationLadder,
    *,
    by_user_id: str,
    to_user_id: str,
    reason: str,
    now: datetime,
) -> AlertState:
    """Hand the alert to a named person. Who may do this is the server's rule (coordinators).

    An open alert's clock restarts with the current tier's deadline, so the new person gets
    the same time to answer as anyone on the tier; an exhausted alert stays exhausted.
    """
    now = _aware(now, "now")
    _require_open(state)
    if not to_user_id:
        raise ValidationError(
            "to_user_id must name the person taking the alert.", field="to_user_id"
        )
    if not reason.strip() or len(reason) > REASSIGN_REASON_MAX_CHARS:
        raise ValidationError(
            f"reason must be 1 to {REASSIGN_REASON_MAX_CHARS} characters; got {len(reason)}.",
            field="reason",
        )
    if to_user_id == state.assignee_id:
        raise ConflictError("The alert is already assigned to that person.", code="no_change")
    _not_before_last(state, now)
    deadline = None
    current = ladder.tier(state.tier)
    if state.status is AlertStatus.OPEN and not state.exhausted:
        deadline = state.deadline
        if current is not None:
            deadline = now + timedelta(minutes=current.ack_deadline_min)
    event = AlertEvent(
        EventKind.REASSIGNED,
        now,
        actor_id=by_user_id,
        tier=state.tier,
        deadline=deadline,
        to_user_id=to_user_id,
        reason=reason,
    )
    return _fold(state, event)


def replay(alert_id: str, history: Sequence[AlertEvent], *, is_drill: bool) -> AlertState:
    """Rebuild an alert's state from its stored history."""
    if not history or history[0].kind is not EventKind.RAISED:
        raise ValidationError("An alert's history must start with a 'raised' event.")
    state = _fold(None, history[0], alert_id=alert_id, is_drill=is_drill)
    for event in history[1:]:
        state = _fold(state, event)
    return state


def _fold(
    state: AlertState | None, event: AlertEvent, *, alert_id: str = "", is_drill: bool = False
) -> AlertState:
    """The one place an event changes a state; commands and replay both go through it."""
    if state is None or event.kind is EventKind.RAISED:
        if state is not None or event.tier is None:
            raise ValidationError("A 'raised' event must come first, once, with its tier.")
        return AlertState(
            alert_id,
            is_drill,
            raised_at=event.at,
            status=AlertStatus.OPEN,
            tier=event.tier,
            deadline=event.deadline,
            history=(event,),
        )
    history = (*state.history, event)
    tier = state.tier if event.tier is None else event.tier
    match event.kind:
        case EventKind.ESCALATED:
            return replace(state, tier=tier, deadline=event.deadline, history=history)
        case EventKind.EXHAUSTED:
            return replace(state, exhausted=True, deadline=None, history=history)
        case EventKind.ACKNOWLEDGED:
            return replace(
                state,
                status=AlertStatus.ACKNOWLEDGED,
                deadline=None,
                acknowledged_at=event.at,
                acknowledged_by=event.actor_id,
                history=history,
            )
        case EventKind.REASSIGNED:
            return replace(
                state, assignee_id=event.to_user_id, deadline=event.deadline, history=history
            )
        case EventKind.RESOLVED:
            return replace(
                state,
                status=AlertStatus.RESOLVED,
                deadline=None,
                resolved_at=event.at,
                resolved_by=event.actor_id,
                outcome=event.outcome,
                history=history,
            )
    raise ValidationError(f"Unknown alert event kind {event.kind!r}.")


def _require_open(state: AlertState) -> None:
    if state.status is AlertStatus.RESOLVED:
        raise ConflictError("The alert is already resolved.", code="already_resolved")


def may_answer(
    state: AlertState, ladder: EscalationLadder, user_id: str, user_roles: Collection[str]
) -> bool:
    """Whether this person may acknowledge or resolve the alert now: someone on its current
    tier, or the person it was assigned to. The consoles show the buttons by this rule."""
    current = ladder.tier(state.tier)
    on_tier = current is not None and current.is_member(user_id, user_roles)
    return on_tier or user_id == state.assignee_id


def _require_on_tier(
    state: AlertState, ladder: EscalationLadder, user_id: str, user_roles: Collection[str]
) -> None:
    if not may_answer(state, ladder, user_id, user_roles):
        raise ConflictError(
            f"Only someone on tier {state.tier} or the person it was assigned to may do this.",
            code="not_on_tier",
        )


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{name} must be a time with a UTC offset.", field=name)
    return moment.astimezone(UTC)


def _not_before_last(state: AlertState, now: datetime) -> None:
    # Events are appended in time order; an earlier time means a stale or replayed command.
    if state.history and now < state.history[-1].at:
        raise ValidationError(
            "now is earlier than the alert's last event; events must be applied in time order.",
            field="now",
        )

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.errors import ConflictError, ValidationError
from encounters.escalation import (
    AlertState,
    AlertStatus,
    EscalationLadder,
    EventKind,
    Outcome,
    Tier,
    acknowledge,
    apply_escalation,
    escalation_due,
    raise_alert,
    reassign,
    replay,
    resolve,
)

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
LADDER = EscalationLadder(
    (
        Tier(1, "On-call nurse", 15, user_id="nurse-ann", role="on_call_nurse"),
        Tier(2, "Palliative physician", 30, role="palliative_physician"),
        Tier(3, "Emergency guidance", 10, role="coordinator", is_emergency_services=True),
    )
)
NURSE = ("nurse-ann", ())
NIGHT_NURSE = ("nurse-bo", ("on_call_nurse",))
DOCTOR = ("dr-cy", ("palliative_physician",))
COORDINATOR = ("co-di", ("coordinator",))


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def escalate(state: AlertState, now: datetime) -> AlertState:
    due = escalation_due(state, LADDER, now)
    assert due is not None
    return apply_escalation(state, due)


def test_a_new_alert_starts_on_tier_one_with_its_deadline() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    assert (state.status, state.tier, state.deadline) == (AlertStatus.OPEN, 1, T0 + minutes(15))
    assert [e.kind for e in state.history] == [EventKind.RAISED]


def test_does_not_escalate_one_second_before_the_deadline() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    assert escalation_due(state, LADDER, T0 + minutes(15) - timedelta(seconds=1)) is None


def test_escalates_to_tier_two_when_tier_one_misses_deadline() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    due = escalation_due(state, LADDER, T0 + minutes(15))
    assert due is not None and (due.from_tier, due.to_tier) == (1, 2)
    state = apply_escalation(state, due)
    assert state.tier == 2
    assert state.deadline == T0 + minutes(15 + 30)
    assert state.history[-1].kind is EventKind.ESCALATED
    assert state.history[-1].at == T0 + minutes(15)


def test_counts_the_next_deadline_from_the_moment_of_escalation() -> None:
    # A server that was down for an hour gives tier 2 its whole window, not zero minutes.
    state = raise_alert("a-1", LADDER, raised_at=T0)
    late = T0 + minutes(75)
    state = escalate(state, late)
    assert state.deadline == late + minutes(30)


def test_escalates_tier_two_then_tier_three_then_stays_exhausted_on_the_last() -> None:
    state = escalate(raise_alert("a-1", LADDER, raised_at=T0), T0 + minutes(15))
    assert escalation_due(state, LADDER, T0 + minutes(45) - timedelta(seconds=1)) is None
    state = escalate(state, T0 + minutes(45))
    assert (state.tier, state.deadline) == (3, T0 + minutes(55))
    state = escalate(state, T0 + minutes(55))
    assert (state.tier, state.exhausted, state.deadline) == (3, True, None)
    assert state.history[-1].kind is EventKind.EXHAUSTED
    assert escalation_due(state, LADDER, T0 + minutes(600)) is None


def test_acknowledgement_stops_the_clock() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    user, roles = NURSE
    state = acknowledge(state, LADDER, user_id=user, user_roles=roles, now=T0 + minutes(3))
    assert state.status is AlertStatus.ACKNOWLEDGED
    assert (state.acknowledged_by, state.acknowledged_at) == (user, T0 + minutes(3))
    assert escalation_due(state, LADDER, T0 + minutes(500)) is None


def test_anyone_holding_the_tiers_role_may_acknowledge() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    user, roles = NIGHT_NURSE
    state = acknowledge(state, LADDER, user_id=user, user_roles=roles, now=T0 + minutes(1))
    assert state.acknowledged_by == "nurse-bo"


@pytest.mark.parametrize("who", [DOCTOR, COORDINATOR, ("stranger", ())])
def test_refuses_acknowledgement_by_someone_not_on_the_current_tier(
    who: tuple[str, tuple[str, ...]],
) -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    with pytest.raises(ConflictError) as caught:
        acknowledge(state, LADDER, user_id=who[0], user_roles=who[1], now=T0 + minutes(1))
    assert caught.value.code == "not_on_tier"


def test_after_escalation_only_the_new_tier_may_acknowledge() -> None:
    state = escalate(raise_alert("a-1", LADDER, raised_at=T0), T0 + minutes(15))
    with pytest.raises(ConflictError) as caught:
        acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 + minutes(16))
    assert caught.value.code == "not_on_tier"
    user, roles = DOCTOR
    state = acknowledge(state, LADDER, user_id=user, user_roles=roles, now=T0 + minutes(16))
    assert state.status is AlertStatus.ACKNOWLEDGED


def test_refuses_a_second_acknowledgement() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    state = acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 + minutes(1))
    with pytest.raises(ConflictError) as caught:
        acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 + minutes(2))
    assert caught.value.code == "already_acknowledged"


def test_applying_the_same_escalation_twice_is_refused_and_changes_nothing() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    due = escalation_due(state, LADDER, T0 + minutes(15))
    assert due is not None
    once = apply_escalation(state, due)
    with pytest.raises(ConflictError) as caught:
        apply_escalation(once, due)
    assert caught.value.code == "stale_escalation"
    assert once.tier == 2 and sum(e.kind is EventKind.ESCALATED for e in once.history) == 1


def test_a_restart_that_reloads_the_stored_state_does_not_escalate_again() -> None:
    stored = escalate(raise_alert("a-1", LADDER, raised_at=T0), T0 + minutes(15))
    reloaded = replay(stored.alert_id, stored.history, is_drill=False)
    assert reloaded == stored
    # The job wakes again a second later, and again just before tier 2's deadline.
    assert escalation_due(reloaded, LADDER, T0 + minutes(15) + timedelta(seconds=1)) is None
    assert escalation_due(reloaded, LADDER, T0 + minutes(45) - timedelta(seconds=1)) is None


def test_a_restart_between_computing_and_storing_fires_the_escalation_once() -> None:
    stored = raise_alert("a-1", LADDER, raised_at=T0)
    lost = escalation_due(stored, LADDER, T0 + minutes(15))  # computed, then the process died
    assert lost is not None
    retried = escalation_due(stored, LADDER, T0 + minutes(17))
    assert retried is not None
    after = apply_escalation(stored, retried)
    with pytest.raises(ConflictError):
        apply_escalation(after, lost)
    assert [e.kind for e in after.history] == [EventKind.RAISED, EventKind.ESCALATED]


def test_an_escalation_computed_before_an_acknowledgement_is_refused_after_it() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    due = escalation_due(state, LADDER, T0 + minutes(15))
    assert due is not None
    acked = acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 + minutes(15))
    with pytest.raises(ConflictError):
        apply_escalation(acked, due)


def test_an_escalation_computed_before_a_reassignment_is_refused_after_it() -> None:
    # Same tier, still open: only the deadline it was computed for tells it is stale.
    state = raise_alert("a-1", LADDER, raised_at=T0)
    due = escalation_due(state, LADDER, T0 + minutes(15))
    assert due is not None
    moved = reassign(
        state, LADDER, by_user_id="co-di", to_user_id="dr-eve", reason="cover", now=T0 + minutes(15)
    )
    with pytest.raises(ConflictError) as caught:
        apply_escalation(moved, due)
    assert caught.value.code == "stale_escalation"
    assert escalation_due(moved, LADDER, T0 + minutes(30)) is not None


def test_resolves_with_an_outcome_and_acknowledges_an_unacknowledged_alert_at_once() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    state = resolve(
        state,
        LADDER,
        user_id="nurse-ann",
        user_roles=(),
        outcome="advice_given",
        note="Rescue dose given, settled.",
        now=T0 + minutes(9),
    )
    assert state.status is AlertStatus.RESOLVED
    assert state.outcome is Outcome.ADVICE_GIVEN
    assert (state.acknowledged_at, state.resolved_at) == (T0 + minutes(9), T0 + minutes(9))
    assert [e.kind for e in state.history][-2:] == [EventKind.ACKNOWLEDGED, EventKind.RESOLVED]
    assert state.history[-1].note == "Rescue dose given, settled."
    with pytest.raises(ConflictError) as caught:
        resolve(state, LADDER, user_id="nurse-ann", user_roles=(), outcome="nurse_visit", now=T0)
    assert caught.value.code == "already_resolved"


def test_the_person_who_acknowledged_may_resolve_after_escalation_moved_on() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    state = acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 + minutes(2))
    state = resolve(
        state,
        LADDER,
        user_id="nurse-ann",
        user_roles=(),
        outcome="nurse_visit",
        now=T0 + minutes(90),
    )
    assert state.resolved_by == "nurse-ann"


def test_refuses_an_unknown_outcome_a_long_note_and_a_resolver_off_the_tier() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    with pytest.raises(ValidationError) as caught:
        resolve(state, LADDER, user_id="nurse-ann", user_roles=(), outcome="prayed", now=T0)
    assert caught.value.field == "outcome"
    with pytest.raises(ValidationError) as caught:
        resolve(
            state,
            LADDER,
            user_id="nurse-ann",
            user_roles=(),
            outcome="advice_given",
            note="x" * 2001,
            now=T0,
        )
    assert caught.value.field == "note"
    with pytest.raises(ConflictError) as refused:
        resolve(state, LADDER, user_id="dr-cy", user_roles=(), outcome="advice_given", now=T0)
    assert refused.value.code == "not_on_tier"


def test_reassigning_records_who_why_and_lets_the_new_person_acknowledge() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    state = reassign(
        state,
        LADDER,
        by_user_id="co-di",
        to_user_id="dr-eve",
        reason="Dr Eve knows the family",
        now=T0 + minutes(10),
    )
    event = state.history[-1]
    assert (event.kind, event.actor_id, event.to_user_id, event.at) == (
        EventKind.REASSIGNED,
        "co-di",
        "dr-eve",
        T0 + minutes(10),
    )
    assert event.reason == "Dr Eve knows the family"
    # The new person gets the tier's whole window.
    assert state.deadline == T0 + minutes(25)
    state = acknowledge(state, LADDER, user_id="dr-eve", user_roles=(), now=T0 + minutes(12))
    assert state.acknowledged_by == "dr-eve"


def test_refuses_reassignment_without_a_reason_or_to_the_same_person() -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    with pytest.raises(ValidationError):
        reassign(state, LADDER, by_user_id="co-di", to_user_id="dr-eve", reason=" ", now=T0)
    state = reassign(state, LADDER, by_user_id="co-di", to_user_id="dr-eve", reason="r", now=T0)
    with pytest.raises(ConflictError):
        reassign(state, LADDER, by_user_id="co-di", to_user_id="dr-eve", reason="r", now=T0)


def test_refuses_a_naive_time_and_a_time_before_the_last_event() -> None:
    with pytest.raises(ValidationError):
        raise_alert("a-1", LADDER, raised_at=T0.replace(tzinfo=None))
    state = raise_alert("a-1", LADDER, raised_at=T0)
    with pytest.raises(ValidationError):
        acknowledge(state, LADDER, user_id="nurse-ann", user_roles=(), now=T0 - minutes(1))


def test_replay_refuses_a_history_that_does_not_start_with_raised() -> None:
    state = acknowledge(
        raise_alert("a-1", LADDER, raised_at=T0),
        LADDER,
        user_id="nurse-ann",
        user_roles=(),
        now=T0,
    )
    with pytest.raises(ValidationError):
        replay("a-1", state.history[1:], is_drill=False)


def test_ladder_refuses_tiers_that_do_not_start_at_one_or_do_not_increase() -> None:
    with pytest.raises(ValidationError):
        EscalationLadder((Tier(2, "Doctor", 10, role="doctor"),))
    with pytest.raises(ValidationError):
        EscalationLadder((Tier(1, "Nurse", 10, role="n"), Tier(1, "Doctor", 10, role="d")))
    with pytest.raises(ValidationError):
        Tier(1, "Nurse", 0, role="n")
    with pytest.raises(ValidationError):
        Tier(1, "Nobody", 10)


# --- a random walk of commands: whatever happens, the invariants hold --------------------

_STEP = st.tuples(
    st.sampled_from(["tick", "ack", "resolve", "reassign", "reapply"]),
    st.integers(0, 40),
    st.sampled_from([NURSE, NIGHT_NURSE, DOCTOR, COORDINATOR]),
)


@settings(deadline=None)
@given(steps=st.lists(_STEP, max_size=25))
def test_any_sequence_of_commands_keeps_the_ladder_rules(
    steps: list[tuple[str, int, tuple[str, tuple[str, ...]]]],
) -> None:
    state = raise_alert("a-1", LADDER, raised_at=T0)
    now = T0
    applied = []
    for action, wait_min, (user, roles) in steps:
        now += minutes(wait_min)
        try:
            if action == "tick":
                due = escalation_due(state, LADDER, now)
                if due is not None:
                    applied.append(due)
                    state = apply_escalation(state, due)
            elif action == "reapply" and applied:
                state = apply_escalation(state, applied[-1])  # always refused
                raise AssertionError("an escalation was applied twice")
            elif action == "ack":
                state = acknowledge(state, LADDER, user_id=user, user_roles=roles, now=now)
            elif action == "resolve":
                state = resolve(
                    state, LADDER, user_id=user, user_roles=roles, outcome="advice_given", now=now
                )
            elif action == "reassign":
                state = reassign(
                    state, LADDER, by_user_id="co-di", to_user_id=user, reason="cover", now=now
                )
        except (ConflictError, ValidationError):
            pass
        tiers = [e.tier or 0 for e in state.history if e.kind is EventKind.ESCALATED]
        assert tiers == sorted(set(tiers)), "each tier is escalated to at most once, in order"
        assert sum(e.kind is EventKind.EXHAUSTED for e in state.history) <= 1
        assert replay("a-1", state.history, is_drill=False) == state
        if state.status is not AlertStatus.OPEN or state.exhausted:
            assert state.deadline is None
            assert escalation_due(state, LADDER, now + minutes(10_000)) is None

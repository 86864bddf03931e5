from dataclasses import replace
from datetime import UTC, datetime, timedelta

from encounters.alert_figures import response_figures
from encounters.escalation import (
    AlertState,
    EscalationLadder,
    Tier,
    acknowledge,
    raise_alert,
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


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _answered(
    alert_id: str, raised: datetime, ack_s: float | None, resolve_s: float | None, drill: bool
) -> AlertState:
    state = replace(raise_alert(alert_id, LADDER, raised_at=raised), is_drill=drill)
    if ack_s is not None:
        state = acknowledge(
            state, LADDER, user_id="nurse-ann", user_roles=(), now=raised + timedelta(seconds=ack_s)
        )
    if resolve_s is not None:
        state = resolve(
            state,
            LADDER,
            user_id="nurse-ann",
            user_roles=(),
            outcome="advice_given",
            now=raised + timedelta(seconds=resolve_s),
        )
    return state


def test_response_figures_by_hand() -> None:
    since, now = T0, T0 + timedelta(days=7)
    alerts = [
        _answered("a", T0 + minutes(10), 60, 600, drill=False),
        _answered("b", T0 + minutes(20), 120, 1800, drill=False),
        _answered("c", T0 + minutes(30), 300, 3600, drill=False),
        _answered("d", T0 + minutes(40), 600, None, drill=False),
        _answered("e", T0 + minutes(50), None, None, drill=False),
        _answered("drill", T0 + minutes(60), 5, 10, drill=True),
        _answered("before", T0 - minutes(1), 1, 2, drill=False),
    ]
    figures = response_figures(alerts, since=since, now=now)
    # Counted: a, b, c, d, e. Acknowledged in 60, 120, 300, 600 s; resolved in 600, 1800, 3600 s.
    assert (figures.alerts_raised, figures.acknowledged, figures.resolved) == (5, 4, 3)
    assert figures.ack_median_s == 210.0  # (120 + 300) / 2
    assert figures.ack_p90_s == 600.0  # rank ceil(0.9 * 4) = 4
    assert figures.resolve_median_s == 1800.0
    assert figures.resolve_p90_s == 3600.0  # rank ceil(0.9 * 3) = 3


def test_p90_is_nearest_rank_on_ten_and_on_eleven_alerts() -> None:
    ten = [_answered(f"a{i}", T0, 60 * (i + 1), None, drill=False) for i in range(10)]
    assert response_figures(ten, since=T0, now=T0 + minutes(100)).ack_p90_s == 540.0  # 9th
    eleven = [*ten, _answered("a10", T0, 660, None, drill=False)]
    assert response_figures(eleven, since=T0, now=T0 + minutes(100)).ack_p90_s == 600.0  # 10th


def test_figures_ignore_answers_after_now_and_are_none_when_nothing_was_answered() -> None:
    alerts = [_answered("a", T0, 3600, None, drill=False)]
    figures = response_figures(alerts, since=T0, now=T0 + minutes(30))
    assert (figures.alerts_raised, figures.acknowledged) == (1, 0)
    assert figures.ack_median_s is None and figures.ack_p90_s is None
    assert figures.resolve_median_s is None and figures.resolve_p90_s is None

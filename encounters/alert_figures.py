"""Response-time figures over alerts: how fast the escalation ladder is answered.

The figures read only :class:`~encounters.escalation.AlertState` (its ``raised_at``,
``acknowledged_at`` and ``resolved_at``); drills are never counted.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from encounters.escalation import AlertState, _aware


@dataclass(frozen=True)
class Figures:
    """Response times over the non-drill alerts raised in [since, now), in seconds.

    Medians are :func:`statistics.median` (the mean of the two middle values for an even
    count); the 90th percentile is nearest-rank: the value at rank ceil(0.9 n) in ascending
    order, always one of the observed times. None when nothing was acknowledged or resolved.
    """

    alerts_raised: int
    acknowledged: int
    resolved: int
    ack_median_s: float | None
    ack_p90_s: float | None
    resolve_median_s: float | None
    resolve_p90_s: float | None


def response_figures(alerts: Iterable[AlertState], *, since: datetime, now: datetime) -> Figures:
    since, now = _aware(since, "since"), _aware(now, "now")
    counted = [a for a in alerts if not a.is_drill and since <= a.raised_at < now]
    to_ack = _seconds_to(counted, lambda a: a.acknowledged_at, now)
    to_resolve = _seconds_to(counted, lambda a: a.resolved_at, now)
    return Figures(
        alerts_raised=len(counted),
        acknowledged=len(to_ack),
        resolved=len(to_resolve),
        ack_median_s=statistics.median(to_ack) if to_ack else None,
        ack_p90_s=nearest_rank(to_ack, 90),
        resolve_median_s=statistics.median(to_resolve) if to_resolve else None,
        resolve_p90_s=nearest_rank(to_resolve, 90),
    )


def _seconds_to(
    alerts: Sequence[AlertState], moment: Callable[[AlertState], datetime | None], now: datetime
) -> list[float]:
    times = ((a.raised_at, moment(a)) for a in alerts)
    return sorted((m - r).total_seconds() for r, m in times if m is not None and m <= now)


def nearest_rank(ordered: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile of ascending ``ordered``: the value at rank
    ceil(percent/100 n), always one of the observed values; None when empty."""
    if not ordered:
        return None
    rank = (percent * len(ordered) + 99) // 100  # ceil(percent/100 * n) without float error
    return ordered[rank - 1]

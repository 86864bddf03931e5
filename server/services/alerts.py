"""Alerts between visits: raising them from detection, storing their escalation state,
moving them up the ladder on time, and telling people.

The rules live in ``encounters`` (detection, escalation, alert_figures); this module maps rows
to states and back. Every change to an alert row is a compare-and-set on ``revision``
(``UPDATE ... WHERE id=? AND revision=?``): of two runners, or a runner and a person
acknowledging at the same second, exactly one change lands and the other reloads. The timer
is the ``next_deadline`` column, so a restart finds every pending escalation by a query and
``encounters.escalation.apply_escalation`` refuses one already applied (``stale_escalation``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan, ladder_in_effect
from encounters.detection import (
    AlertCandidate,
    VitalSample,
    detect_symptoms,
    detect_vitals,
    is_covered,
    one_alert,
)
from encounters.errors import ConflictError
from encounters.escalation import (
    AlertEvent,
    AlertState,
    AlertStatus,
    EscalationLadder,
    EventKind,
    Outcome,
    Tier,
    may_answer,
    raise_alert,
    replay,
)
from server.services import audit
from server.services.careplans import current_plan
from server.services.diary import DETECTION_LOOKBACK, recent_entries
from server.store.between_visits import Alert
from server.store.drills import same_drill
from server.store.models import CareTeam, CareTeamMember, Patient, User

logger = logging.getLogger(__name__)

SYSTEM = audit.Actor(None, None, "system", None, None)
SEVERITY_ORDER = {"critical": 0, "high": 1, "moderate": 2, "low": 3}
OPEN_STATUSES = ("open", "acknowledged")
BATCH_SIZE = 100

Push = Callable[[str, Any, Collection[int]], Awaitable[Any]]


# -- rows <-> domain ------------------------------------------------------------------------
def ladder_to_json(ladder: EscalationLadder) -> list[dict[str, Any]]:
    return [
        {
            "tier": t.tier,
            "label": t.label,
            "ack_deadline_min": t.ack_deadline_min,
            "user_id": t.user_id,
            "role": t.role,
            "is_emergency_services": t.is_emergency_services,
        }
        for t in ladder.tiers
    ]


def ladder_of(row: Alert) -> EscalationLadder:
    return EscalationLadder(tuple(Tier(**t) for t in row.ladder))


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_to_json(e: AlertEvent) -> dict[str, Any]:
    return {
        "kind": e.kind.value,
        "at": e.at.isoformat(),
        "actor_id": e.actor_id,
        "tier": e.tier,
        "deadline": _time(e.deadline),
        "to_user_id": e.to_user_id,
        "reason": e.reason,
        "outcome": e.outcome.value if e.outcome else None,
        "note": e.note,
    }


def event_from_json(d: dict[str, Any]) -> AlertEvent:
    return AlertEvent(
        kind=EventKind(d["kind"]),
        at=dt.datetime.fromisoformat(d["at"]),
        actor_id=d.get("actor_id"),
        tier=d.get("tier"),
        deadline=dt.datetime.fromisoformat(d["deadline"]) if d.get("deadline") else None,
        to_user_id=d.get("to_user_id"),
        reason=d.get("reason"),
        outcome=Outcome(d["outcome"]) if d.get("outcome") else None,
        note=d.get("note"),
    )


def state_of(row: Alert) -> AlertState:
    return replay(str(row.id), [event_from_json(e) for e in row.history], is_drill=row.is_drill)


def _columns(state: AlertState) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "tier": state.tier,
        "next_deadline": state.deadline,
        "exhausted": state.exhausted,
        "assignee_id": int(state.assignee_id) if state.assignee_id else None,
        "acknowledged_at": state.acknowledged_at,
        "resolved_at": state.resolved_at,
        "outcome": state.outcome.value if state.outcome else None,
        "history": [event_to_json(e) for e in state.history],
    }


async def write_state(s: AsyncSession, row: Alert, state: AlertState) -> bool:
    """Store ``state`` if the row is still at the revision it was read at."""
    result = await s.execute(
        update(Alert)
        .where(Alert.id == row.id, Alert.revision == row.revision)
        .values(**_columns(state), revision=row.revision + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def alert_to_dict(row: Alert, patient_name: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "patient_name": patient_name,
        "rule_id": row.rule_id,
        "severity": row.severity,
        "summary": row.summary,
        "evidence": row.evidence,
        "status": row.status,
        "tier": row.tier,
        "tier_label": next((t["label"] for t in row.ladder if t["tier"] == row.tier), None),
        "next_deadline": _time(row.next_deadline),
        "exhausted": row.exhausted,
        "assignee_id": row.assignee_id,
        "raised_at": row.raised_at.isoformat(),
        "acknowledged_at": _time(row.acknowledged_at),
        "resolved_at": _time(row.resolved_at),
        "outcome": row.outcome,
        "history": row.history,
        "is_drill": row.is_drill,
        "drill_id": row.drill_id,
    }


def queue_order(row: Alert) -> tuple[int, dt.datetime, int]:
    """Most severe first, then the one waiting longest."""
    return (SEVERITY_ORDER.get(row.severity, 9), row.raised_at, row.id)


# -- who --------------------------------------------------------------------------------------
def roles_for(plan: CarePlan, user: User) -> set[str]:
    """A user's Hearth role plus the ladder roles the care plan gives them by user id."""
    return ladder_roles(plan, user.id, user.role)


def ladder_roles(plan: CarePlan, user_id: int, role: str) -> set[str]:
    roles = {role}
    roles.update(c.role for c in plan.care_team if c.user_id == str(user_id))
    return roles


@dataclass(frozen=True)
class AllowedActions:
    """What one person may do to one alert now, by the rules the API enforces: the role's
    permission (``alert.act``, ``alert.reassign``) and the ladder's tier rule."""

    acknowledge: bool
    resolve: bool
    reassign: bool


def allowed_actions(
    row: Alert, plan: CarePlan, user_id: int, role: str, *, may_act: bool, may_reassign: bool
) -> AllowedActions:
    state = state_of(row)
    is_open = state.status is not AlertStatus.RESOLVED
    answers = (
        may_act
        and is_open
        and may_answer(state, ladder_of(row), str(user_id), ladder_roles(plan, user_id, role))
    )
    return AllowedActions(
        acknowledge=answers and state.status is AlertStatus.OPEN,
        # Whoever acknowledged it may resolve it, wherever the ladder has moved since.
        resolve=answers or (may_act and is_open and state.acknowledged_by == str(user_id)),
        reassign=may_reassign and is_open,
    )


async def care_teams_by_name(
    s: AsyncSession, patient_ids: Collection[int]
) -> dict[int, list[tuple[int, str]]]:
    """Each patient's active care team as (user id, name), by name, in one query."""
    found: dict[int, list[tuple[int, str]]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return found
    rows = await s.execute(
        select(CareTeam.patient_id, User.id, User.name)
        .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
        .join(User, User.id == CareTeamMember.user_id)
        .where(CareTeam.patient_id.in_(patient_ids), User.active.is_(True))
        .order_by(User.name)
    )
    for patient_id, user_id, name in rows:
        found[patient_id].append((user_id, name))
    return found


async def care_team_users(s: AsyncSession, patient_id: int) -> list[User]:
    return list(
        (
            await s.scalars(
                select(User)
                .join(CareTeamMember, CareTeamMember.user_id == User.id)
                .join(CareTeam, CareTeam.id == CareTeamMember.care_team_id)
                .where(CareTeam.patient_id == patient_id, User.active.is_(True))
            )
        ).all()
    )


# -- raising ----------------------------------------------------------------------------------
async def open_keys(s: AsyncSession, patient_id: int, drill_id: int | None = None) -> list[str]:
    """Open alerts' keys, every reason of an alert that folds several included: a drill's
    alert never covers a real one, nor the other way round."""
    rows = (
        await s.execute(
            select(Alert.dedup_key, Alert.covers).where(
                Alert.patient_id == patient_id,
                Alert.status.in_(OPEN_STATUSES),
                same_drill(Alert.drill_id, drill_id),
            )
        )
    ).all()
    keys: list[str] = []
    for dedup_key, covers in rows:
        keys.append(dedup_key)
        keys.extend(k for k in covers or () if isinstance(k, str))
    return keys


async def raise_alerts(
    s: AsyncSession,
    patient_id: int,
    candidates: Iterable[AlertCandidate],
    plan: CarePlan,
    *,
    now: dt.datetime,
    drill_id: int | None = None,
) -> list[Alert]:
    ladder = ladder_in_effect(plan)
    rows: list[Alert] = []
    for c in candidates:
        row = Alert(
            patient_id=patient_id,
            rule_id=c.rule_id.value,
            severity=c.severity.value,
            summary=c.summary[:300],
            evidence=list(c.evidence),
            dedup_key=c.dedup_key[:120],
            covers=list(c.keys),
            status="open",
            tier=ladder.tiers[0].tier,
            exhausted=False,
            raised_at=now,
            ladder=ladder_to_json(ladder),
            history=[],
            revision=1,
            is_drill=drill_id is not None,
            drill_id=drill_id,
        )
        s.add(row)
        await s.flush()
        for key, value in _columns(raise_alert(str(row.id), ladder, raised_at=now)).items():
            setattr(row, key, value)
        await audit.record_event(s, now, SYSTEM, "create", "alert", row.id, patient_id=patient_id)
        rows.append(row)
    await s.flush()
    return rows


async def detect_after_entry(
    s: AsyncSession, patient_id: int, recorded_at: dt.datetime, *, now: dt.datetime
) -> list[Alert]:
    """Run the symptom rules over the patient's recent diary and raise what is new.

    The missed check-in rule is left to a sweep: an entry that just arrived is no silence.
    """
    return await detect_in_diary(s, patient_id, recorded_at, now=now, drill_id=None)


async def detect_in_diary(
    s: AsyncSession,
    patient_id: int,
    recorded_at: dt.datetime,
    *,
    now: dt.datetime,
    drill_id: int | None,
) -> list[Alert]:
    """Symptom rules over the real diary, or over one drill's scripted entries only."""
    plan = await current_plan(s, patient_id)
    entries = await recent_entries(
        s, patient_id, recorded_at - DETECTION_LOOKBACK, drill_id=drill_id
    )
    keys = await open_keys(s, patient_id, drill_id)
    # One entry, one alert: every new finding of the entry is a reason of the same alert.
    alert = one_alert([c for c in detect_symptoms(entries, plan) if not is_covered(c, keys)])
    return await raise_alerts(
        s, patient_id, [alert] if alert else [], plan, now=now, drill_id=drill_id
    )


async def detect_after_readings(
    s: AsyncSession,
    patient_id: int,
    samples: Sequence[VitalSample],
    *,
    now: dt.datetime,
    drill_id: int | None = None,
    plan: CarePlan | None = None,
) -> list[Alert]:
    """A vital sign out of the patient's band joins the queue and climbs the ladder like any
    other alert; monitoring switched off in the care plan (where it is not within the goals of
    care) raises nothing. ``plan``: the patient's current plan when the caller has it."""
    if not samples:
        return []
    if plan is None:
        plan = await current_plan(s, patient_id)
    found = list(detect_vitals(samples, plan))
    if not found:
        # In band (the usual case): nothing to compare with the open alerts, no query.
        return []
    keys = await open_keys(s, patient_id, drill_id)
    fresh = [c for c in found if not is_covered(c, keys)]
    return await raise_alerts(s, patient_id, fresh, plan, now=now, drill_id=drill_id)


# -- figures ----------------------------------------------------------------------------------
async def states_since(
    s: AsyncSession, patient_ids: Sequence[int], since: dt.datetime
) -> list[AlertState]:
    rows = (
        await s.scalars(
            select(Alert).where(Alert.patient_id.in_(patient_ids), Alert.raised_at >= since)
        )
    ).all()
    return [state_of(r) for r in rows]


class StaleAlertError(ConflictError):
    code = "alert_changed"


async def load_for_change(s: AsyncSession, alert_id: int) -> Alert | None:
    return await s.get(Alert, alert_id, populate_existing=True)


async def patient_name(s: AsyncSession, patient_id: int) -> str | None:
    patient = await s.get(Patient, patient_id)
    return patient.name if patient else None

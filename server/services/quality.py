"""The quality dashboard's figures for one care team and one month, read in a fixed number
of queries whatever the amount of data, computed by ``encounters.quality``.

Scope: a coordinator sees the care teams they are on (a care team is named; several
patients' teams may share a name, and the figures group them by that name). The month runs
from local midnight on the 1st to local midnight on the 1st of the next, in the viewer's time
zone, and so do the hours of day of alert response.

Output: one list of figure rows (section, figure, breakdown, value, unit, base), the same
rows for the page's tables and charts and for the CSV, with small numbers already shown as
"< 5" and figures over fewer than five records withheld; beside them the drill section, the
visits with connection trouble and the reviews of missed escalations. Reading the figures
is audited as one "list" row (no patient: the figures name none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.encounter_state import EncounterState, EncounterStatus, StepStatus, stored_state
from encounters.quality import (
    ConnectionEvent,
    ConnectionEventKind,
    OutcomeFacts,
    OutcomeKind,
    ReviewCause,
    SurveyAnswers,
    SymptomScores,
    TimeFigures,
    VisitFacts,
    alert_response,
    connection_figures,
    is_missed,
    outcome_figures,
    patient_days,
    review_causes,
    satisfaction_figures,
    shown,
    symptom_figures,
    visit_figures,
    withheld,
)
from encounters.templates import StepKind
from server.services import audit
from server.services.access import may
from server.services.alerts import state_of
from server.services.drill_report import reports_json
from server.services.errors import ApiError, forbidden
from server.services.sessions import Principal
from server.store.between_visits import Alert
from server.store.drills import Drill
from server.store.models import CareTeam, CareTeamMember, Encounter, Patient, User
from server.store.notes import VisitNote
from server.store.quality import (
    ConnectionEventRow,
    EscalationReview,
    OutcomeRecord,
    SurveyResponse,
)

Value = int | float | str | None


@dataclass(frozen=True)
class Figure:
    section: str
    figure: str
    breakdown: str | None
    value: Value
    unit: str  # count, pct, seconds, minutes, rate, mean, change, days
    base: Value  # how many records the value is computed over, itself shown as "< 5"
    suppressed: bool = False


@dataclass
class Dashboard:
    team: str | None
    teams: list[str]
    month: str
    since: dt.datetime
    until: dt.datetime
    figures: list[Figure] = field(default_factory=list)
    drill_figures: list[Figure] = field(default_factory=list)
    troubled_visits: list[dict[str, Any]] = field(default_factory=list)
    missed_alerts: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    drills: list[dict[str, Any]] = field(default_factory=list)


def month_bounds(month: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight on the month's first day and on the next month's, in UTC."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(following, dt.time(), zone).astimezone(dt.UTC)
    return start, end


def parse_month(raw: str | None, today: dt.date) -> dt.date:
    """``2026-03`` as its first day; the current month when absent. 422 otherwise."""
    if not raw:
        return today.replace(day=1)
    try:
        value = dt.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        raise ApiError(
            422, "invalid_field", "'month' must be a month such as 2026-03.", field="month"
        ) from None
    if not 1900 <= value.year <= 2199:
        raise ApiError(422, "out_of_range", "'month' must be from 1900 to 2199.", field="month")
    return value


class _Rows:
    """Collects figure rows, applying the small-number rules once."""

    def __init__(self, out: list[Figure]) -> None:
        self.out = out

    def count(self, section: str, figure: str, n: int, breakdown: str | None = None) -> None:
        self.out.append(Figure(section, figure, breakdown, shown(n), "count", None))

    def derived(
        self,
        section: str,
        figure: str,
        value: float | None,
        unit: str,
        base: int,
        breakdown: str | None = None,
    ) -> None:
        hidden = withheld(base)
        self.out.append(
            Figure(
                section,
                figure,
                breakdown,
                None if hidden else value,
                unit,
                shown(base),
                suppressed=hidden and base > 0,
            )
        )

    def times(self, section: str, prefix: str, t: TimeFigures, breakdown: str | None) -> None:
        self.derived(section, f"{prefix}_median", t.median_s, "seconds", t.count, breakdown)
        self.derived(section, f"{prefix}_p90", t.p90_s, "seconds", t.count, breakdown)


async def team_patients(
    s: AsyncSession, who: Principal, team: str | None
) -> tuple[list[str], dict[int, str]]:
    """The names of the teams ``who`` is on, and the patients in scope with their team."""
    rows = (
        await s.execute(
            select(CareTeam.patient_id, CareTeam.name)
            .join(CareTeamMember, CareTeamMember.care_team_id == CareTeam.id)
            .where(CareTeamMember.user_id == who.user_id)
        )
    ).all()
    teams = sorted({str(name) for _, name in rows})
    if team is not None and team not in teams:
        raise ApiError(404, "not_found", "That care team was not found.", field="team")
    return teams, {int(pid): str(name) for pid, name in rows if team is None or name == team}


def _step_done(state: EncounterState | None, kind: StepKind) -> bool | None:
    if state is None:
        return False
    steps = [step for step in state.steps if step.kind is kind]
    if not steps:
        return None
    return all(step.status is StepStatus.COMPLETED for step in steps)


def _esas(state: EncounterState | None) -> dict[str, int]:
    if state is None:
        return {}
    for step in state.steps:
        if step.kind is StepKind.ASSESSMENT and step.status is StepStatus.COMPLETED:
            answers = step.answers.get("esas")
            if isinstance(answers, dict) or hasattr(answers, "items"):
                return {
                    str(k): int(v)
                    for k, v in answers.items()  # type: ignore[union-attr]
                    if isinstance(v, int) and not isinstance(v, bool)
                }
    return {}


def _stays(
    patients: Sequence[Patient], outcomes: Sequence[OutcomeRecord], zone: ZoneInfo
) -> list[tuple[dt.date, dt.date | None]]:
    ended: dict[int, dt.date] = {}
    for o in outcomes:
        if o.kind in (OutcomeKind.DEATH, OutcomeKind.DISCHARGE):
            ended[o.patient_id] = min(o.occurred_on, ended.get(o.patient_id, o.occurred_on))
    return [(p.created_at.astimezone(zone).date(), ended.get(p.id)) for p in patients]


async def dashboard(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    *,
    team: str | None,
    month: dt.date,
    actor: audit.Actor,
    language: str | None = None,
) -> Dashboard:
    """The month's figures; drills' titles in ``language`` (None: English)."""
    if not may(who, "quality.read"):
        raise forbidden("The quality figures are for coordinators.")
    viewer = await s.get(User, who.user_id)
    zone = ZoneInfo(viewer.time_zone if viewer else "UTC")
    since, until = month_bounds(month, zone)
    teams, scope = await team_patients(s, who, team)
    patient_ids = list(scope)
    board = Dashboard(team, teams, month.strftime("%Y-%m"), since, until)

    patients = (await s.scalars(select(Patient).where(Patient.id.in_(patient_ids)))).all()
    alerts = (
        await s.scalars(
            select(Alert).where(
                Alert.patient_id.in_(patient_ids), Alert.raised_at >= since, Alert.raised_at < until
            )
        )
    ).all()
    encounters = (
        await s.scalars(
            select(Encounter).where(
                Encounter.patient_id.in_(patient_ids), Encounter.starts_at < until
            )
        )
    ).all()
    in_month = [e for e in encounters if e.starts_at >= since]
    month_ids = [e.id for e in in_month]
    notes = {
        n.encounter_id: n
        for n in (
            await s.scalars(select(VisitNote).where(VisitNote.encounter_id.in_(month_ids)))
        ).all()
    }
    connection_rows = (
        await s.scalars(
            select(ConnectionEventRow).where(ConnectionEventRow.encounter_id.in_(month_ids))
        )
    ).all()
    outcomes = (
        await s.scalars(
            select(OutcomeRecord).where(
                OutcomeRecord.patient_id.in_(patient_ids),
                OutcomeRecord.occurred_on < until.astimezone(zone).date(),
            )
        )
    ).all()
    team_names = [team] if team is not None else teams
    surveys = (
        await s.scalars(
            select(SurveyResponse).where(
                SurveyResponse.care_team.in_(team_names),
                SurveyResponse.answered_on >= since.astimezone(zone).date(),
                SurveyResponse.answered_on < until.astimezone(zone).date(),
            )
        )
    ).all()
    reviews = {
        r.alert_id: r
        for r in (
            await s.scalars(
                select(EscalationReview).where(
                    EscalationReview.alert_id.in_([a.id for a in alerts])
                )
            )
        ).all()
    }
    drills = (
        await s.scalars(
            select(Drill)
            .where(
                Drill.patient_id.in_(patient_ids),
                Drill.status == "finished",
                Drill.started_at >= since,
                Drill.started_at < until,
            )
            .order_by(Drill.started_at)
        )
    ).all()
    drill_reports = await reports_json(s, drills, language)

    rows = _Rows(board.figures)
    states = [state_of(a) for a in alerts]
    _alert_rows(rows, "alerts", alert_response(states, since=since, until=until, zone=zone))
    drill_rows = _Rows(board.drill_figures)
    _alert_rows(
        drill_rows,
        "drill_alerts",
        alert_response(states, since=since, until=until, zone=zone, drills=True),
    )

    parsed = {e.id: stored_state(e.state) for e in encounters}
    facts = [
        VisitFacts(
            encounter_id=e.id,
            patient_id=e.patient_id,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            status=e.status,
            started=parsed[e.id] is not None
            and parsed[e.id].status is not EncounterStatus.NOT_STARTED,  # type: ignore[union-attr]
            is_drill=e.is_drill,
            consent_done=_step_done(parsed[e.id], StepKind.CONSENT),
            assessment_done=_step_done(parsed[e.id], StepKind.ASSESSMENT),
            has_note=bool(notes.get(e.id) and notes[e.id].narrative.strip()),
            is_signed=bool(notes.get(e.id) and notes[e.id].signed_at is not None),
        )
        for e in in_month
    ]
    visits = visit_figures(facts, now)
    _visit_rows(rows, visits)
    held_ids = [
        f.encounter_id
        for f in facts
        if not f.is_drill and (f.started or f.status in ("in_progress", "finished"))
    ]
    connection = connection_figures(
        (
            ConnectionEvent(c.encounter_id, ConnectionEventKind(c.kind), c.seconds)
            for c in connection_rows
        ),
        held_ids,
    )
    _connection_rows(rows, connection)
    starts = {e.id: e.starts_at for e in in_month}
    board.troubled_visits = [
        {
            "encounter_id": t.encounter_id,
            "starts_at": starts[t.encounter_id].isoformat(),
            "failed_joins": t.failed_joins,
            "reconnections": t.reconnections,
            "sound_only": t.sound_only,
            "poor_minutes": t.poor_minutes,
        }
        for t in connection.visits
    ]

    symptoms = symptom_figures(
        (
            SymptomScores(e.patient_id, e.starts_at, _esas(parsed[e.id]), e.is_drill)
            for e in encounters
            if _esas(parsed[e.id])
        ),
        since=since,
        until=until,
    )
    for change in symptoms.between_visits:
        rows.derived(
            "symptoms",
            "change_between_visits",
            change.mean_change,
            "change",
            change.pairs,
            change.item,
        )
    for change in symptoms.first_two_weeks:
        rows.derived(
            "symptoms",
            "change_first_two_weeks",
            change.mean_change,
            "change",
            change.pairs,
            change.item,
        )
    rows.count("symptoms", "patients_followed", symptoms.patients_followed)
    rows.derived(
        "symptoms",
        "worst_improved_pct",
        symptoms.worst_improved_pct,
        "pct",
        symptoms.patients_followed,
    )

    days = patient_days(
        _stays(patients, outcomes, zone),
        since.astimezone(zone).date(),
        until.astimezone(zone).date(),
    )
    outcome = outcome_figures(
        (
            OutcomeFacts(
                o.patient_id,
                OutcomeKind(o.kind),
                o.occurred_on,
                o.crisis_plan_used,
                o.place_of_death,
                o.preferred_place,
                o.discharge_reason,
            )
            for o in outcomes
        ),
        start=since.astimezone(zone).date(),
        end=until.astimezone(zone).date(),
        days_in_care=days,
    )
    rows.out.append(Figure("outcomes", "patient_days", None, days, "days", None))
    for crisis in outcome.crises:
        rows.count("outcomes", "events", crisis.events, crisis.kind.value)
        rows.out.append(
            Figure(
                "outcomes",
                "per_100_patient_days",
                crisis.kind.value,
                crisis.per_100_patient_days,
                "rate",
                shown(crisis.events),
            )
        )
        rows.count("outcomes", "crisis_plan_used", crisis.crisis_plan_used, crisis.kind.value)
    rows.count("outcomes", "deaths", outcome.deaths)
    rows.count("outcomes", "deaths_with_preference", outcome.deaths_with_preference)
    rows.derived(
        "outcomes",
        "died_where_preferred_pct",
        outcome.died_where_preferred_pct,
        "pct",
        outcome.deaths_with_preference,
    )
    for (preferred, place), n in outcome.places.items():
        rows.count("outcomes", "place_of_death", n, f"{preferred}>{place}")
    for reason, n in outcome.discharges.items():
        rows.count("outcomes", "discharges", n, reason)

    satisfaction = satisfaction_figures(SurveyAnswers(r.answers, r.is_drill) for r in surveys)
    rows.count("satisfaction", "responses", satisfaction.responses)
    for q in satisfaction.questions:
        rows.derived("satisfaction", "mean", q.mean, "mean", q.answered, q.question)
        rows.derived(
            "satisfaction", "satisfied_pct", q.satisfied_pct, "pct", q.answered, q.question
        )

    _reviews(board, alerts, states, reviews)
    for cause, n in review_causes(ReviewCause(r.cause) for r in reviews.values()).items():
        rows.count("reviews", "cause", n, cause.value)

    for drill in drills:
        report = drill_reports[drill.id]
        assert drill.started_at is not None
        board.drills.append(
            {
                "drill_id": drill.id,
                "started_at": drill.started_at.isoformat(),
                "title": report["title"],
                "time_to_acknowledge_s": report["time_to_acknowledge_s"],
                "accuracy_pct": report["accuracy"]["score_pct"],
                "comprehension_pct": report["comprehension"]["score_pct"],
            }
        )
    drill_rows.count("drills", "drills_run", len(drills))

    await audit.record_event(s, now, actor, "list", "quality_figures", None)
    return board


def _alert_rows(rows: _Rows, section: str, figures: Any) -> None:
    rows.count(section, "alerts", figures.alerts)
    rows.times(section, "acknowledge", figures.acknowledge, None)
    rows.times(section, "resolve", figures.resolve, None)
    rows.derived(section, "within_deadline_pct", figures.within_deadline_pct, "pct", figures.alerts)
    rows.derived(
        section, "escalations_per_alert", figures.escalations_per_alert, "mean", figures.alerts
    )
    for tier in figures.by_tier:
        label = f"tier {tier.tier}"
        rows.count(section, "acknowledged", tier.acknowledge.count, label)
        rows.times(section, "acknowledge", tier.acknowledge, label)
    for hour, times in figures.by_hour.items():
        rows.derived(
            section, "acknowledge_median", times.median_s, "seconds", times.count, f"{hour:02d}:00"
        )


def _visit_rows(rows: _Rows, v: Any) -> None:
    for name in ("booked", "held", "cancelled", "missed", "upcoming"):
        rows.count("visits", name, getattr(v, name))
    rows.derived("visits", "held_pct", v.held_pct, "pct", v.booked - v.upcoming)
    for name in ("missing_consent", "missing_assessment", "missing_note", "missing_sign_off"):
        rows.count("documentation", name, getattr(v, name))


def _connection_rows(rows: _Rows, c: Any) -> None:
    rows.count("connection", "visits_with_trouble", c.visits_with_trouble)
    rows.derived("connection", "trouble_pct", c.trouble_pct, "pct", c.visits_held)
    for name in ("failed_joins", "reconnections", "sound_only"):
        rows.count("connection", name, getattr(c, name))
    rows.out.append(Figure("connection", "poor_minutes", None, c.poor_minutes, "minutes", None))


def _reviews(
    board: Dashboard,
    alerts: Iterable[Alert],
    states: Sequence[Any],
    reviews: dict[int, EscalationReview],
) -> None:
    for row, state in zip(alerts, states, strict=True):
        if row.is_drill or not is_missed(state):
            continue
        review = reviews.get(row.id)
        board.missed_alerts.append(
            {
                "alert_id": row.id,
                "raised_at": row.raised_at.isoformat(),
                "severity": row.severity,
                "reviewed": review is not None,
            }
        )
        if review is not None:
            board.reviews.append(
                {
                    "alert_id": row.id,
                    "raised_at": row.raised_at.isoformat(),
                    "cause": review.cause,
                    "what_happened": review.what_happened,
                    "why": review.why,
                    "what_changes": review.what_changes,
                    "reviewed_at": review.reviewed_at.isoformat(),
                }
            )

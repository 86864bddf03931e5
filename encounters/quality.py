"""The figures a palliative team reviews each month, computed over plain records.

Every function here takes records the server has already read (alerts, visits, symptom
scores, outcomes, survey answers, connection events) and returns frozen results; nothing
reads a clock or a database. The server decides the period and the team, loads the records
once and hands them over.

Rules shared by every figure:

- Drill data is never mixed with real care. Alert figures take an ``is_drill`` flag on each
  record and count one kind at a time (:func:`alert_response` with ``drills=False`` for care,
  ``True`` for the drills section); every other figure leaves drill records out (visits,
  symptom scores and survey answers carry ``is_drill`` too). Outcomes are never drills.
- Medians are :func:`statistics.median`; the 90th percentile is nearest-rank
  (:func:`encounters.alert_figures.nearest_rank`), always one observed value.
- Rates are per 100 patient-days: events x 100 / days in care during the period.
- Small numbers: a count from 1 to 4 is shown as "< 5" (:func:`shown`), and a figure derived
  from fewer than five records (a median, a share, a mean) is withheld (:func:`withheld`), so
  that no patient or family can be singled out. Zero is shown as 0: nobody is in it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from encounters.alert_figures import nearest_rank
from encounters.escalation import AlertState, EventKind

# Fewer than this many people or events are shown as "< 5".
SMALL_NUMBER = 5
SMALL_NUMBER_TEXT = "< 5"
# The first two weeks of care, counted from the patient's first assessed visit.
FIRST_WEEKS = timedelta(days=14)
# The ESAS-r items that are scored 0-10 (the "other" item and its name are left out).
ESAS_ITEMS = (
    "pain",
    "tiredness",
    "drowsiness",
    "nausea",
    "appetite",
    "shortness_of_breath",
    "depression",
    "anxiety",
    "wellbeing",
)


def shown(count: int) -> int | str:
    """A count as a person may see it: 1 to 4 become "< 5"."""
    return SMALL_NUMBER_TEXT if 0 < count < SMALL_NUMBER else count


def withheld(base: int) -> bool:
    """True when a figure computed over ``base`` records must not be shown."""
    return base < SMALL_NUMBER


def per_100_patient_days(events: int, patient_days: int) -> float | None:
    """Events per 100 days in care, rounded to two places; None without any days in care."""
    if patient_days <= 0:
        return None
    return round(events * 100 / patient_days, 2)


def patient_days(stays: Iterable[tuple[date, date | None]], start: date, end: date) -> int:
    """Calendar days in care within [start, end): each stay runs from its first day to its
    last (inclusive; None while still in care) and counts only its days inside the period."""
    total = 0
    for first, last in stays:
        begin = max(first, start)
        finish = min(last + timedelta(days=1) if last else end, end)
        total += max(0, (finish - begin).days)
    return total


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal; None when nothing was counted."""
    return round(part * 100 / whole, 1) if whole else None


# -- alert response --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeFigures:
    """Seconds from raising to acknowledging (or resolving): count, median, 90th percentile."""

    count: int
    median_s: float | None
    p90_s: float | None


def _times(values: Sequence[float]) -> TimeFigures:
    ordered = sorted(values)
    return TimeFigures(
        count=len(ordered),
        median_s=statistics.median(ordered) if ordered else None,
        p90_s=nearest_rank(ordered, 90),
    )


@dataclass(frozen=True)
class TierResponse:
    """The alerts acknowledged while on one tier of the ladder."""

    tier: int
    acknowledge: TimeFigures
    within_deadline: int


@dataclass(frozen=True)
class AlertResponse:
    alerts: int
    acknowledge: TimeFigures
    resolve: TimeFigures
    # Acknowledged before the deadline of the tier they were on, and as a share of alerts.
    within_deadline: int
    within_deadline_pct: float | None
    escalations: int
    escalations_per_alert: float | None
    by_tier: tuple[TierResponse, ...]
    # Hour of day (0-23, the team's local time) the alert was raised -> acknowledge times.
    by_hour: Mapping[int, TimeFigures]
    # Alerts that passed at least one tier's deadline: the missed escalations to review.
    missed_alert_ids: tuple[str, ...]


def _tier_at(alert: AlertState, moment: datetime) -> tuple[int | None, datetime | None]:
    """The tier an alert was on at ``moment``, and that tier's deadline."""
    tier: int | None = None
    deadline: datetime | None = None
    for event in alert.history:
        if event.at > moment:
            break
        if event.kind in (EventKind.RAISED, EventKind.ESCALATED):
            tier, deadline = event.tier, event.deadline
        elif event.kind is EventKind.EXHAUSTED:
            deadline = None
    return tier, deadline


def is_missed(alert: AlertState) -> bool:
    """True when the alert passed a tier's deadline (it escalated or ran out of tiers)."""
    return any(e.kind in (EventKind.ESCALATED, EventKind.EXHAUSTED) for e in alert.history)


def alert_response(
    alerts: Iterable[AlertState],
    *,
    since: datetime,
    until: datetime,
    zone: tzinfo,
    drills: bool = False,
) -> AlertResponse:
    """Response figures over the alerts raised in [since, until): care alerts, or with
    ``drills`` the drill alerts only. An acknowledgement or resolution after ``until`` is
    not yet known at the end of the period and is not counted."""
    counted = [a for a in alerts if a.is_drill is drills and since <= a.raised_at < until]
    ack_times: list[float] = []
    within = 0
    tiers: dict[int, list[float]] = {}
    tiers_within: Counter[int] = Counter()
    hours: dict[int, list[float]] = {}
    resolve_times: list[float] = []
    escalations = 0
    for alert in counted:
        escalations += sum(1 for e in alert.history if e.kind is EventKind.ESCALATED)
        acked = alert.acknowledged_at
        if acked is not None and acked < until:
            seconds = (acked - alert.raised_at).total_seconds()
            ack_times.append(seconds)
            tier, deadline = _tier_at(alert, acked)
            on_time = deadline is not None and acked <= deadline
            within += on_time
            if tier is not None:
                tiers.setdefault(tier, []).append(seconds)
                tiers_within[tier] += on_time
            hours.setdefault(alert.raised_at.astimezone(zone).hour, []).append(seconds)
        if alert.resolved_at is not None and alert.resolved_at < until:
            resolve_times.append((alert.resolved_at - alert.raised_at).total_seconds())
    return AlertResponse(
        alerts=len(counted),
        acknowledge=_times(ack_times),
        resolve=_times(resolve_times),
        within_deadline=within,
        within_deadline_pct=share(within, len(counted)),
        escalations=escalations,
        escalations_per_alert=round(escalations / len(counted), 2) if counted else None,
        by_tier=tuple(
            TierResponse(tier, _times(times), tiers_within[tier])
            for tier, times in sorted(tiers.items())
        ),
        by_hour={hour: _times(times) for hour, times in sorted(hours.items())},
        missed_alert_ids=tuple(a.alert_id for a in counted if is_missed(a)),
    )


# -- visits and documentation ----------------------------------------------------------------


class VisitOutcome(StrEnum):
    HELD = "held"
    CANCELLED = "cancelled"
    MISSED = "missed"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class VisitFacts:
    """One booked visit as the figures need it."""

    encounter_id: int
    patient_id: int
    starts_at: datetime
    ends_at: datetime
    status: str  # planned, in_progress, finished, cancelled
    started: bool  # the workflow was started
    is_drill: bool = False
    # Documentation, for a held visit; None where the visit's template has no such step.
    consent_done: bool | None = None
    assessment_done: bool | None = None
    has_note: bool = False
    is_signed: bool = False


def visit_outcome(visit: VisitFacts, now: datetime) -> VisitOutcome:
    """Held once anything of it ran; missed when its booked end passed with nothing run."""
    if visit.status == "cancelled":
        return VisitOutcome.CANCELLED
    if visit.started or visit.status in ("in_progress", "finished"):
        return VisitOutcome.HELD
    return VisitOutcome.MISSED if visit.ends_at <= now else VisitOutcome.UPCOMING


@dataclass(frozen=True)
class VisitFigures:
    booked: int
    held: int
    cancelled: int
    missed: int
    upcoming: int
    held_pct: float | None
    # Held visits missing each piece of documentation.
    missing_consent: int
    missing_assessment: int
    missing_note: int
    missing_sign_off: int
    # Encounter ids of held visits with any gap, for the team to follow up.
    gaps: tuple[int, ...]


def visit_figures(visits: Iterable[VisitFacts], now: datetime) -> VisitFigures:
    """Visits booked (not drills), by what became of them, and the held ones' gaps."""
    real = [v for v in visits if not v.is_drill]
    outcomes = Counter(visit_outcome(v, now) for v in real)
    held = [v for v in real if visit_outcome(v, now) is VisitOutcome.HELD]
    consent = [v for v in held if v.consent_done is False]
    assessment = [v for v in held if v.assessment_done is False]
    note = [v for v in held if not v.has_note]
    sign_off = [v for v in held if not v.is_signed]
    gaps = sorted({v.encounter_id for v in (*consent, *assessment, *note, *sign_off)})
    return VisitFigures(
        booked=len(real),
        held=outcomes[VisitOutcome.HELD],
        cancelled=outcomes[VisitOutcome.CANCELLED],
        missed=outcomes[VisitOutcome.MISSED],
        upcoming=outcomes[VisitOutcome.UPCOMING],
        held_pct=share(outcomes[VisitOutcome.HELD], len(real) - outcomes[VisitOutcome.UPCOMING]),
        missing_consent=len(consent),
        missing_assessment=len(assessment),
        missing_note=len(note),
        missing_sign_off=len(sign_off),
        gaps=tuple(gaps),
    )


# -- connection quality ----------------------------------------------------------------------


class ConnectionEventKind(StrEnum):
    FAILED_JOIN = "failed_join"
    RECONNECTION = "reconnection"
    SOUND_ONLY = "sound_only"
    POOR_QUALITY = "poor_quality"


@dataclass(frozen=True)
class ConnectionEvent:
    encounter_id: int
    kind: ConnectionEventKind
    # How long it lasted (poor quality only).
    seconds: float | None = None


@dataclass(frozen=True)
class VisitTrouble:
    encounter_id: int
    failed_joins: int
    reconnections: int
    sound_only: int
    poor_minutes: float


@dataclass(frozen=True)
class ConnectionFigures:
    visits_held: int
    visits_with_trouble: int
    trouble_pct: float | None
    failed_joins: int
    reconnections: int
    sound_only: int
    poor_minutes: float
    visits: tuple[VisitTrouble, ...]


def connection_figures(
    events: Iterable[ConnectionEvent], held_visit_ids: Iterable[int]
) -> ConnectionFigures:
    """Trouble per held visit; events of visits not in ``held_visit_ids`` (drills, other
    teams, other periods) are left out."""
    held = set(held_visit_ids)
    per_visit: dict[int, Counter[ConnectionEventKind]] = {}
    poor: Counter[int] = Counter()
    for e in events:
        if e.encounter_id not in held:
            continue
        per_visit.setdefault(e.encounter_id, Counter())[e.kind] += 1
        if e.kind is ConnectionEventKind.POOR_QUALITY and e.seconds:
            poor[e.encounter_id] += int(round(e.seconds))
    troubles = tuple(
        VisitTrouble(
            encounter_id=visit_id,
            failed_joins=counts[ConnectionEventKind.FAILED_JOIN],
            reconnections=counts[ConnectionEventKind.RECONNECTION],
            sound_only=counts[ConnectionEventKind.SOUND_ONLY],
            poor_minutes=round(poor[visit_id] / 60, 1),
        )
        for visit_id, counts in sorted(per_visit.items())
    )
    return ConnectionFigures(
        visits_held=len(held),
        visits_with_trouble=len(troubles),
        trouble_pct=share(len(troubles), len(held)),
        failed_joins=sum(t.failed_joins for t in troubles),
        reconnections=sum(t.reconnections for t in troubles),
        sound_only=sum(t.sound_only for t in troubles),
        poor_minutes=round(sum(poor.values()) / 60, 1),
        visits=troubles,
    )


# -- symptom control -------------------------------------------------------------------------


@dataclass(frozen=True)
class SymptomScores:
    """One held visit's ESAS-r answers (0-10 each; an item not answered is absent)."""

    patient_id: int
    at: datetime
    scores: Mapping[str, int]
    is_drill: bool = False


@dataclass(frozen=True)
class ItemChange:
    item: str
    pairs: int
    mean_change: float | None  # later minus earlier: negative is better (wellbeing too)


@dataclass(frozen=True)
class SymptomFigures:
    between_visits: tuple[ItemChange, ...]
    first_two_weeks: tuple[ItemChange, ...]
    # Patients with a baseline and a later score in their first two weeks.
    patients_followed: int
    worst_improved: int
    worst_improved_pct: float | None


def _changes(
    pairs: Sequence[tuple[Mapping[str, int], Mapping[str, int]]],
) -> tuple[ItemChange, ...]:
    out = []
    for item in ESAS_ITEMS:
        deltas = [
            later[item] - earlier[item]
            for earlier, later in pairs
            if item in earlier and item in later
        ]
        out.append(
            ItemChange(item, len(deltas), round(statistics.mean(deltas), 2) if deltas else None)
        )
    return tuple(out)


def worst_item(scores: Mapping[str, int]) -> str | None:
    """The highest-scored item; a tie goes to the first in ESAS-r order."""
    answered = [item for item in ESAS_ITEMS if item in scores]
    return max(answered, key=lambda item: scores[item]) if answered else None


def symptom_figures(
    assessments: Iterable[SymptomScores], *, since: datetime, until: datetime
) -> SymptomFigures:
    """Changes between each patient's consecutive assessments where the later one falls in
    [since, until), and over the first two weeks of care of patients whose first assessment
    falls in the period (baseline: the first; compared with the last within 14 days)."""
    by_patient: dict[int, list[SymptomScores]] = {}
    for a in assessments:
        if not a.is_drill:
            by_patient.setdefault(a.patient_id, []).append(a)
    consecutive: list[tuple[Mapping[str, int], Mapping[str, int]]] = []
    first_weeks: list[tuple[Mapping[str, int], Mapping[str, int]]] = []
    improved = 0
    for rows in by_patient.values():
        rows.sort(key=lambda a: a.at)
        for earlier, later in zip(rows, rows[1:], strict=False):
            if since <= later.at < until:
                consecutive.append((earlier.scores, later.scores))
        baseline = rows[0]
        if not since <= baseline.at < until:
            continue
        within = [a for a in rows[1:] if a.at - baseline.at <= FIRST_WEEKS]
        if not within:
            continue
        last = within[-1]
        first_weeks.append((baseline.scores, last.scores))
        worst = worst_item(baseline.scores)
        if (
            worst is not None
            and worst in last.scores
            and last.scores[worst] < baseline.scores[worst]
        ):
            improved += 1
    return SymptomFigures(
        between_visits=_changes(consecutive),
        first_two_weeks=_changes(first_weeks),
        patients_followed=len(first_weeks),
        worst_improved=improved,
        worst_improved_pct=share(improved, len(first_weeks)),
    )


# -- outcomes --------------------------------------------------------------------------------


class OutcomeKind(StrEnum):
    ADMISSION = "admission"
    ED_VISIT = "ed_visit"
    EMERGENCY_CALL = "emergency_call"
    DEATH = "death"
    DISCHARGE = "discharge"


# Kinds counted per 100 patient-days.
CRISIS_KINDS = (OutcomeKind.ADMISSION, OutcomeKind.ED_VISIT, OutcomeKind.EMERGENCY_CALL)


@dataclass(frozen=True)
class OutcomeFacts:
    patient_id: int
    kind: OutcomeKind
    occurred_on: date
    crisis_plan_used: bool | None = None
    place_of_death: str | None = None
    preferred_place: str | None = None  # from the care plan when the death was recorded
    discharge_reason: str | None = None


@dataclass(frozen=True)
class CrisisRate:
    kind: OutcomeKind
    events: int
    per_100_patient_days: float | None
    crisis_plan_used: int


@dataclass(frozen=True)
class OutcomeFigures:
    patient_days: int
    crises: tuple[CrisisRate, ...]
    deaths: int
    # Deaths where a preference had been discussed, and of those, in the preferred place.
    deaths_with_preference: int
    died_where_preferred: int
    died_where_preferred_pct: float | None
    # (preferred place, place of death) -> deaths.
    places: Mapping[tuple[str, str], int]
    discharges: Mapping[str, int]


NOT_DISCUSSED = "not_discussed"


def outcome_figures(
    outcomes: Iterable[OutcomeFacts], *, start: date, end: date, days_in_care: int
) -> OutcomeFigures:
    """Outcomes that happened in [start, end), with ``days_in_care`` from :func:`patient_days`."""
    counted = [o for o in outcomes if start <= o.occurred_on < end]
    crises = tuple(
        CrisisRate(
            kind=kind,
            events=sum(1 for o in counted if o.kind is kind),
            per_100_patient_days=per_100_patient_days(
                sum(1 for o in counted if o.kind is kind), days_in_care
            ),
            crisis_plan_used=sum(1 for o in counted if o.kind is kind and o.crisis_plan_used),
        )
        for kind in CRISIS_KINDS
    )
    deaths = [o for o in counted if o.kind is OutcomeKind.DEATH]
    with_preference = [
        o for o in deaths if o.preferred_place not in (None, NOT_DISCUSSED) and o.place_of_death
    ]
    where_preferred = sum(1 for o in with_preference if o.place_of_death == o.preferred_place)
    places = Counter(
        (o.preferred_place or NOT_DISCUSSED, o.place_of_death or "unknown") for o in deaths
    )
    discharges = Counter(
        o.discharge_reason or "unknown" for o in counted if o.kind is OutcomeKind.DISCHARGE
    )
    return OutcomeFigures(
        patient_days=days_in_care,
        crises=crises,
        deaths=len(deaths),
        deaths_with_preference=len(with_preference),
        died_where_preferred=where_preferred,
        died_where_preferred_pct=share(where_preferred, len(with_preference)),
        places=dict(sorted(places.items())),
        discharges=dict(sorted(discharges.items())),
    )


# -- satisfaction ----------------------------------------------------------------------------


# The family survey: each question is answered 1 (not at all) to 5 (completely), or skipped.
SURVEY_QUESTIONS = ("listened", "explained", "comfort", "connection", "overall")
SURVEY_SCALE = (1, 5)
# Answers of 4 or 5 count as satisfied.
SATISFIED_FROM = 4


@dataclass(frozen=True)
class SurveyAnswers:
    answers: Mapping[str, int]
    is_drill: bool = False


@dataclass(frozen=True)
class QuestionFigures:
    question: str
    answered: int
    mean: float | None
    satisfied: int
    satisfied_pct: float | None


@dataclass(frozen=True)
class SatisfactionFigures:
    responses: int
    questions: tuple[QuestionFigures, ...] = field(default=())


def satisfaction_figures(responses: Iterable[SurveyAnswers]) -> SatisfactionFigures:
    real = [r for r in responses if not r.is_drill]
    questions = []
    for question in SURVEY_QUESTIONS:
        values = [r.answers[question] for r in real if question in r.answers]
        satisfied = sum(1 for v in values if v >= SATISFIED_FROM)
        questions.append(
            QuestionFigures(
                question=question,
                answered=len(values),
                mean=round(statistics.mean(values), 2) if values else None,
                satisfied=satisfied,
                satisfied_pct=share(satisfied, len(values)),
            )
        )
    return SatisfactionFigures(responses=len(real), questions=tuple(questions))


# -- reviews of missed escalations -----------------------------------------------------------


class ReviewCause(StrEnum):
    STAFFING = "staffing"
    HANDOVER = "handover"
    CONTACT_DETAILS = "contact_details"
    DEVICE_OR_APP = "device_or_app"
    WORKLOAD = "workload"
    UNCLEAR_PLAN = "unclear_plan"
    OTHER = "other"


def review_causes(causes: Iterable[ReviewCause]) -> Mapping[ReviewCause, int]:
    """How many reviews named each cause, in the order causes are listed."""
    counts = Counter(causes)
    return {cause: counts[cause] for cause in ReviewCause if counts[cause]}

"""The monthly quality figures, each computed by hand on a few made-up records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from encounters.escalation import (
    AlertState,
    EscalationLadder,
    Tier,
    acknowledge,
    apply_escalation,
    escalation_due,
    raise_alert,
    resolve,
)
from encounters.quality import (
    ConnectionEvent,
    ConnectionEventKind,
    OutcomeFacts,
    OutcomeKind,
    ReviewCause,
    SurveyAnswers,
    SymptomScores,
    VisitFacts,
    alert_response,
    connection_figures,
    outcome_figures,
    patient_days,
    per_100_patient_days,
    review_causes,
    satisfaction_figures,
    shown,
    symptom_figures,
    visit_figures,
    withheld,
    worst_item,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
LADDER = EscalationLadder(
    (
        Tier(1, "On-call nurse", 15, user_id="nurse", role="on_call_nurse"),
        Tier(2, "Palliative physician", 30, role="palliative_physician"),
    )
)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def _alert(
    alert_id: str,
    raised: datetime,
    ack_min: float | None,
    *,
    resolve_min: float | None = None,
    drill: bool = False,
) -> AlertState:
    """An alert acknowledged after ``ack_min`` minutes, escalating on the way if it is late."""
    state = replace(raise_alert(alert_id, LADDER, raised_at=raised), is_drill=drill)
    if ack_min is None:
        return state
    acked = raised + minutes(ack_min)
    # The escalation runner moves the alert at each deadline that passes before the answer.
    while state.deadline is not None and state.deadline <= acked:
        due = escalation_due(state, LADDER, state.deadline)
        assert due is not None
        state = apply_escalation(state, due)
    state = acknowledge(
        state, LADDER, user_id="nurse", user_roles=("palliative_physician",), now=acked
    )
    if resolve_min is not None:
        state = resolve(
            state,
            LADDER,
            user_id="nurse",
            user_roles=("palliative_physician",),
            outcome="advice_given",
            now=raised + minutes(resolve_min),
        )
    return state


def test_small_numbers_are_shown_as_fewer_than_five_and_zero_as_zero() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 12)] == [0, "< 5", "< 5", 5, 12]
    assert withheld(4) and not withheld(5)


def test_rates_per_100_patient_days() -> None:
    # Three patients in March: all month (31 days), from the 22nd (10 days), until the 5th (5).
    stays = [
        (date(2026, 1, 1), None),
        (date(2026, 3, 22), None),
        (date(2026, 2, 1), date(2026, 3, 5)),
        (date(2026, 4, 2), None),  # not yet in care
    ]
    days = patient_days(stays, date(2026, 3, 1), date(2026, 4, 1))
    assert days == 46
    assert per_100_patient_days(3, days) == 6.52  # 300 / 46
    assert per_100_patient_days(3, 0) is None


def test_alert_response_medians_percentiles_deadlines_and_hours() -> None:
    alerts = [
        _alert("a", T0 + timedelta(hours=2), 5, resolve_min=20),
        _alert("b", T0 + timedelta(hours=2, minutes=5), 10, resolve_min=40),
        _alert("c", T0 + timedelta(hours=9), 14, resolve_min=60),
        # Tier 1 missed its 15 minutes: escalated to tier 2, acknowledged there in time.
        _alert("d", T0 + timedelta(hours=9, minutes=30), 25),
        # Past both deadlines (15, then 30 more): acknowledged after 50 minutes.
        _alert("e", T0 + timedelta(hours=20), 50),
        _alert("f", T0 + timedelta(hours=21), None),
        _alert("drill", T0 + timedelta(hours=3), 1, drill=True),
        _alert("before", T0 - minutes(1), 1),
    ]
    figures = alert_response(alerts, since=T0, until=END, zone=UTC)
    assert figures.alerts == 6
    assert figures.acknowledge.count == 5
    assert figures.acknowledge.median_s == 14 * 60
    assert figures.acknowledge.p90_s == 50 * 60  # rank ceil(0.9 * 5) = 5
    assert figures.resolve.count == 3 and figures.resolve.median_s == 40 * 60
    # a, b, c within tier 1; d within tier 2's deadline; e past tier 2's.
    assert figures.within_deadline == 4
    assert figures.within_deadline_pct == 66.7
    assert figures.escalations == 2  # d once, e once (then it ran out of tiers)
    assert figures.escalations_per_alert == 0.33
    tiers = {t.tier: t for t in figures.by_tier}
    assert tiers[1].acknowledge.count == 3 and tiers[1].within_deadline == 3
    assert tiers[2].acknowledge.count == 2 and tiers[2].within_deadline == 1
    assert sorted(figures.by_hour) == [2, 9, 20]
    assert figures.by_hour[2].median_s == 7.5 * 60
    assert figures.missed_alert_ids == ("d", "e")


def test_alert_hours_are_the_teams_local_hours() -> None:
    summer = datetime(2026, 6, 1, 8, tzinfo=UTC)  # 09:00 in London
    figures = alert_response(
        [_alert("a", summer, 3)], since=summer, until=summer + minutes(60), zone=LONDON
    )
    assert list(figures.by_hour) == [9]


def test_drill_alerts_are_counted_apart() -> None:
    alerts = [_alert("care", T0, 5), _alert("drill", T0, 1, drill=True)]
    care = alert_response(alerts, since=T0, until=END, zone=UTC)
    drills = alert_response(alerts, since=T0, until=END, zone=UTC, drills=True)
    assert (care.alerts, care.acknowledge.median_s) == (1, 300)
    assert (drills.alerts, drills.acknowledge.median_s) == (1, 60)


def test_an_acknowledgement_after_the_period_is_not_yet_known() -> None:
    late = _alert("a", END - minutes(5), 10)
    figures = alert_response([late], since=T0, until=END, zone=UTC)
    assert figures.alerts == 1 and figures.acknowledge.count == 0


def _visit(encounter_id: int, day: int, **kw: object) -> VisitFacts:
    start = T0 + timedelta(days=day, hours=10)
    base: dict[str, object] = {
        "encounter_id": encounter_id,
        "patient_id": 1,
        "starts_at": start,
        "ends_at": start + minutes(60),
        "status": "finished",
        "started": True,
        "consent_done": True,
        "assessment_done": True,
        "has_note": True,
        "is_signed": True,
    }
    return VisitFacts(**(base | kw))  # type: ignore[arg-type]


def test_visits_held_cancelled_missed_and_their_documentation_gaps() -> None:
    now = T0 + timedelta(days=20)
    visits = [
        _visit(1, 1),
        _visit(2, 2, consent_done=False),
        _visit(3, 3, assessment_done=False, has_note=False, is_signed=False),
        _visit(4, 4, is_signed=False),
        _visit(5, 5, status="cancelled", started=False),
        _visit(6, 6, status="planned", started=False),  # its end passed: missed
        _visit(7, 25, status="planned", started=False),  # still to come
        _visit(8, 8, is_drill=True, has_note=False),
    ]
    figures = visit_figures(visits, now)
    assert (figures.booked, figures.held, figures.cancelled, figures.missed, figures.upcoming) == (
        7,
        4,
        1,
        1,
        1,
    )
    assert figures.held_pct == 66.7  # 4 of the 6 whose time has come
    assert (figures.missing_consent, figures.missing_assessment) == (1, 1)
    assert (figures.missing_note, figures.missing_sign_off) == (1, 2)
    assert figures.gaps == (2, 3, 4)


def test_connection_trouble_per_held_visit() -> None:
    kinds = ConnectionEventKind
    events = [
        ConnectionEvent(1, kinds.RECONNECTION),
        ConnectionEvent(1, kinds.RECONNECTION),
        ConnectionEvent(1, kinds.POOR_QUALITY, 90),
        ConnectionEvent(1, kinds.POOR_QUALITY, 30),
        ConnectionEvent(2, kinds.FAILED_JOIN),
        ConnectionEvent(2, kinds.SOUND_ONLY),
        ConnectionEvent(9, kinds.FAILED_JOIN),  # a drill visit: not among the held visits
    ]
    figures = connection_figures(events, held_visit_ids=[1, 2, 3, 4])
    assert (figures.visits_held, figures.visits_with_trouble, figures.trouble_pct) == (4, 2, 50.0)
    assert (figures.failed_joins, figures.reconnections, figures.sound_only) == (1, 2, 1)
    assert figures.poor_minutes == 2.0
    first = figures.visits[0]
    assert (first.encounter_id, first.reconnections, first.poor_minutes) == (1, 2, 2.0)


def test_symptom_change_between_visits_and_over_the_first_two_weeks() -> None:
    def at(day: int) -> datetime:
        return T0 + timedelta(days=day)

    records = [
        # Patient 1 starts in March: pain is worst (8), then 6, then 3 on day 10.
        SymptomScores(1, at(0), {"pain": 8, "nausea": 2}),
        SymptomScores(1, at(5), {"pain": 6, "nausea": 3}),
        SymptomScores(1, at(10), {"pain": 3, "nausea": 3}),
        SymptomScores(1, at(20), {"pain": 4, "nausea": 1}),  # after the first two weeks
        # Patient 2 starts in March: nausea worst (7) is no better at day 7.
        SymptomScores(2, at(1), {"pain": 2, "nausea": 7}),
        SymptomScores(2, at(8), {"pain": 1, "nausea": 7}),
        # Patient 3 started in February: counted between visits, not in the first weeks.
        SymptomScores(3, at(-10), {"pain": 5}),
        SymptomScores(3, at(2), {"pain": 7}),
        SymptomScores(4, at(3), {"pain": 9}, is_drill=True),
        SymptomScores(4, at(4), {"pain": 0}, is_drill=True),
    ]
    figures = symptom_figures(records, since=T0, until=END)
    pain = next(c for c in figures.between_visits if c.item == "pain")
    # Pairs: 8->6, 6->3, 3->4 (patient 1), 2->1 (patient 2), 5->7 (patient 3).
    assert pain.pairs == 5 and pain.mean_change == -0.6
    nausea = next(c for c in figures.between_visits if c.item == "nausea")
    assert (nausea.pairs, nausea.mean_change) == (4, -0.25)
    tiredness = next(c for c in figures.between_visits if c.item == "tiredness")
    assert (tiredness.pairs, tiredness.mean_change) == (0, None)
    weeks_pain = next(c for c in figures.first_two_weeks if c.item == "pain")
    assert (weeks_pain.pairs, weeks_pain.mean_change) == (2, -3.0)  # 8->3, 2->1
    assert (figures.patients_followed, figures.worst_improved) == (2, 1)
    assert figures.worst_improved_pct == 50.0


def test_worst_item_tie_goes_to_the_first_in_esas_order() -> None:
    assert worst_item({"anxiety": 6, "pain": 6, "nausea": 1}) == "pain"
    assert worst_item({}) is None


def test_outcomes_rates_and_place_of_death_against_preference() -> None:
    def on(day: int) -> date:
        return date(2026, 3, day)

    outcomes = [
        OutcomeFacts(1, OutcomeKind.ADMISSION, on(3), crisis_plan_used=False),
        OutcomeFacts(2, OutcomeKind.ADMISSION, on(9), crisis_plan_used=True),
        OutcomeFacts(1, OutcomeKind.ED_VISIT, on(4), crisis_plan_used=True),
        OutcomeFacts(3, OutcomeKind.EMERGENCY_CALL, on(5)),
        OutcomeFacts(1, OutcomeKind.ADMISSION, date(2026, 2, 27)),  # before the month
        OutcomeFacts(1, OutcomeKind.DEATH, on(20), place_of_death="home", preferred_place="home"),
        OutcomeFacts(
            2, OutcomeKind.DEATH, on(21), place_of_death="hospital", preferred_place="home"
        ),
        OutcomeFacts(
            3, OutcomeKind.DEATH, on(22), place_of_death="hospice", preferred_place="not_discussed"
        ),
        OutcomeFacts(4, OutcomeKind.DISCHARGE, on(23), discharge_reason="stable"),
    ]
    figures = outcome_figures(outcomes, start=on(1), end=date(2026, 4, 1), days_in_care=200)
    rates = {c.kind: c for c in figures.crises}
    assert rates[OutcomeKind.ADMISSION].events == 2
    assert rates[OutcomeKind.ADMISSION].per_100_patient_days == 1.0
    assert rates[OutcomeKind.ADMISSION].crisis_plan_used == 1
    assert rates[OutcomeKind.ED_VISIT].per_100_patient_days == 0.5
    assert rates[OutcomeKind.EMERGENCY_CALL].events == 1
    assert (figures.deaths, figures.deaths_with_preference, figures.died_where_preferred) == (
        3,
        2,
        1,
    )
    assert figures.died_where_preferred_pct == 50.0
    assert figures.places[("home", "hospital")] == 1
    assert figures.places[("not_discussed", "hospice")] == 1
    assert figures.discharges == {"stable": 1}


def test_satisfaction_means_and_share_satisfied_without_drills() -> None:
    responses = [
        SurveyAnswers({"overall": 5, "listened": 4}),
        SurveyAnswers({"overall": 3}),
        SurveyAnswers({"overall": 4, "listened": 2}),
        SurveyAnswers({}),  # every question skipped
        SurveyAnswers({"overall": 1}, is_drill=True),
    ]
    figures = satisfaction_figures(responses)
    assert figures.responses == 4
    overall = next(q for q in figures.questions if q.question == "overall")
    assert (overall.answered, overall.mean, overall.satisfied, overall.satisfied_pct) == (
        3,
        4.0,
        2,
        66.7,
    )
    listened = next(q for q in figures.questions if q.question == "listened")
    assert (listened.answered, listened.mean, listened.satisfied) == (2, 3.0, 1)


def test_review_causes_are_counted_in_list_order() -> None:
    causes = [ReviewCause.WORKLOAD, ReviewCause.HANDOVER, ReviewCause.WORKLOAD]
    assert list(review_causes(causes).items()) == [
        (ReviewCause.HANDOVER, 1),
        (ReviewCause.WORKLOAD, 2),
    ]

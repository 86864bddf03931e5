"""A month of seeded activity gives the expected quality figures, through the API and the CSV;
outcomes, reviews of missed escalations and the family's survey through their routes; and
connection trouble recorded from a visit's sockets."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from dataclasses import replace
from typing import Any

from sqlalchemy import select, update

from encounters.encounter_state import (
    EncounterState,
    EncounterStatus,
    StepState,
    StepStatus,
    freeze,
    state_to_dict,
)
from encounters.escalation import (
    EscalationLadder,
    Tier,
    acknowledge,
    apply_escalation,
    escalation_due,
    raise_alert,
)
from encounters.templates import StepKind
from server.core.i18n import translations
from server.services.alerts import _columns, ladder_to_json
from server.store.between_visits import Alert
from server.store.models import CareTeam, CareTeamMember, Encounter, Patient, User
from server.store.notes import VisitNote
from server.store.quality import ConnectionEventRow, SurveyResponse
from tests.builders import World
from tests.integration.test_list_query_counts import counting
from tests.visit_clients import VisitClient

MARCH = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
LADDER = EscalationLadder(
    (
        Tier(1, "On-call nurse", 15, role="clinician"),
        Tier(2, "Coordinator", 30, role="coordinator"),
    )
)


def at(day: int, hour: int = 10) -> dt.datetime:
    return MARCH + dt.timedelta(days=day - 1, hours=hour)


def visit_state(*, consent: bool, pain: int, nausea: int) -> dict[str, Any]:
    done = StepStatus.COMPLETED
    state = EncounterState(
        template_id="home_palliative_visit",
        template_version=1,
        status=EncounterStatus.FINISHED,
        steps=(
            StepState("identity", StepKind.IDENTITY, done),
            StepState("consent", StepKind.CONSENT, done if consent else StepStatus.OPEN),
            StepState(
                "assessment",
                StepKind.ASSESSMENT,
                done,
                answers=freeze({"esas": {"pain": pain, "nausea": nausea}}),  # type: ignore[arg-type]
            ),
            StepState("crisis_rehearsal", StepKind.CRISIS_REHEARSAL, done),
            StepState("wrap_up", StepKind.WRAP_UP, done),
        ),
    )
    return state_to_dict(state)


async def seed_month(world: World, *, team: str = "Team a", patients: int = 6) -> list[int]:
    """``patients`` more patients on ``team`` (coord_a and clin_a on it) with a month of care.

    Each patient: a visit on the 3rd (pain 8, nausea 2) and on the 10th (pain 4; the last
    patient's pain rises to 9), notes signed except two, consent missing on one; two care
    alerts (acknowledged in 2k and 2k+1 minutes) and, for the first, one that missed tier 1.
    """
    coord, clin = world.users["coord_a"], world.users["clin_a"]
    ids = []
    async with world.db.begin() as s:
        for i in range(patients):
            patient = Patient(
                name=f"Month patient {i}",
                birth_date=dt.date(1940, 1, 1),
                time_zone="UTC",
                language="en",
                created_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
            )
            s.add(patient)
            await s.flush()
            ids.append(patient.id)
            care_team = CareTeam(patient_id=patient.id, name=team)
            s.add(care_team)
            await s.flush()
            s.add_all(
                [
                    CareTeamMember(care_team_id=care_team.id, user_id=coord.id),
                    CareTeamMember(care_team_id=care_team.id, user_id=clin.id),
                ]
            )
            later_pain = 9 if i == patients - 1 else 4
            for day, pain in ((3, 8), (10, later_pain)):
                encounter = Encounter(
                    patient_id=patient.id,
                    clinician_id=clin.id,
                    kind="video_visit",
                    template="home_palliative_visit",
                    status="finished",
                    starts_at=at(day),
                    ends_at=at(day) + dt.timedelta(hours=1),
                    state=visit_state(consent=not (i == 0 and day == 3), pain=pain, nausea=2),
                    is_drill=False,
                    created_at=at(1),
                )
                s.add(encounter)
                await s.flush()
                if not (i < 2 and day == 10):
                    s.add(
                        VisitNote(
                            encounter_id=encounter.id,
                            narrative="Seen at home.",
                            narrative_by=clin.id,
                            narrative_at=at(day, 12),
                            signed_by=clin.id,
                            signed_at=at(day, 12),
                        )
                    )
                if day == 3 and i < 2:
                    s.add(
                        ConnectionEventRow(
                            encounter_id=encounter.id, at=at(day), kind="reconnection",
                            role="family",
                        )
                    )  # fmt: skip
            for k, minutes in enumerate((2 * i + 2, 2 * i + 3)):
                await _alert(s, patient.id, at(5 + k, 2 + i), minutes)
            if i == 0:
                await _alert(s, patient.id, at(20, 23), 20)
            s.add(
                SurveyResponse(
                    care_team=team,
                    answered_on=dt.date(2026, 3, 11),
                    answers={"overall": (5, 5, 4, 4, 3, 2)[i % 6]},
                    language="en",
                    is_drill=False,
                )
            )
    return ids


async def _alert(
    s: Any, patient_id: int, raised: dt.datetime, ack_min: int, *, drill: bool = False
) -> Alert:
    state = replace(raise_alert("0", LADDER, raised_at=raised), is_drill=drill)
    acked = raised + dt.timedelta(minutes=ack_min)
    while state.deadline is not None and state.deadline <= acked:
        due = escalation_due(state, LADDER, state.deadline)
        assert due is not None
        state = apply_escalation(state, due)
    state = acknowledge(state, LADDER, user_id="1", user_roles=("clinician", "coordinator"),
                        now=acked)  # fmt: skip
    row = Alert(
        patient_id=patient_id,
        rule_id="esas_severe",
        severity="high",
        summary="Seeded",
        evidence=[],
        dedup_key=f"seed-{raised.isoformat()}-{patient_id}",
        covers=[],
        raised_at=raised,
        ladder=ladder_to_json(LADDER),
        revision=1,
        is_drill=drill,
        **_columns(state),
    )
    s.add(row)
    await s.flush()
    return row


def figure(body: dict[str, Any], name: str, breakdown: str | None = None,
           section: str | None = None) -> Any:  # fmt: skip
    rows = [
        f
        for f in body["figures"]
        if f["figure"] == name
        and f["breakdown"] == breakdown
        and (section is None or f["section"] == section)
    ]
    assert len(rows) == 1, (name, breakdown, rows)
    return rows[0]


async def test_a_month_of_activity_gives_the_expected_figures_and_csv(world, clock) -> None:
    ids = await seed_month(world)
    async with world.db.begin() as s:
        await _alert(s, ids[1], at(7, 3), 1, drill=True)
    clock.set(dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC))
    clin = await world.agent("clin_a")
    # Outcomes: three admissions (one with the crisis plan used), one death at home.
    for day, used in ((4, True), (12, False), (18, False)):
        status, body = await clin.call(
            "POST",
            f"/api/patients/{ids[day % 3]}/outcomes",
            {"kind": "admission", "occurred_on": f"2026-03-{day:02d}", "reason": "Pain crisis",
             "crisis_plan_used": used},
        )  # fmt: skip
        assert status == 201, body
    status, body = await clin.call(
        "POST",
        f"/api/patients/{ids[5]}/outcomes",
        {"kind": "death", "occurred_on": "2026-03-25", "place_of_death": "home"},
    )
    assert status == 201, body

    coord = await world.agent("coord_a")
    status, body = await coord.call("GET", "/api/quality?team=Team%20a&month=2026-03")
    assert status == 200, body
    assert body["teams"] == ["Team a"] and body["month"] == "2026-03"

    # Alerts: 12 care alerts acknowledged in 2..13 minutes, one after 20 (it missed tier 1).
    assert figure(body, "alerts", section="alerts")["value"] == 13
    assert figure(body, "acknowledge_median", section="alerts")["value"] == 8 * 60
    assert figure(body, "acknowledge_p90", section="alerts")["value"] == 13 * 60  # rank 12 of 13
    assert figure(body, "within_deadline_pct", section="alerts")["value"] == 100.0
    assert figure(body, "escalations_per_alert", section="alerts")["value"] == 0.08
    tier2 = figure(body, "acknowledged", "tier 2", section="alerts")
    assert tier2["value"] == "< 5"
    assert figure(body, "acknowledge_median", "tier 2", section="alerts")["suppressed"] is True
    # The drill alert stays in the drill section.
    drill_alerts = [f for f in body["drill_figures"] if f["figure"] == "alerts"]
    assert drill_alerts[0]["value"] == "< 5"

    # Visits: 12 seeded held, plus the world's own visit on the 2nd, never held: missed.
    assert figure(body, "booked")["value"] == 13
    assert figure(body, "held")["value"] == 12
    assert figure(body, "missed")["value"] == "< 5"
    assert figure(body, "held_pct")["value"] == 92.3
    assert figure(body, "missing_note")["value"] == "< 5"
    assert figure(body, "missing_consent")["value"] == "< 5"
    assert figure(body, "missing_sign_off")["value"] == "< 5"
    assert figure(body, "visits_with_trouble")["value"] == "< 5"
    assert figure(body, "trouble_pct")["value"] == 16.7  # 2 of 12

    # Symptoms: pain 8 -> 4 for five patients, 8 -> 9 for one.
    pain = figure(body, "change_between_visits", "pain")
    assert (pain["value"], pain["base"]) == (-3.17, 6)  # (5 x -4 + 1) / 6 = -19 / 6
    assert figure(body, "worst_improved_pct")["value"] == 83.3

    # Outcomes: days in care 5 x 31, the patient who died on the 25th 25, and the world's
    # patient from the 2nd 30: 210.
    assert figure(body, "patient_days")["value"] == 210
    assert figure(body, "events", "admission")["value"] == "< 5"
    assert figure(body, "per_100_patient_days", "admission")["value"] == 1.43  # 300 / 210
    assert figure(body, "deaths")["value"] == "< 5"
    assert figure(body, "died_where_preferred_pct")["value"] is None

    # Satisfaction: answers 5, 5, 4, 4, 3, 2.
    assert figure(body, "responses")["value"] == 6
    overall = figure(body, "mean", "overall")
    assert (overall["value"], overall["base"]) == (3.83, 6)
    assert figure(body, "satisfied_pct", "overall")["value"] == 66.7

    # The missed escalation is listed, not yet reviewed.
    assert [a["reviewed"] for a in body["missed_alerts"]] == [False]
    alert_id = body["missed_alerts"][0]["alert_id"]

    status, text = await coord.call("GET", "/api/quality.csv?team=Team%20a&month=2026-03")
    assert status == 200
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["Section", "Figure", "Breakdown", "Value"]
    by_label = {(r[1], r[2]): r for r in table[1:] if r[0] == "Visits"}
    assert by_label[("Visits held", "")][3] == "12"
    assert by_label[("Visits missed", "")][3] == "< 5"
    assert len(table) - 1 == len(body["figures"]) + len(body["drill_figures"])
    assert all(row[6] for row in table[1:])  # every figure carries its definition
    # In the coordinator's own language (their account's), whatever the browser sends.
    coord_id = world.users["coord_a"].id
    async with world.db.begin() as s:
        await s.execute(update(User).where(User.id == coord_id).values(language="es"))
    status, text = await coord.call(
        "GET", "/api/quality.csv?team=Team%20a&month=2026-03", headers={"Accept-Language": "en"}
    )
    spanish = translations("es").gettext
    assert status == 200
    header = list(csv.reader(io.StringIO(text)))[0][:4]
    assert (
        header == [spanish(w) for w in ("Section", "Figure", "Breakdown", "Value")] != table[0][:4]
    )
    async with world.db.begin() as s:
        await s.execute(update(User).where(User.id == coord_id).values(language=None))

    # The review of the missed escalation, then listed with its cause.
    review = {
        "cause": "handover",
        "what_happened": "The page went to the day nurse after her shift.",
        "why": "The rota was not updated at handover.",
        "what_changes": "The rota is checked at each handover.",
    }
    status, saved = await coord.call("PUT", f"/api/alerts/{alert_id}/review", review)
    assert status == 200 and saved["revision"] == 1, saved
    status, saved = await coord.call(
        "PUT", f"/api/alerts/{alert_id}/review", review | {"cause": "staffing"}
    )
    assert status == 200 and saved["revision"] == 2
    status, body = await coord.call("GET", "/api/quality?month=2026-03")
    assert body["reviews"][0]["cause"] == "staffing"
    assert figure(body, "cause", "staffing")["value"] == "< 5"


async def test_the_figures_take_the_same_number_of_queries_for_three_times_the_data(
    world, clock
) -> None:
    await seed_month(world, patients=3)
    clock.set(dt.datetime(2026, 4, 2, 9, tzinfo=dt.UTC))
    coord = await world.agent("coord_a")
    db = world.db
    with counting(db) as first:
        status, _ = await coord.call("GET", "/api/quality?month=2026-03")
    assert status == 200
    await seed_month(world, patients=6)
    with counting(db) as second:
        status, _ = await coord.call("GET", "/api/quality?month=2026-03")
    assert status == 200
    assert len(first) == len(second), (len(first), len(second))


async def test_who_may_read_the_figures_and_bad_input(world) -> None:
    clin = await world.agent("clin_a")
    status, body = await clin.call("GET", "/api/quality")
    assert status == 403 and body["code"] == "forbidden"
    coord = await world.agent("coord_a")
    status, body = await coord.call("GET", "/api/quality?team=Team%20b")
    assert status == 404 and body["code"] == "not_found"
    status, body = await coord.call("GET", "/api/quality?month=2026-13")
    assert status == 422 and body["field"] == "month"
    family = await world.agent("family_a")
    status, body = await family.call("GET", "/api/quality")
    assert status == 403


async def test_outcomes_are_checked_edited_with_history_and_audited(world, clock) -> None:
    patient_id = world.patients["a"].id
    clin = await world.agent("clin_a")
    url = f"/api/patients/{patient_id}/outcomes"
    status, body = await clin.call("POST", url, {"kind": "death", "occurred_on": "2026-03-01"})
    assert status == 422 and body["field"] == "place_of_death"
    status, body = await clin.call(
        "POST", url, {"kind": "admission", "occurred_on": "2026-03-01", "place_of_death": "home"}
    )
    assert status == 422 and body["field"] == "place_of_death"
    status, body = await clin.call("POST", url, {"kind": "ed_visit", "occurred_on": "2027-01-01"})
    assert status == 422 and body["field"] == "occurred_on"
    status, body = await clin.call("POST", url, {"kind": "discharge", "occurred_on": "2026-03-01"})
    assert status == 422 and body["field"] == "discharge_reason"
    status, body = await clin.call("POST", url, {"kind": "flood", "occurred_on": "2026-03-01"})
    assert status == 422
    status, created = await clin.call(
        "POST", url, {"kind": "death", "occurred_on": "2026-03-01", "place_of_death": "hospital"}
    )
    assert status == 201, created
    assert created["preferred_place"] == "not_discussed"  # the default care plan's
    edit = {"kind": "death", "occurred_on": "2026-03-01", "place_of_death": "home", "revision": 1}
    status, edited = await clin.call("PUT", f"/api/outcomes/{created['id']}", edit)
    assert status == 200, edited
    assert edited["place_of_death"] == "home" and edited["revision"] == 2
    assert edited["history"][0]["place_of_death"] == "hospital"
    status, body = await clin.call("PUT", f"/api/outcomes/{created['id']}", edit)
    assert status == 409 and body["code"] == "stale_revision"
    other = await world.agent("clin_b")
    status, body = await other.call("GET", url)
    assert status == 404
    status, listed = await clin.call("GET", url)
    assert status == 200 and [o["id"] for o in listed["items"]] == [created["id"]]
    admin = await world.agent("admin")
    status, log = await admin.call("GET", f"/api/audit?patient_id={patient_id}")
    assert status == 200, log
    actions = {(e["action"], e["resource_type"]) for e in log["items"]}
    assert {("create", "outcome"), ("update", "outcome"), ("list", "outcome")} <= actions


async def test_the_family_answers_the_survey_once_after_the_visit(world) -> None:
    family = await world.agent("family_a")
    status, body = await family.call("GET", "/api/survey")
    assert status == 200 and body == {"offered": False}  # the visit has not taken place
    status, body = await family.call("POST", "/api/survey", {"answers": {"overall": 5}})
    assert status == 409 and body["code"] == "too_early"
    async with world.db.begin() as s:
        encounter = await s.get(Encounter, world.encounters["a"].id)
        assert encounter is not None
        encounter.status = "finished"
    status, body = await family.call("GET", "/api/survey")
    assert body == {"offered": True}
    status, body = await family.call("POST", "/api/survey", {"answers": {"overall": 6}})
    assert status == 422
    status, body = await family.call("POST", "/api/survey", {"answers": {"mood": 3}})
    assert status == 422 and body["field"] == "answers"
    status, body = await family.call(
        "POST", "/api/survey", {"answers": {"overall": 4, "listened": 5}}
    )
    assert status == 201, body
    status, body = await family.call("POST", "/api/survey/skip")
    assert status == 409 and body["code"] == "already_answered"
    assert (await family.call("GET", "/api/survey"))[1] == {"offered": False}
    async with world.db.begin() as s:
        rows = (await s.scalars(select(SurveyResponse))).all()
    assert [(r.care_team, r.answers) for r in rows] == [("Team a", {"overall": 4, "listened": 5})]
    staff = await world.agent("clin_a")
    status, body = await staff.call("POST", "/api/survey", {"answers": {}})
    assert status == 403


async def test_a_visit_records_reconnections_sound_only_and_poor_quality(world) -> None:
    encounter_id = world.encounters["a"].id
    nurse = await world.agent("clin_a")
    client = VisitClient(nurse)
    await client.connect()
    await client.join(encounter_id)
    assert await client.call("quality", {"level": "poor"}) == {"ok": True}
    assert await client.call("quality", {"level": "fair", "sound_only": True}) == {"ok": True}
    reply = await client.call("quality", {"level": "good", "sound_only": "yes"})
    assert reply["code"] == "bad_request"
    await client.close()
    again = VisitClient(nurse)
    await again.connect()
    await again.join(encounter_id)  # back within the grace period: a reconnection
    await again.close()
    for _ in range(50):
        async with world.db.begin() as s:
            rows = (await s.scalars(select(ConnectionEventRow))).all()
        if len(rows) >= 3:
            break
        await asyncio.sleep(0.05)
    kinds = sorted(r.kind for r in rows)
    assert kinds == ["poor_quality", "reconnection", "sound_only"]
    assert all(r.encounter_id == encounter_id and r.role == "clinician" for r in rows)
    poor = next(r for r in rows if r.kind == "poor_quality")
    assert poor.seconds is not None and poor.seconds >= 0


async def test_the_quality_page_is_for_coordinators(world) -> None:
    coord = await world.agent("coord_a")
    status, html = await coord.call("GET", "/quality?team=Team%20a&month=2026-03")
    assert status == 200
    assert "/api/quality.csv?month=2026-03&amp;team=Team+a" in html
    assert '<option value="Team a" selected>' in html
    status, html = await coord.call("GET", "/quality?team=Team%20b")
    assert status == 404
    status, html = await coord.call("GET", "/quality?month=March")
    assert status == 422
    clin = await world.agent("clin_a")
    status, html = await clin.call("GET", "/quality")
    assert status == 403

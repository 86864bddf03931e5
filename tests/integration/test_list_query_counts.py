"""Every list endpoint loads what it shows in a fixed number of SQL statements.

For each endpoint the test seeds N items, counts the statements the request runs, seeds 2N
more (3N in all) and counts again: the two counts must be equal, and small. Each item has its
own patient and clinician where the list shows them, so a lookup per item cannot hide behind
the session's identity map.

Statements are counted on the app's own engine. The background rounds (drill player,
escalation timer, reminder runner) share that engine and may run during a request; their
statements are left out by the task they run in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import default_care_plan
from encounters.careplan_json import care_plan_to_dict
from encounters.drill_json import snapshot
from server.core import periodic
from server.core.settings import Settings
from server.services import audit
from server.services.calendars import issue_feed
from server.services.context import SCENARIOS, SERVICES
from server.services.links import issue_link
from server.store.between_visits import Alert, CarePlanVersion, DiaryEntry
from server.store.db import Database
from server.store.drills import Drill, DrillEvent
from server.store.models import (
    CareTeam,
    CareTeamMember,
    Encounter,
    FamilyMember,
    Patient,
    Reading,
    User,
)
from server.store.scheduling import ClinicianHours, ClinicianKind, ClinicianTimeOff
from tests.builders import PASSWORD_HASH, World
from tests.conftest import FakeClock

N = 3
# The coroutine of every background round (server.core.periodic.every's inner loop).
BACKGROUND_ROUND = f"{periodic.every.__qualname__}.<locals>."
# Session lookup, the handler's own few queries and one audit insert: a list that needs more
# than this has started loading per item again.
MAX_STATEMENTS = 12


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block, background rounds left out, and
    transaction control too: SQLite's writer begins with an explicit BEGIN IMMEDIATE where
    PostgreSQL's driver begins by itself, and neither loads anything."""
    seen: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        task = asyncio.current_task()
        coro = task.get_coro() if task is not None else None
        if args[2].lstrip().upper().startswith("BEGIN"):
            return
        if not getattr(coro, "__qualname__", "").startswith(BACKGROUND_ROUND):
            seen.append(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before_cursor_execute)


@dataclass
class Seeding:
    """What the seeders share: the world, a counter for unique names, and per-case state."""

    world: World
    clock: FakeClock
    settings: Settings
    scenarios: Any
    made: int = 0
    state: dict[str, Any] = field(default_factory=dict)

    def next(self) -> int:
        self.made += 1
        return self.made

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    async def user(self, s: AsyncSession, role: str = "clinician") -> User:
        i = self.next()
        user = User(
            email=f"seed{i}@hearth.test",
            name=f"Seeded {role} {i:03d}",
            role=role,
            password_hash=PASSWORD_HASH,
            active=True,
            time_zone="UTC",
            created_at=self.now,
        )
        s.add(user)
        await s.flush()
        return user

    async def patient(self, s: AsyncSession, *team: User | int) -> Patient:
        i = self.next()
        patient = Patient(
            name=f"Seeded patient {i:03d}",
            birth_date=dt.date(1940, 1, 2),
            time_zone="UTC",
            language="en",
            created_at=self.now,
        )
        s.add(patient)
        await s.flush()
        care_team = CareTeam(patient_id=patient.id, name="Care team")
        s.add(care_team)
        await s.flush()
        s.add_all(
            CareTeamMember(care_team_id=care_team.id, user_id=m if isinstance(m, int) else m.id)
            for m in team
        )
        s.add(
            FamilyMember(
                patient_id=patient.id,
                name=f"Family {i}",
                relationship_="son",
                created_at=self.now,
            )
        )
        await s.flush()
        return patient

    async def encounter(
        self,
        s: AsyncSession,
        patient: Patient,
        clinician: User | int,
        *,
        at: dt.datetime | None = None,
        is_drill: bool = False,
    ) -> Encounter:
        starts_at = at or self.now + dt.timedelta(hours=3, minutes=self.next())
        encounter = Encounter(
            patient_id=patient.id,
            clinician_id=clinician if isinstance(clinician, int) else clinician.id,
            kind="video_visit",
            template="home_palliative_visit",
            status="planned",
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=30),
            state={"answers": {}},
            is_drill=is_drill,
            created_at=self.now,
        )
        s.add(encounter)
        await s.flush()
        return encounter

    def user_id(self, key: str) -> int:
        return self.world.users[key].id


Seeder = Callable[[Seeding, AsyncSession, int], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    path: Callable[[Seeding], str]
    seed: Seeder
    # How many items the answer shows (None: the answer is not a list of the seeded items).
    shown: Callable[[Any], int] | None = lambda body: len(body["items"])
    set_up: Seeder | None = None


# -- seeders ------------------------------------------------------------------------------


async def seed_encounters(x: Seeding, s: AsyncSession, k: int) -> None:
    """Visits today, each with its own patient (on clin_a's team) and its own clinician."""
    for _ in range(k):
        clinician = await x.user(s)
        patient = await x.patient(s, x.user_id("clin_a"), clinician)
        await x.encounter(s, patient, clinician)


async def seed_patients(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        await x.patient(s, x.user_id("coord_a"), x.user_id("clin_a"))


async def seed_alerts(x: Seeding, s: AsyncSession, k: int) -> None:
    """Open alerts of distinct patients, each quoting a diary entry."""
    for _ in range(k):
        patient = await x.patient(s, x.user_id("coord_a"), x.user_id("clin_a"))
        client_id = f"entry-{x.next()}"
        s.add(
            DiaryEntry(
                patient_id=patient.id,
                client_id=client_id,
                recorded_at=x.now,
                received_at=x.now,
                answered_by="family",
                scores={"pain": 8},
                worry=None,
            )
        )
        s.add(
            Alert(
                patient_id=patient.id,
                rule_id="symptom_jump",
                severity="high",
                summary="Pain up",
                evidence=[client_id],
                dedup_key=f"jump:{patient.id}",
                status="open",
                tier=1,
                next_deadline=x.now + dt.timedelta(minutes=15),
                raised_at=x.now - dt.timedelta(minutes=x.next()),
                ladder=[{"tier": 1, "label": "Nurse", "ack_deadline_min": 15, "role": "clinician"}],
                history=[
                    {"kind": "raised", "at": x.now.isoformat(), "tier": 1},
                ],
            )
        )
    await s.flush()


async def _drill(x: Seeding, s: AsyncSession, *, finished: bool) -> Drill:
    """A drill of a patient of its own, with its own clinician; a finished one has a care
    plan, a reading, an alert and a family step to score."""
    clinician = await x.user(s)
    patient = await x.patient(s, x.user_id("coord_a"), clinician)
    encounter = await x.encounter(s, patient, clinician, is_drill=True)
    scenario = x.scenarios["seizure"]
    started = x.now - dt.timedelta(hours=x.next())
    drill = Drill(
        patient_id=patient.id,
        encounter_id=encounter.id,
        clinician_id=clinician.id,
        created_by=x.user_id("coord_a"),
        scenario_id=scenario.scenario_id,
        scenario=snapshot(scenario, scenario.expected.family_steps),
        status="finished" if finished else "ready",
        created_at=started,
        started_at=started if finished else None,
        finished_at=started + dt.timedelta(minutes=10) if finished else None,
        next_event=0,
        revision=1,
    )
    s.add(drill)
    await s.flush()
    if not finished:
        return drill
    s.add(
        CarePlanVersion(
            patient_id=patient.id,
            version=1,
            plan=care_plan_to_dict(default_care_plan()),
            changes=[],
            created_at=x.now,
        )
    )
    s.add(
        Reading(
            patient_id=patient.id,
            encounter_id=encounter.id,
            client_id=f"r{x.next()}",
            kind="spo2",
            value=84.0,
            unit="%",
            loinc="59408-5",
            source="simulator",
            taken_at=started + dt.timedelta(seconds=30),
            received_at=started + dt.timedelta(seconds=30),
            time_source="server",
            is_drill=True,
        )
    )
    raised = started + dt.timedelta(seconds=40)
    s.add(
        Alert(
            patient_id=patient.id,
            rule_id="vital_out_of_band",
            severity="high",
            summary="SpO2 low",
            evidence=[],
            dedup_key=f"drill:{drill.id}",
            status="acknowledged",
            tier=1,
            raised_at=raised,
            acknowledged_at=raised + dt.timedelta(seconds=50),
            ladder=[{"tier": 1, "label": "Nurse", "ack_deadline_min": 15, "role": "clinician"}],
            history=[
                {"kind": "raised", "at": raised.isoformat(), "tier": 1},
                {
                    "kind": "acknowledged",
                    "at": (raised + dt.timedelta(seconds=50)).isoformat(),
                    "actor_id": clinician.id,
                    "tier": 1,
                },
            ],
            is_drill=True,
            drill_id=drill.id,
        )
    )
    step = scenario.expected.family_steps[0].step_id
    s.add(
        DrillEvent(
            drill_id=drill.id,
            at=started + dt.timedelta(seconds=90),
            kind="family_step",
            key=None,
            actor_role="clinician",
            actor_user_id=clinician.id,
            data={"step": step},
        )
    )
    await s.flush()
    return drill


async def seed_drills(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        await _drill(x, s, finished=False)


async def seed_finished_drills(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        await _drill(x, s, finished=True)


async def seed_users(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        await x.user(s, "coordinator")


async def seed_audit(x: Seeding, s: AsyncSession, k: int) -> None:
    # Through the audit service, which chains the rows (a row added directly has no hash).
    actor = audit.Actor(x.user_id("clin_a"), None, "clinician", None, None)
    patient_id = x.world.patients["a"].id
    for _ in range(k):
        await audit.record_event(
            s, x.now, actor, "read", "patient", patient_id, patient_id=patient_id
        )


async def seed_links(x: Seeding, s: AsyncSession, k: int) -> None:
    encounter = await s.get(Encounter, x.world.encounters["a"].id)
    assert encounter is not None
    for _ in range(k):
        await issue_link(s, x.settings, encounter, created_by=None, now=x.now)


async def seed_readings(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        at = x.now - dt.timedelta(minutes=x.next())
        s.add(
            Reading(
                patient_id=x.world.patients["a"].id,
                client_id=f"r{x.next()}",
                kind="heart_rate",
                value=80.0,
                unit="/min",
                loinc="8867-4",
                source="manual",
                taken_at=at,
                received_at=at,
                time_source="device",
                entered_by_user_id=x.user_id("clin_a"),
            )
        )


async def seed_care_plan_versions(x: Seeding, s: AsyncSession, k: int) -> None:
    done = x.state.setdefault("versions", 0)
    s.add_all(
        CarePlanVersion(
            patient_id=x.world.patients["a"].id,
            version=done + v,
            plan=care_plan_to_dict(default_care_plan()),
            changes=[],
            created_at=x.now,
            created_by=x.user_id("clin_a"),
        )
        for v in range(1, k + 1)
    )
    x.state["versions"] = done + k


async def seed_slot_clinicians(x: Seeding, s: AsyncSession, k: int) -> None:
    """Clinicians on patient A's care team, each with hours, time off, a kind and a visit."""
    team = x.state["team_id"]
    for _ in range(k):
        clinician = await x.user(s)
        s.add(CareTeamMember(care_team_id=team, user_id=clinician.id))
        s.add_all(
            ClinicianHours(clinician_id=clinician.id, weekday=d, start_minute=540, end_minute=1020)
            for d in range(5)
        )
        s.add(
            ClinicianTimeOff(
                clinician_id=clinician.id,
                starts_at=x.now + dt.timedelta(days=1),
                ends_at=x.now + dt.timedelta(days=1, hours=2),
                label="Training",
            )
        )
        s.add(ClinicianKind(clinician_id=clinician.id, kind="video_visit", length_minutes=30))
        other = await x.patient(s, clinician)
        await x.encounter(s, other, clinician, at=x.now + dt.timedelta(hours=2))


async def slots_set_up(x: Seeding, s: AsyncSession, k: int) -> None:
    del k
    x.state["team_id"] = await s.scalar(
        select(CareTeam.id).where(CareTeam.patient_id == x.world.patients["a"].id)
    )


async def feed_set_up(x: Seeding, s: AsyncSession, k: int) -> None:
    del k
    token, _feed = await issue_feed(
        s, x.settings, x.user_id("clin_a"), by=x.user_id("clin_a"), now=x.now
    )
    x.state["feed"] = token


async def seed_feed_visits(x: Seeding, s: AsyncSession, k: int) -> None:
    for _ in range(k):
        patient = await x.patient(s, x.user_id("clin_a"))
        await x.encounter(s, patient, x.user_id("clin_a"))


def _named(body: Any) -> int:
    """Items with the patient's and the clinician's names filled in."""
    return sum(bool(i["patient_name"] and i["clinician_name"]) for i in body["items"])


def _quoting(body: Any) -> int:
    """Alerts with their patient's name and the diary entries they quote."""
    return sum(bool(a["patient_name"] and a["evidence_entries"]) for a in body["items"])


def _scored(body: Any) -> int:
    """Trend points scored from what the drill stored (its alert, its family step)."""
    return sum(
        p["time_to_acknowledge_s"] is not None and p["accuracy_pct"] > 0 for p in body["items"]
    )


def _with_slots(body: Any) -> int:
    return sum(bool(c["slots"]) for c in body["clinicians"])


def _events(body: Any) -> int:
    return str(body).count("BEGIN:VEVENT")


def _today(x: Seeding) -> str:
    day = x.now.date().isoformat()
    return f"from={day}T00:00:00Z&to={day}T23:59:00Z"


CASES = [
    Case(
        "encounters (clinician)",
        "clin_a",
        lambda x: f"/api/encounters?{_today(x)}",
        seed_encounters,
        shown=_named,
    ),
    Case(
        "encounters (scheduler)",
        "sched",
        lambda x: f"/api/encounters?{_today(x)}",
        seed_encounters,
        shown=_named,
    ),
    Case("patients", "coord_a", lambda x: "/api/patients", seed_patients),
    Case("alerts", "coord_a", lambda x: "/api/alerts", seed_alerts, shown=_quoting),
    Case("alert figures", "coord_a", lambda x: "/api/alerts/figures", seed_alerts, shown=None),
    Case("drills", "coord_a", lambda x: "/api/drills", seed_drills, shown=_named),
    Case(
        "drill trends",
        "coord_a",
        lambda x: "/api/drill-trends",
        seed_finished_drills,
        shown=_scored,
    ),
    Case("users", "admin", lambda x: "/api/users", seed_users),
    Case(
        "audit log",
        "admin",
        lambda x: "/api/audit",
        seed_audit,
        # The seeded rows; the log also shows the logins and its own earlier reads.
        shown=lambda body: sum(r["resource_type"] == "patient" for r in body["items"]),
    ),
    Case(
        "family links",
        "sched",
        lambda x: f"/api/encounters/{x.world.encounters['a'].id}/links",
        seed_links,
    ),
    Case(
        "readings",
        "clin_a",
        lambda x: f"/api/patients/{x.world.patients['a'].id}/readings",
        seed_readings,
    ),
    Case(
        "care plan versions",
        "clin_a",
        lambda x: f"/api/patients/{x.world.patients['a'].id}/care-plan/versions",
        seed_care_plan_versions,
    ),
    Case(
        "free slots",
        "sched",
        lambda x: (
            f"/api/slots?kind=video_visit&patient_id={x.world.patients['a'].id}"
            "&from=2026-03-02&to=2026-03-04"
        ),
        seed_slot_clinicians,
        shown=_with_slots,
        set_up=slots_set_up,
    ),
    Case(
        "calendar feed",
        "anonymous",
        lambda x: f"/calendar/{x.state['feed']}.ics",
        seed_feed_visits,
        shown=_events,
        set_up=feed_set_up,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_list_costs_the_same_number_of_statements_for_n_and_3n_items(
    client: Any, world: World, db: Database, clock: FakeClock, case: Case
) -> None:
    x = Seeding(world, clock, client.app[SERVICES].settings, client.app[SCENARIOS])
    agent = await world.agent(None if case.who == "anonymous" else case.who)
    if case.set_up is not None:
        async with db.begin() as s:
            await case.set_up(x, s, 0)

    counts, shown = [], []
    for k in (N, 2 * N):  # N items, then 3N in all
        async with db.begin() as s:
            await case.seed(x, s, k)
        # Time moves between the two requests as it would, so a write a request makes only
        # when something changed (a feed's last use) is made, and counted, both times.
        clock.advance(seconds=1)
        with counting(db) as statements:
            status, body = await agent.call("GET", case.path(x))
        assert status == 200, body
        counts.append(len(statements))
        if case.shown is not None:
            shown.append(case.shown(body))

    if case.shown is not None:
        # The seeded items are in the answer, so the second count really is for 2N more.
        assert shown[1] - shown[0] == 2 * N, shown
    listing = "\n".join(statements)
    assert counts[0] == counts[1], f"{case.name}: {counts} statements for N, 3N\n{listing}"
    assert counts[1] <= MAX_STATEMENTS, f"{case.name}: {counts[1]} statements\n{listing}"

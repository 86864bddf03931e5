"""Demo data for ``hearth serve --demo``: a care team, a patient, family, a visit today.

Idempotent: a second run finds what the first made. Passwords are random, generated on
the first run and kept (mode 0600) under the var directory so restarts keep them; a staff
login whose password no longer matches the kept one (another run, with another var directory,
on the same database) is set back, so the logins printed always work. Each run has a visit
happening now (a real one, never a drill or a finished visit: a new one when there is none)
and issues a fresh family link, since only a hash of earlier ones was kept. The demo clinician
gets working hours every day and the visit kinds, so the scheduler can book straight away.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan_json import validate_care_plan
from server.core.clock import Clock
from server.core.crypto import hash_password, verify_password
from server.core.settings import Settings
from server.services.careplans import latest_version, save_plan
from server.services.links import issue_link, link_url
from server.store.db import Database
from server.store.models import (
    ENCOUNTER_KINDS,
    CareTeam,
    CareTeamMember,
    Encounter,
    FamilyMember,
    Patient,
    User,
)
from server.store.scheduling import ClinicianHours, ClinicianKind

DEMO_STAFF = (
    ("clinician", "clinician@hearth.example", "Sam Rivera (demo nurse)"),
    ("coordinator", "coordinator@hearth.example", "Priya Shah (demo coordinator)"),
    ("scheduler", "scheduler@hearth.example", "Tom Baker (demo scheduler)"),
    ("admin", "admin@hearth.example", "Alex Kim (demo admin)"),
)
DEMO_PATIENT_NAME = "Rose Demo"
DEMO_PATIENT_BIRTH_DATE = dt.date(1944, 5, 12)
DEMO_VISIT_MINUTES = 60
# A visit with less than this left is not "happening now": the demo makes a new one.
DEMO_VISIT_MIN_LEFT = dt.timedelta(minutes=20)
# The demo clinician works every day, 07:00–21:00 in their zone (UTC).
DEMO_HOURS = (7 * 60, 21 * 60)
DEMO_KIND_MINUTES = {"video_visit": 30, "in_person": 60, "pharmacy_review": 30, "social_work": 45}


def demo_care_plan(nurse_id: int) -> dict[str, Any]:
    """A plan to try the alert ladder and drills with: the demo nurse answers tier 1, the
    coordinator tier 2; first steps for breathlessness and pain."""
    return {
        "goals_of_care": "Comfort at home, with her son Ben.",
        "preferred_place_of_care": "home",
        "escalation_ladder": {
            "tiers": [
                {
                    "tier": 1,
                    "label": "On-call nurse",
                    "ack_deadline_min": 15,
                    "role": "on_call_nurse",
                },
                {
                    "tier": 2,
                    "label": "Care coordinator",
                    "ack_deadline_min": 30,
                    "role": "coordinator",
                },
            ]
        },
        "care_team": [{"name": "Sam Rivera", "role": "on_call_nurse", "user_id": str(nurse_id)}],
        "crisis_plan": {
            "instructions": [
                {
                    "crisis": "breathlessness",
                    "triggers": ["Breathing fast and frightened"],
                    "first_steps": [
                        "Help her sit upright",
                        "Fan on her face, window open",
                        "Give the breathlessness medicine from the kit",
                        "Call the hospice line",
                    ],
                },
                {
                    "crisis": "pain",
                    "triggers": ["Pain 7 or more, or not settling"],
                    "first_steps": [
                        "Give the rescue dose if it is due",
                        "Write down the time and dose",
                        "Call the hospice line",
                    ],
                },
            ]
        },
    }


@dataclass(frozen=True)
class DemoInfo:
    logins: list[tuple[str, str, str]]  # role, email, password
    family_link: str
    visit_starts_at: dt.datetime
    encounter_id: int


def _passwords(var_dir: Path) -> tuple[dict[str, str], bool]:
    path = var_dir / "demo-logins.json"
    if path.exists():
        return json.loads(path.read_text()), False
    passwords = {email: secrets.token_urlsafe(12) for _, email, _ in DEMO_STAFF}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(passwords, indent=2))
    path.chmod(0o600)
    return passwords, True


async def _working_hours(s: AsyncSession, clinician: User) -> None:
    """Every day's hours and every visit kind, unless the clinician has set their own."""
    if await s.scalar(select(ClinicianHours.id).where(ClinicianHours.clinician_id == clinician.id)):
        return
    start, end = DEMO_HOURS
    s.add_all(
        ClinicianHours(clinician_id=clinician.id, weekday=day, start_minute=start, end_minute=end)
        for day in range(7)
    )
    known = set(
        await s.scalars(
            select(ClinicianKind.kind).where(ClinicianKind.clinician_id == clinician.id)
        )
    )
    s.add_all(
        ClinicianKind(
            clinician_id=clinician.id, kind=kind, length_minutes=DEMO_KIND_MINUTES.get(kind, 30)
        )
        for kind in ENCOUNTER_KINDS
        if kind not in known
    )


async def seed_demo(settings: Settings, clock: Clock) -> DemoInfo:
    passwords, fresh = _passwords(Path(settings.var_dir))
    now = clock.now()
    db = Database(settings.database_url)
    try:
        async with db.begin() as s:
            users: dict[str, User] = {}
            for role, email, name in DEMO_STAFF:
                user = await s.scalar(select(User).where(User.email == email))
                if user is None:
                    user = User(
                        email=email,
                        name=name,
                        role=role,
                        active=True,
                        time_zone="UTC",
                        password_hash=hash_password(passwords[email]),
                        created_at=now,
                    )
                    s.add(user)
                elif fresh or not verify_password(user.password_hash, passwords[email]):
                    user.password_hash = hash_password(passwords[email])
                    user.active = True
                users[role] = user
            await s.flush()
            patient = await s.scalar(select(Patient).where(Patient.name == DEMO_PATIENT_NAME))
            if patient is None:
                patient = Patient(
                    name=DEMO_PATIENT_NAME,
                    birth_date=DEMO_PATIENT_BIRTH_DATE,
                    time_zone="UTC",
                    language="en",
                    created_at=now,
                )
                s.add(patient)
                await s.flush()
                team = CareTeam(patient_id=patient.id, name="Demo home care team")
                s.add(team)
                await s.flush()
                s.add_all(
                    [
                        CareTeamMember(care_team_id=team.id, user_id=users["clinician"].id),
                        CareTeamMember(care_team_id=team.id, user_id=users["coordinator"].id),
                    ]
                )
                s.add(
                    FamilyMember(
                        patient_id=patient.id,
                        name="Ben Demo",
                        relationship_="son",
                        email="ben@hearth.example",
                        created_at=now,
                    )
                )
            if await latest_version(s, patient.id) is None:
                plan = validate_care_plan(demo_care_plan(users["clinician"].id))
                await save_plan(s, patient.id, plan, by=users["coordinator"].id, now=now)
            await _working_hours(s, users["clinician"])
            visit = await s.scalar(
                select(Encounter)
                .where(
                    Encounter.patient_id == patient.id,
                    Encounter.clinician_id == users["clinician"].id,
                    Encounter.kind == "video_visit",
                    Encounter.is_drill.is_(False),
                    Encounter.status.in_(("planned", "in_progress")),
                    Encounter.starts_at <= now,
                    Encounter.ends_at >= now + DEMO_VISIT_MIN_LEFT,
                )
                .order_by(Encounter.starts_at)
            )
            if visit is None:
                starts = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
                visit = Encounter(
                    patient_id=patient.id,
                    clinician_id=users["clinician"].id,
                    kind="video_visit",
                    template="home_palliative_visit",
                    status="planned",
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(minutes=DEMO_VISIT_MINUTES),
                    is_drill=False,
                    created_at=now,
                    created_by=users["scheduler"].id,
                )
                s.add(visit)
                await s.flush()
            token, _link = await issue_link(
                s, settings, visit, created_by=users["scheduler"].id, now=now
            )
            starts_at = visit.starts_at
            encounter_id = visit.id
    finally:
        await db.dispose()
    return DemoInfo(
        logins=[(role, email, passwords[email]) for role, email, _ in DEMO_STAFF],
        family_link=link_url(settings, token),
        visit_starts_at=starts_at,
        encounter_id=encounter_id,
    )


def describe(settings: Settings, info: DemoInfo) -> str:
    base = settings.base_url
    width = max(len(email) for _, email, _ in info.logins)
    lines = [
        "",
        f"Hearth demo is running at {base}",
        "",
        f"Staff: open {base}/login and sign in as one of",
    ]
    lines += [f"    {role:<12} {email:<{width}}  password: {pw}" for role, email, pw in info.logins]
    lines += [
        "",
        f"Clinician: after signing in as the clinician, open today's visit at {base}/visit/"
        f'{info.encounter_id} and press "Start camera and join".',
    ]
    lines += [
        "",
        f"Family: today's video visit starts at {info.visit_starts_at:%H:%M} UTC. Open this link "
        "in another browser window (or a private window) to join as the patient's son:",
        f"    {info.family_link}",
        "",
        f"Coordinator: the alert queue is at {base}/alerts; set up and run a mock crisis drill "
        f"at {base}/drills (it gives the family its own drill link).",
        "",
        f"Health: {base}/healthz   API: {base}/api/openapi.json   Metrics: {base}/metrics",
        "",
    ]
    return "\n".join(lines)

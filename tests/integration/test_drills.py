"""Issue 9, mock crisis drills: a whole drill in a real call, measured from what happened,
and nothing of it in the patient's real record, queue or figures."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest
from sqlalchemy import select

from encounters.errors import DataFileError
from server.app.factory import create_app
from server.core.settings import Settings
from server.services.context import SERVICES
from server.services.drills import DRILLS
from server.services.escalation import ALERTS
from server.store.between_visits import Alert
from server.store.models import CareTeam, CareTeamMember, Patient
from tests.builders import World
from tests.integration.test_between_visits import ladder_plan, relogin
from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")

SEIZURE_STEPS = [
    "Keep him safe; do not hold him down",
    "Time the seizure",
    "Give the buccal midazolam if it lasts 5 minutes",
]


def drill_plan(world: World) -> dict[str, Any]:
    plan = ladder_plan(world)
    plan["crisis_plan"] = {
        "instructions": [
            {
                "crisis": "seizure",
                "triggers": ["Shaking that does not stop"],
                "first_steps": SEIZURE_STEPS,
            }
        ]
    }
    return plan


async def set_up(
    world: World, scenario: str = "seizure", plan: dict[str, Any] | None = None
) -> tuple[Any, Any, dict[str, Any]]:
    clin, coord = await world.agent("clin_a"), await world.agent("coord_a")
    patient_id = world.patients["a"].id
    status, body = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan or drill_plan(world)}
    )
    assert status == 200, body
    status, created = await coord.call(
        "POST",
        "/api/drills",
        {
            "patient_id": patient_id,
            "scenario_id": scenario,
            "clinician_id": world.users["clin_a"].id,
        },
    )
    assert status == 201, created
    return clin, coord, created


async def play_until(client: Any, clock: Any, seconds: int, step: int = 30) -> None:
    """Move the fake clock on in steps, letting the player play what each step makes due."""
    for _ in range(seconds // step):
        clock.advance(seconds=step)
        await client.app[DRILLS].run_due(clock.now())


async def test_a_whole_drill_in_a_call_is_measured_from_what_happened(
    client, world: World, db, clock
) -> None:
    # A second clinician on the team, not in the drill: told about real alerts only.
    async with db.begin() as s:
        team = await s.scalar(select(CareTeam).where(CareTeam.patient_id == world.patients["a"].id))
        s.add(CareTeamMember(care_team_id=team.id, user_id=world.users["clin_b"].id))
    clin, coord, created = await set_up(world)
    drill_id, encounter_id = created["drill"]["id"], created["drill"]["encounter_id"]
    assert created["drill"]["status"] == "ready" and created["drill"]["is_drill"]
    token = created["family_link"].rsplit("/", 1)[1]
    family_agent = await world.agent()
    await family_agent.join(token)

    nurse, family = VisitClient(clin), VisitClient(family_agent)
    console, bystander = VisitClient(coord), VisitClient(await world.agent("clin_b"))
    try:
        for person in (nurse, family, console, bystander):
            await person.connect()
        for person in (nurse, family):
            await person.join(encounter_id)
        await nurse.call("admit", {"participant_id": family.participant_id})
        # Camera and microphone off: the drill travels beside the call (its prompts on the
        # sockets, its readings on the family's data channel), and pictures would only load the
        # shared cores for the length of the test.
        await nurse.publish(media=False)
        await family.publish(media=False)

        status, detail = await coord.call("POST", f"/api/drills/{drill_id}/start")
        assert status == 200, detail
        started = clock.now()
        # The opening prompt reaches the family's page at once.
        await family.wait_for(lambda: any(e["kind"] == "prompt" for e in family.events["drill"]))
        assert "arm starts jerking" in family.events["drill"][0]["text"]
        # It carries its translations; the family's page shows the one in its language.
        assert family.events["drill"][0]["texts"]["es"].startswith("El brazo derecho")

        # Readings play through the visit's data path: the clinician sees each one live.
        await play_until(client, clock, 210)
        await nurse.wait_for(lambda: len(nurse.events["reading"]) >= 14)
        assert {r["source"] for r in nurse.events["reading"]} == {"simulator"}
        async with db.begin() as s:
            alerts = (await s.scalars(select(Alert).where(Alert.drill_id == drill_id))).all()
        assert alerts and all(a.is_drill for a in alerts)
        assert {a.rule_id for a in alerts} == {"vital_out_of_band"}
        await console.wait_for(lambda: console.events["alert"])
        assert all(a["is_drill"] for a in console.events["alert"])

        # The family takes two of the three first steps of the patient's own plan.
        status, view = await family_agent.call("GET", f"/api/drills/{drill_id}/family")
        assert status == 200 and [s["text"] for s in view["family_steps"]] == SEIZURE_STEPS
        for step in ("plan_1", "plan_3"):
            status, body = await family_agent.call(
                "POST", f"/api/drills/{drill_id}/actions", {"kind": "family_step", "step": step}
            )
            assert status == 201, body
        # A family may not score itself.
        status, body = await family_agent.call(
            "POST",
            f"/api/drills/{drill_id}/actions",
            {"kind": "teach_back", "item": "x", "result": "correct"},
        )
        assert status == 403 and body["code"] == "forbidden"

        # Nobody answers tier 1 within its 15 minutes: the ladder climbs to the coordinator.
        # (The open pages keep polling, so nobody's session goes idle meanwhile.)
        for _ in range(15):
            await play_until(client, clock, 60, step=60)
            for agent in (clin, coord):
                assert (await agent.call("GET", f"/api/drills/{drill_id}"))[0] == 200
        await client.app[ALERTS].run_due(clock.now())
        await play_until(client, clock, 60)
        status, queue = await coord.call("GET", "/api/alerts")
        drill_alerts = [a for a in queue["items"] if a["drill_id"] == drill_id]
        assert drill_alerts and all(a["tier"] == 2 for a in drill_alerts)
        status, body = await coord.call("POST", f"/api/alerts/{drill_alerts[0]['id']}/acknowledge")
        assert status == 200, body
        acknowledged = clock.now()

        # Teach-back afterwards: one point right, one partly, one never asked.
        questions = [q["item"] for q in detail["teach_back"]]
        for item, result in zip(questions, ["correct", "partly"], strict=False):
            status, body = await clin.call(
                "POST",
                f"/api/drills/{drill_id}/actions",
                {"kind": "teach_back", "item": item, "result": result},
            )
            assert status == 201, body
        status, body = await clin.call(
            "POST",
            f"/api/drills/{drill_id}/actions",
            {"kind": "said", "text": "Family stayed calm"},
        )
        assert status == 201
        status, body = await coord.call("POST", f"/api/drills/{drill_id}/finish")
        assert status == 200 and body["drill"]["status"] == "finished"

        status, out = await coord.call("GET", f"/api/drills/{drill_id}/report")
        assert status == 200, out
        report = out["report"]
        onset = started + dt.timedelta(seconds=210)  # pulse 122 and SpO2 89 cross the bands
        assert report["onset_at"] == onset.isoformat()
        assert report["time_to_acknowledge_s"] == (acknowledged - onset).total_seconds()
        assert report["expected_tier"] == 2
        assert report["time_to_expected_tier_s"] == 15 * 60
        # Checks: the rule, tiers 1 and 2, acknowledged, not beyond tier 2, three steps.
        assert report["accuracy"]["checks"] == 8 and report["accuracy"]["passed"] == 7
        assert report["accuracy"]["score_pct"] == 87.5
        assert [m["check"] for m in report["accuracy"]["misses"]] == ["family_step"]
        assert "plan_2" in report["accuracy"]["misses"][0]["detail"]
        comprehension = report["comprehension"]
        assert (comprehension["points"], comprehension["max_points"]) == (3, 2 * len(questions))
        assert comprehension["unasked"] == questions[2:]
        whats = [e["what"] for e in report["timeline"]]
        assert any("took the step: plan_1" in w for w in whats)
        assert any("escalated to tier 2" in w for w in whats)
        assert any(
            e["who"] == "Staff coord_a" and "acknowledged" in e["what"] for e in report["timeline"]
        )

        # Nothing leaked: the bystander heard of no drill alert, the figures count none, the
        # patient's record shows no simulated reading, and the drill's ladder stops climbing.
        assert not any(a.get("is_drill") for a in bystander.events["alert"])
        status, figures = await coord.call("GET", "/api/alerts/figures")
        assert figures["today"]["alerts_raised"] == 0
        assert figures["last_30_days"]["alerts_raised"] == 0
        status, readings = await clin.call(
            "GET", f"/api/patients/{world.patients['a'].id}/readings"
        )
        assert status == 200 and readings["items"] == []
        status, readings = await clin.call(
            "GET", f"/api/patients/{world.patients['a'].id}/readings?encounter_id={encounter_id}"
        )
        assert len(readings["items"]) == 18
        assert all(r["is_drill"] and r["is_practice"] for r in readings["items"])
        # The drill visit's FHIR bundle holds none of its practice readings as an observation.
        status, text = await clin.call("GET", f"/api/encounters/{encounter_id}/fhir")
        assert status == 200
        bundle = json.loads(text)
        categories = [
            c["code"]
            for e in bundle["entry"]
            if e["resource"]["resourceType"] == "Observation"
            for c in e["resource"]["category"][0]["coding"]
        ]
        assert "vital-signs" not in categories and "laboratory" not in categories
        assert bundle["meta"]["tag"][0]["code"] == "practice-readings-left-out"
        clock.advance(hours=2)
        assert await client.app[ALERTS].run_due(clock.now()) == 0
        for agent, who in ((clin, "clin_a"), (coord, "coord_a")):  # idle sessions have ended
            await relogin(agent, world, who)
        # The bystander's idle session has ended too: the sweep closes its console socket, and
        # it signs in again.
        await bystander.wait_for(lambda: not bystander.sio.connected, within=5)
        await relogin(bystander.agent, world, "clin_b")
        await bystander.connect()
        status, queue = await coord.call("GET", "/api/alerts")
        assert not [a for a in queue["items"] if a["drill_id"] == drill_id]

        # A real reading out of band still raises a real alert, seen by the whole team.
        status, body = await clin.call(
            "POST",
            f"/api/encounters/{world.encounters['a'].id}/readings",
            {
                "id": "real-1",
                "kind": "spo2",
                "value": 85,
                "unit": "%",
                "source": "manual",
                "taken_at": clock.now().isoformat(),
            },
        )
        assert status == 201, body
        await bystander.wait_for(lambda: any(not a["is_drill"] for a in bystander.events["alert"]))
        clock.advance(seconds=1)  # the figures count alerts raised before "now"
        status, figures = await coord.call("GET", "/api/alerts/figures")
        assert figures["today"]["alerts_raised"] == 1
    finally:
        for person in (nurse, family, console, bystander):
            await person.close()


async def test_setting_up_a_drill_refuses_bad_input(client, world: World) -> None:
    clin, coord, created = await set_up(world, "pain_crisis")
    patient_id = world.patients["a"].id
    cases = [
        (
            clin,
            {
                "patient_id": patient_id,
                "scenario_id": "pain_crisis",
                "clinician_id": world.users["clin_a"].id,
            },
            403,
            "forbidden",
        ),
        (
            coord,
            {
                "patient_id": patient_id,
                "scenario_id": "nope",
                "clinician_id": world.users["clin_a"].id,
            },
            422,
            "unknown_scenario",
        ),
        (
            coord,
            {
                "patient_id": patient_id,
                "scenario_id": "pain_crisis",
                "clinician_id": world.users["clin_b"].id,
            },
            422,
            "no_clinician",
        ),
        (
            coord,
            {
                "patient_id": world.patients["b"].id,
                "scenario_id": "pain_crisis",
                "clinician_id": world.users["clin_b"].id,
            },
            404,
            "not_found",
        ),
        (
            coord,
            {
                "patient_id": patient_id,
                "scenario_id": "pain_crisis",
                "clinician_id": world.users["clin_a"].id,
            },
            409,
            "drill_active",
        ),
        (coord, {"patient_id": patient_id}, 422, None),
    ]
    for agent, body, status, code in cases:
        got, answer = await agent.call("POST", "/api/drills", body)
        assert got == status, (body, answer)
        if code:
            assert answer["code"] == code
    drill_id = created["drill"]["id"]
    # Actions before the start, unknown steps, and a finish before the start are refused.
    got, answer = await clin.call(
        "POST", f"/api/drills/{drill_id}/actions", {"kind": "said", "text": "hello"}
    )
    assert got == 409 and answer["code"] == "drill_state"
    got, answer = await coord.call("POST", f"/api/drills/{drill_id}/finish")
    assert got == 409 and answer["code"] == "drill_state"
    await coord.call("POST", f"/api/drills/{drill_id}/start")
    got, answer = await clin.call(
        "POST", f"/api/drills/{drill_id}/actions", {"kind": "family_step", "step": "dance"}
    )
    assert got == 422 and answer["code"] == "unknown_step"
    got, answer = await clin.call(
        "POST",
        f"/api/drills/{drill_id}/actions",
        {"kind": "teach_back", "item": "unknown", "result": "correct"},
    )
    assert got == 422 and answer["code"] == "unknown_item"
    # Another team's coordinator cannot see or run it; the family of a real visit cannot either.
    other = await world.agent("coord_b")
    for method, path in (
        ("GET", f"/api/drills/{drill_id}"),
        ("POST", f"/api/drills/{drill_id}/cancel"),
        ("GET", f"/api/drills/{drill_id}/report"),
    ):
        got, answer = await other.call(method, path)
        assert got == 404, (path, answer)
    family = await world.agent("family_a")
    got, _ = await family.call("GET", f"/api/drills/{drill_id}/family")
    assert got == 404
    drill_family = await world.agent()
    await drill_family.join(created["family_link"].rsplit("/", 1)[1])
    got, _ = await drill_family.call("GET", f"/api/drills/{drill_id}/family")
    assert got == 200
    got, answer = await coord.call("POST", f"/api/drills/{drill_id}/cancel")
    assert got == 200 and answer["drill"]["status"] == "cancelled"
    # A cancelled drill's family link and session stop working at once.
    got, answer = await drill_family.call("GET", f"/api/drills/{drill_id}/family")
    assert got == 401, answer


async def test_a_seizure_drill_is_refused_for_a_ladder_without_tier_two(client, world) -> None:
    clin, coord = await world.agent("clin_a"), await world.agent("coord_a")
    patient_id = world.patients["a"].id
    plan = ladder_plan(world)
    plan["escalation_ladder"]["tiers"] = plan["escalation_ladder"]["tiers"][:1]
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    status, body = await coord.call(
        "POST",
        "/api/drills",
        {
            "patient_id": patient_id,
            "scenario_id": "seizure",
            "clinician_id": world.users["clin_a"].id,
        },
    )
    assert status == 422 and body["code"] == "scenario_not_for_plan"
    assert "tier 2" in body["error"]


async def test_the_player_resumes_after_a_restart_without_playing_twice(
    client, world: World, db, clock
) -> None:
    # Terminal breathlessness is rehearsed with families whose goals are comfort-focused.
    plan = drill_plan(world) | {"ceiling_of_care": "selective"}
    _clin, coord, created = await set_up(world, "terminal_breathlessness", plan)
    drill_id = created["drill"]["id"]
    await coord.call("POST", f"/api/drills/{drill_id}/start")
    clock.advance(seconds=90)
    service = client.app[DRILLS]
    first = await service.run_due(clock.now())
    # A second node (or a restarted server) runs the same round: nothing more is due.
    assert await type(service)(client.app).run_due(clock.now()) == 0
    clock.advance(seconds=300)
    rest = await service.run_due(clock.now())
    status, detail = await coord.call("GET", f"/api/drills/{drill_id}")
    assert detail["drill"]["played"] == detail["drill"]["total_events"]
    assert first > 0 and rest > 0
    prompts = [e for e in detail["events"] if e["kind"] == "prompt"]
    assert len(prompts) == len({e["event_id"] for e in prompts}) == 3
    status, readings = await coord.call(
        "GET",
        f"/api/patients/{world.patients['a'].id}/readings"
        f"?encounter_id={created['drill']['encounter_id']}",
    )
    assert len(readings["items"]) == 14  # two ramps of seven readings, each stored once


def test_a_bad_scenario_file_stops_start_up_with_file_line_and_reason(tmp_path) -> None:
    (tmp_path / "flood.toml").write_text(
        'id = "flood"\ntitle = "Flood"\ncrisis = "haemorrhage"\nsummary = "Water"\n\n'
        '[[events]]\nid = "rain"\ntype = "weather"\nat_s = 0\n'
    )
    settings = Settings(
        secret_key="k", database_url="sqlite:///:memory:", scenarios_dir=str(tmp_path)
    )
    with pytest.raises(DataFileError) as refused:
        create_app(settings)
    message = str(refused.value)
    assert "flood.toml:8:" in message and "weather" in message


async def test_a_coordinators_own_scenario_file_can_be_drilled(
    tmp_path, aiohttp_client, settings, clock
) -> None:
    text = resources.files("encounters.scenarios").joinpath("pain_crisis.toml").read_text()
    (tmp_path / "home_pain.toml").write_text(
        text.replace('id = "pain_crisis"', 'id = "home_pain"', 1)
    )
    client = await aiohttp_client(
        create_app(replace(settings, scenarios_dir=str(tmp_path)), clock=clock)
    )
    world = await World.build(client, client.app[SERVICES].db, clock)
    try:
        coord = await world.agent("coord_a")
        status, body = await coord.call("GET", "/api/scenarios")
        assert "home_pain" in {s["id"] for s in body["items"]}
        # It has no translation: a coordinator reading in Spanish sees it as written, beside
        # the shipped scenarios in Spanish.
        status, body = await coord.call("GET", "/api/scenarios", headers={"Accept-Language": "es"})
        titles = {s["id"]: s["title"] for s in body["items"]}
        assert titles["home_pain"] == "Pain that the usual medicine does not settle"
        assert titles["pain_crisis"] == "Un dolor que la medicina de siempre no calma"
        status, body = await coord.call(
            "POST",
            "/api/drills",
            {
                "patient_id": world.patients["a"].id,
                "scenario_id": "home_pain",
                "clinician_id": world.users["clin_a"].id,
            },
        )
        assert status == 201, body
    finally:
        await world.close()


async def test_a_spanish_family_reads_the_drill_in_spanish_and_staff_in_english(
    client, world, db
) -> None:
    async with db.begin() as s:
        patient = await s.get(Patient, world.patients["a"].id)
        patient.language = "es"
    clin, coord, created = await set_up(world)
    drill_id = created["drill"]["id"]
    status, body = await coord.call("POST", f"/api/drills/{drill_id}/start")
    assert status == 200, body
    family = await world.agent()
    await family.join(created["family_link"].rsplit("/", 1)[1])
    status, view = await family.call("GET", f"/api/drills/{drill_id}/family")
    assert status == 200, view
    assert view["title"] == "Una convulsión que no se detiene"
    assert view["prompts"][0]["text"].startswith("El brazo derecho de su esposa")
    # The plan's own first steps are the team's words, shown as written.
    assert [s["text"] for s in view["family_steps"]] == SEIZURE_STEPS
    status, detail = await clin.call("GET", f"/api/drills/{drill_id}")
    assert status == 200 and detail["drill"]["title"] == "A seizure that does not stop"
    assert "arm starts jerking" in json.dumps(detail["events"])

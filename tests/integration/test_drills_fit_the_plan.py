"""Every shipped scenario is set up through the API for a plan it is written for; a scenario
written for a plan with no resuscitation and comfort-focused goals is refused, with its
reasons in words, for a patient whose plan says full treatment and CPR."""

from __future__ import annotations

from typing import Any

import pytest

from encounters.scenarios import load_builtin_scenarios
from encounters.scenarios.model import PlanNeeds
from tests.builders import World
from tests.integration.test_between_visits import ladder_plan

SCENARIOS = load_builtin_scenarios()


def fitting_plan(world: World, needs: PlanNeeds) -> dict[str, Any]:
    plan = ladder_plan(world)
    plan["advance_care"] = {
        "resuscitation": needs.resuscitation[0].value if needs.resuscitation else "not_recorded",
        "advance_directive_on_file": True,
        "polst_on_file": True,
        "form_location": "In the kitchen drawer",
    }
    if needs.ceiling_of_care:
        plan["ceiling_of_care"] = needs.ceiling_of_care[-1].value
    return plan


async def _set_up(world: World, plan: dict[str, Any], scenario_id: str) -> tuple[int, Any]:
    clin, coord = await world.agent("clin_a"), await world.agent("coord_a")
    patient_id = world.patients["a"].id
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    return await coord.call(
        "POST",
        "/api/drills",
        {
            "patient_id": patient_id,
            "scenario_id": scenario_id,
            "clinician_id": world.users["clin_a"].id,
        },
    )


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
async def test_each_scenario_sets_up_for_a_plan_it_fits(world: World, scenario_id: str) -> None:
    needs = SCENARIOS[scenario_id].plan_needs
    status, body = await _set_up(world, fitting_plan(world, needs), scenario_id)
    assert status == 201, body
    assert body["drill"]["scenario_id"] == scenario_id


async def test_the_expected_death_drill_is_refused_for_a_full_treatment_plan(world: World) -> None:
    plan = ladder_plan(world)
    plan["ceiling_of_care"] = "full"
    plan["advance_care"] = {"resuscitation": "attempt_cpr"}
    status, body = await _set_up(world, plan, "expected_death")
    assert (status, body["code"], body["field"]) == (422, "scenario_not_for_plan", "scenario_id")
    for words in ("attempt CPR", "full treatment", "where the signed forms are kept"):
        assert words in body["error"]

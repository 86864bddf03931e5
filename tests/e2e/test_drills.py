"""Issue 9: a mock crisis drill run through the browser, from set-up to the report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.builders import PASSWORD, World
from tests.e2e.test_video_visit import PHONE

# A drill that unfolds in two seconds: a prompt at once, then an oxygen level under the
# default home band (SpO2 below 90 %), which raises a tier-1 alert.
QUICK_SCENARIO = """
id = "quick_breathless"
title = "Quick breathlessness drill"
crisis = "breathlessness"
summary = "Breathing gets hard at once and the oxygen level falls."

[[events]]
id = "opening"
type = "prompt"
at_s = 0
text = "Your dad cannot catch his breath and looks frightened."

[[events]]
id = "spo2_low"
type = "reading"
at_s = 2
kind = "spo2"
unit = "%"
value = 84

[expected]
alert_rules = ["vital_out_of_band"]

[[expected.escalation]]
tier = 1

[[expected.family_steps]]
id = "sit_upright"
text = "Help him sit upright."

[[expected.family_steps]]
id = "call_hospice_line"
text = "Call the hospice line."

[[teach_back]]
item = "Who you call first"
safety_critical = true

[[teach_back]]
item = "How to help breathing"
safety_critical = false
"""


@pytest.fixture
def scenarios_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "quick_breathless.toml").write_text(QUICK_SCENARIO, encoding="utf-8")
    return folder


async def ladder_with_clinician_on_tier_one(world: World) -> None:
    """Tier 1 is the on-call nurse, and the care plan names clin_a as that nurse, so the
    clinician taking the drill's call is the one who may acknowledge its alert."""
    clinician = await world.agent("clin_a")
    status, body = await clinician.call(
        "PUT",
        f"/api/patients/{world.patients['a'].id}/care-plan",
        {
            "plan": {
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
                            "label": "Coordinator",
                            "ack_deadline_min": 30,
                            "role": "coordinator",
                        },
                    ]
                },
                "care_team": [
                    {
                        "name": "Nurse A",
                        "role": "on_call_nurse",
                        "user_id": str(world.users["clin_a"].id),
                    }
                ],
            }
        },
    )
    assert status == 200, body


async def sign_in(page: Any, url: str, email: str) -> None:
    await page.goto(url + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")


async def test_coordinator_runs_a_drill_that_the_family_and_clinician_answer(
    live_server, new_page
) -> None:
    world = live_server.world
    url = live_server.url
    await ladder_with_clinician_on_tier_one(world)

    # The coordinator sets the drill up from the console and starts it.
    coordinator = await new_page()
    coordinator.on("dialog", lambda dialog: dialog.accept())
    await sign_in(coordinator, url, "coord_a@hearth.test")
    await coordinator.get_by_role("link", name="Drills").click()
    await coordinator.wait_for_url("**/drills")
    await coordinator.select_option("#patient", label="Patient A")
    await coordinator.select_option("#scenario", "quick_breathless")
    await coordinator.select_option("#clinician", label="Staff clin_a")
    await coordinator.get_by_role("button", name="Set up the drill").click()
    await expect(coordinator.locator("#setup-result")).to_be_visible()
    family_link = await coordinator.locator("#family-link").input_value()
    assert "/join/" in family_link
    assert re.search(r"/visit/\d+$", await coordinator.locator("#visit-link").input_value())
    await expect(coordinator.locator("#drill-list .drill-item")).to_have_count(1)
    await coordinator.get_by_role("link", name="Open the drill").click()
    await expect(coordinator.locator("#drill-banner")).to_contain_text("DRILL")
    await expect(coordinator.locator("#drill-state")).to_have_text("ready to start")
    await coordinator.get_by_role("button", name="Start the drill").click()
    await expect(coordinator.locator("#drill-state")).to_have_text("running")
    await expect(coordinator.locator("#timeline")).to_contain_text("cannot catch his breath")

    # The family role-player opens the link on a phone: the banner, the prompt, a step.
    family = await new_page(**PHONE)
    await family.goto(family_link)
    await expect(family.locator("#drill-banner")).to_contain_text("DRILL")
    await family.get_by_role("button", name="Check my camera and microphone").click()
    await family.fill("#display-name", "Ben")
    await family.get_by_role("button", name="Join the waiting room").click()
    await family.wait_for_url("**/family")
    await expect(family.locator("#drill-banner")).to_contain_text(
        "Practice — this is a drill, not a real emergency"
    )
    await expect(family.locator("#prompts li").first).to_contain_text("cannot catch his breath")
    step = family.locator("#family-steps li[data-step=sit_upright] button")
    await expect(step).to_have_text("I did this")
    await step.click()
    await expect(step).to_have_attribute("aria-pressed", "true")
    await expect(family.locator("#step-status")).to_contain_text("Saved")

    # The low oxygen reading raises a drill alert; the clinician acknowledges it.
    clinician = await new_page()
    await sign_in(clinician, url, "clin_a@hearth.test")
    await clinician.goto(url + "/alerts")
    card = clinician.locator(".alert-card[data-drill=true]")
    await expect(card).to_have_count(1)
    await expect(card.locator(".drill-badge")).to_have_text("DRILL")
    await expect(card.locator(".summary")).to_contain_text("84")
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card.locator(".detail")).to_contain_text("acknowledged")
    # The clinician's visit page is marked, and its feed shows what the family did.
    visit_href = await coordinator.get_by_role(
        "link", name="Open the drill's video visit"
    ).get_attribute("href")
    await clinician.goto(url + str(visit_href))
    await expect(clinician.locator("#drill-banner")).to_contain_text("DRILL")
    await expect(clinician.locator("#drill-feed")).to_contain_text("Help him sit upright")
    await expect(clinician.locator("#charts [data-kind=spo2] .latest")).to_have_text("84 %")

    # The coordinator sees it, scores a teach-back answer and finishes the drill.
    await expect(coordinator.locator("#drill-alerts li[data-status=acknowledged]")).to_have_count(1)
    await expect(coordinator.locator("#family-steps [data-step=sit_upright]")).to_contain_text(
        "done"
    )
    first = coordinator.locator("#teach-back .tb-item").first
    await first.get_by_role("button", name="correct", exact=True).click()
    await expect(first.get_by_role("button", name="correct", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await coordinator.fill("#note-text", "Family called the hospice line promptly.")
    await coordinator.get_by_role("button", name="Add the note").click()
    await expect(coordinator.locator("#timeline")).to_contain_text("hospice line promptly")
    await coordinator.get_by_role("button", name="Finish the drill").click()
    await expect(coordinator.locator("#drill-state")).to_have_text("finished")

    # The report: the figures, the misses, the timeline.
    await coordinator.get_by_role("link", name="Report").click()
    await coordinator.wait_for_url("**/report")
    figures = coordinator.locator("#report-figures")
    await expect(figures.locator("[data-figure=ack] dd")).to_have_text(
        re.compile(r"^\d+ (min|s)\b")
    )
    await expect(figures.locator("[data-figure=tier] dd")).not_to_have_text("not reached")
    await expect(figures.locator("[data-figure=accuracy] dd")).to_have_text(re.compile(r"^\d+ %$"))
    await expect(figures.locator("[data-figure=comprehension] dd")).to_have_text(
        re.compile(r"^\d+ %$")
    )
    await expect(coordinator.locator("#misses li[data-subject=call_hospice_line]")).to_have_text(
        "The family did not take the step: Call the hospice line."
    )
    await expect(coordinator.locator("#report-timeline")).to_contain_text(
        "Took the step: Help him sit upright."
    )
    await expect(coordinator.locator("#report-timeline")).to_contain_text(
        "Prompt to the family: Your dad cannot catch his breath"
    )
    await expect(coordinator.locator("#report-timeline tbody tr").first).to_be_visible()
    await expect(coordinator.locator("#report-teach-back")).to_contain_text("correct")

    # Trends: a chart drawn and the same numbers in the table.
    await coordinator.goto(url + "/drills/trends")
    await expect(coordinator.locator("#chart-times canvas")).to_be_visible()
    await expect(coordinator.locator("#chart-scores canvas")).to_be_visible()
    await expect(coordinator.locator("#trends-table tbody tr")).to_have_count(1)
    await coordinator.select_option("#scope", label="Patient A")
    await coordinator.get_by_role("button", name="Show").click()
    await expect(coordinator.locator("#trends-title")).to_contain_text("Patient A")
    await expect(coordinator.locator("#trends-table tbody tr")).to_have_count(1)

    # A coordinator whose pages are in Spanish reads a shipped scenario in Spanish on the
    # drill page: its title and summary, and the teach-back questions to ask aloud.
    status, made = await (await world.agent("coord_a")).call(
        "POST",
        "/api/drills",
        {
            "patient_id": world.patients["a"].id,
            "scenario_id": "pain_crisis",
            "clinician_id": world.users["clin_a"].id,
        },
    )
    assert status == 201, made
    await coordinator.goto(url + f"/drills/{made['drill']['id']}?lang=es")
    await expect(coordinator.locator("#drill-title")).to_contain_text(
        "Un dolor que la medicina de siempre no calma"
    )
    await expect(coordinator.locator("#drill-title ~ p.muted").first).to_have_text(
        "El dolor aumenta en pocos minutos. La dosis de rescate que se le dio antes no ha servido."
    )
    await expect(coordinator.locator("#teach-back .tb-item").first).to_contain_text(
        "Qué señales junto con el dolor de espalda significan que hay que llamar enseguida"
    )
    await expect(coordinator.locator("#family-steps")).to_contain_text("Anote la hora y la dosis.")

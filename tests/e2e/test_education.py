"""Issue 18 in Chromium: a Spanish-speaking family reads an assigned topic offline, a clinician
gives a topic from the care plan page, and the action plan prints in large print."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from server.services.context import SERVICES
from server.store.models import Patient
from tests.builders import PASSWORD

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

CRISIS_PLAN = {
    "crisis_plan": {
        "instructions": [
            {
                "crisis": "breathlessness",
                "triggers": ["Breathing fast"],
                "first_steps": ["Sit up and use the fan"],
            }
        ],
        "medicines": [
            {
                "drug": "Morphine sulfate oral solution",
                "dose": "2.5 mg",
                "route": "oral",
                "indication": "breathlessness",
                "min_interval_min": 60,
                "max_doses_per_24h": 6,
                "given_by": "family_or_nurse",
            }
        ],
        "call_tree": [{"kind": "hospice_line", "name": "Hospice", "phone": "+44 20 7946 0001"}],
    }
}


async def sign_in(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(url + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    # The sign-in form's own button: the page also carries the language chooser's.
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url("**/today")


async def test_spanish_family_reads_an_assigned_topic_offline(live_server, new_page) -> None:
    world = live_server.world
    patient_id = world.patients["a"].id
    async with live_server.app[SERVICES].db.begin() as s:
        await s.execute(update(Patient).where(Patient.id == patient_id).values(language="es"))
    clinician = await world.agent("clin_a")
    status, given = await clinician.call(
        "POST", f"/api/patients/{patient_id}/education", {"topic_id": "breathlessness"}
    )
    assert status == 201, given
    status, link = await clinician.call("POST", f"/api/patients/{patient_id}/diary-links")
    assert status == 201, link

    family = await new_page()
    await family.goto(link["diary_link"])
    await expect(family.locator("#education")).to_be_visible()
    # The 24/7 line is on the family's page.
    await expect(family.locator("#line-24-7")).to_contain_text("+44 20 7946 0000")
    await family.context.set_offline(True)
    topic = family.locator("#education-topics details")
    await topic.locator("summary").click()
    await expect(topic).to_have_attribute("lang", "es")
    await expect(topic).to_contain_text("Siéntese en el borde de una silla")
    await expect(topic.get_by_role("img")).to_have_count(2)
    # Marked as a machine translation not yet reviewed by a person.
    await expect(topic.locator(".unreviewed")).to_have_count(1)
    # Opening it offline: the mark waits on the device, and the page says so.
    await expect(family.locator("#education-status")).not_to_have_text("")
    # The device keeps its own copy, which the page reads when it comes without one.
    token = link["diary_link"].rsplit("/", 1)[1]
    stored = await family.evaluate(
        f"JSON.parse(localStorage.getItem('hearth.education.diary.{token}'))"
    )
    assert stored[0]["title"] == "Cuando falta el aire"

    await family.context.set_offline(False)
    await family.evaluate("window.dispatchEvent(new Event('online'))")
    for _ in range(50):
        status, view = await clinician.call("GET", f"/api/patients/{patient_id}/education")
        if view["assignments"][0]["open_count"]:
            break
        await family.wait_for_timeout(100)
    assert view["assignments"][0]["open_count"] == 1


async def test_clinician_gives_a_topic_from_the_care_plan_page(live_server, new_page) -> None:
    world = live_server.world
    patient_id = world.patients["a"].id
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": CRISIS_PLAN}
    )
    assert status == 200
    page = await new_page()
    await sign_in(page, live_server.url, "clin_a@hearth.test")
    await page.goto(f"{live_server.url}/patients/{patient_id}/care-plan")
    panel = page.locator("#education-panel")
    suggested = panel.locator("#education-suggested")
    await expect(suggested).to_contain_text("Feeling short of breath")
    await panel.locator("#education-topic").select_option("mouth_care")
    await panel.locator("#education-level").select_option("standard")
    await panel.get_by_role("button", name="Give to the family").click()
    await expect(panel.locator("#education-status")).to_have_text("Given to the family.")
    await expect(panel.locator("#education-given tr[data-topic=mouth_care]")).to_contain_text(
        "Standard"
    )
    await suggested.get_by_role("button", name="Give: Feeling short of breath").click()
    await expect(panel.locator("#education-given tr")).to_have_count(2)
    # Teach-back: one point partly, and it is listed to go over again.
    await panel.locator("#education-teach-back-topic").select_option("breathlessness")
    point = panel.locator("fieldset[data-point=fan_use]")
    await point.get_by_label("Partly").check()
    await panel.get_by_role("button", name="Record teach-back").click()
    await expect(panel.locator("#education-revisit")).to_contain_text("How to use the fan")
    await expect(panel.locator("#education-comprehension")).to_be_visible()
    await expect(panel.locator("#education-comprehension-rows")).to_contain_text("50")
    status, view = await clinician.call("GET", f"/api/patients/{patient_id}/education")
    assert {a["topic_id"]: a["level"] for a in view["assignments"]} == {
        "mouth_care": "standard",
        "breathlessness": "plain",
    }


async def test_action_plan_prints_in_large_print(live_server, new_page) -> None:
    world = live_server.world
    patient_id = world.patients["a"].id
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": CRISIS_PLAN}
    )
    assert status == 200
    page = await new_page()
    await sign_in(page, live_server.url, "clin_a@hearth.test")
    await page.goto(f"{live_server.url}/patients/{patient_id}/action-plan")
    plan = page.locator(".action-plan")
    await expect(plan).to_contain_text("Morphine sulfate oral solution")
    await expect(plan).to_contain_text("2.5 mg, by mouth")
    await expect(plan.locator(".line-24-7")).to_contain_text("+44 20 7946 0001")
    await expect(page.get_by_role("button", name="Print")).to_be_visible()
    await page.emulate_media(media="print")
    await expect(page.get_by_role("button", name="Print")).to_be_hidden()
    await expect(page.locator(".bar")).to_be_hidden()
    size = await plan.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    # 14 pt is 18.67 CSS px: large print.
    assert size >= 18.6
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


async def test_crisis_rehearsal_step_suggests_the_crisis_plans_topics(
    live_server, new_page
) -> None:
    world = live_server.world
    patient_id = world.patients["a"].id
    encounter_id = world.encounters["a"].id
    clinician = await world.agent("clin_a")
    status, _ = await clinician.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": CRISIS_PLAN}
    )
    assert status == 200
    page = await new_page()
    await sign_in(page, live_server.url, "clin_a@hearth.test")
    await page.goto(f"{live_server.url}/visit/{encounter_id}")
    steps = page.locator("#steps")
    await steps.get_by_role("button", name="Start the visit").click()
    rehearsal = steps.locator('.step[data-step="crisis_rehearsal"]')
    if await rehearsal.get_attribute("open") is None:
        await rehearsal.locator("summary").click()
    panel = rehearsal.locator("#education-panel")
    await expect(panel.locator("#education-suggested")).to_contain_text("Feeling short of breath")
    await panel.get_by_role("button", name="Give: Feeling short of breath").click()
    await expect(panel.locator("#education-given tr")).to_have_count(1)
    status, view = await clinician.call("GET", f"/api/patients/{patient_id}/education")
    (given,) = view["assignments"]
    assert (given["topic_id"], given["encounter_id"]) == ("breathlessness", encounter_id)

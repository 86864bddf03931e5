"""Issue 8: a diary entry made with the network cut reaches the coordinator's queue live."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.builders import PASSWORD

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media


async def test_offline_diary_entry_reaches_the_coordinator_console_without_reload(
    live_server, new_page
) -> None:
    world = live_server.world
    coordinator = await new_page()
    await coordinator.goto(live_server.url + "/login")
    await coordinator.fill("#email", "coord_a@hearth.test")
    await coordinator.fill("#password", PASSWORD)
    await coordinator.click("button[type=submit]")
    await coordinator.wait_for_url("**/today")
    await coordinator.goto(live_server.url + "/alerts")
    await expect(coordinator.locator("#alerts-status")).to_have_text("No open alerts.")
    await expect(coordinator.locator("#figures [data-period=today]")).to_contain_text("0 alerts")

    clinician = await world.agent("clin_a")
    status, link = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link

    family = await new_page()
    await family.goto(link["diary_link"])
    await expect(family.locator("#diary-form")).to_be_visible()
    await family.context.set_offline(True)
    pain = family.locator(".diary-item[data-item=pain]")
    await pain.get_by_role("radio", name="9", exact=True).check()
    await expect(pain.get_by_role("radio", name="9", exact=True)).to_be_checked()
    await family.get_by_role("button", name="Send my check-in").click()
    await expect(family.locator("#diary-status")).to_contain_text("No internet connection")
    await expect(family.locator("#queue-status")).to_contain_text("1")

    await family.context.set_offline(False)
    await expect(family.locator("#diary-status")).to_contain_text("Thank you")
    await expect(family.locator("#queue-status")).to_have_text("")

    card = coordinator.locator(".alert-card")
    await expect(card).to_have_count(1)
    await expect(card.locator(".summary")).to_contain_text("Pain 9/10")
    await expect(card.locator(".patient")).to_have_text("Patient A")
    await expect(card.locator(".evidence")).to_contain_text("pain 9")


async def test_clinician_saves_a_care_plan_version_from_the_page(live_server, new_page) -> None:
    world = live_server.world
    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    await page.goto(f"{live_server.url}/patients/{world.patients['a'].id}/care-plan")
    await expect(page.locator("#plan-version")).to_have_text("Version 0")
    await page.fill("#goals", "Comfort at home")
    await page.select_option("#resuscitation", "dnr")
    await page.get_by_role("button", name="Save a new version").click()
    await expect(page.locator("#plan-status")).to_have_text("Saved.")
    await expect(page.locator("#plan-version")).to_have_text("Version 1")
    await expect(page.locator("#versions li")).to_have_count(1)
    # What changed, in words: never the stored field's path.
    await expect(page.locator("#versions li").first).to_contain_text("Resuscitation")
    await expect(page.locator("#versions li").first).not_to_contain_text("advance_care")
    # The crisis plan in plain fields: what to look for, first steps, a medicine, whom to call.
    instructions = page.locator("#instructions")
    await instructions.get_by_role("button", name="Add").click()
    row = instructions.locator("li").last
    await row.get_by_label("Crisis").select_option("breathlessness")
    await row.get_by_label("Signs to look for (one per line)").fill("Breathing fast\nFrightened")
    await row.get_by_label("First steps for the family (one per line)").fill("Sit upright")
    medicines = page.locator("#medicines")
    await medicines.get_by_role("button", name="Add").click()
    med = medicines.locator("li").last
    await med.get_by_label("Medicine", exact=True).fill("Morphine oral solution")
    await med.get_by_label("Dose", exact=True).fill("2.5 mg")
    await med.get_by_label("Route").select_option("oral")
    await med.get_by_label("For", exact=True).fill("breathlessness")
    await med.get_by_label("Minutes between doses").fill("60")
    await med.get_by_label("Most doses in 24 h").fill("6")
    await page.get_by_role("button", name="Save a new version").click()
    await expect(page.locator("#plan-status")).to_have_text("Saved.")
    await expect(page.locator("#plan-version")).to_have_text("Version 2")
    await page.reload()
    await expect(page.locator("#instructions li textarea").first).to_have_value(
        "Breathing fast\nFrightened"
    )
    # A ladder step names a role and a person in words, picked from lists: no slug, no id.
    step = page.locator("#ladder li").first
    await expect(step.get_by_label("Role").locator("option:checked")).to_have_text("On-call nurse")
    await expect(page.locator("#plan-form")).not_to_contain_text("Staff id")
    await step.get_by_label("Person (optional)").select_option(label="Staff clin_a")
    await page.get_by_role("button", name="Save a new version").click()
    await expect(page.locator("#plan-version")).to_have_text("Version 3")
    await page.reload()
    step = page.locator("#ladder li").first
    await expect(step.get_by_label("Person (optional)").locator("option:checked")).to_have_text(
        "Staff clin_a"
    )
    # A threshold that cannot work is refused with the reason, and nothing is saved.
    thresholds = page.locator("#thresholds")
    await thresholds.get_by_role("button", name="Add").click()
    t = thresholds.locator("li").last
    await t.get_by_label("Moderate at").fill("8")
    await t.get_by_label("Severe at").fill("3")
    await page.get_by_role("button", name="Save a new version").click()
    # ...in words: the symptom and the field as the page names them, never the JSON path.
    await expect(page.locator("#plan-status")).to_contain_text(
        "Symptom thresholds, Anxiety, Moderate at: that number is outside what it may be"
    )
    await expect(page.locator("#plan-status")).not_to_contain_text("symptom_thresholds")
    await expect(page.locator("#plan-version")).to_have_text("Version 3")

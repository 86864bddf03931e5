"""The clinician writes the visit note's narrative, signs it (after confirming), and adds an
addendum, on the note's page; what the page shows after each step is the printed note."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.builders import PASSWORD
from tests.e2e.test_accessibility import violations
from tests.e2e.test_video_visit import PHONE
from tests.integration.test_visit_note import finish_visit

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media


async def test_clinician_writes_signs_and_adds_an_addendum(live_server, new_page) -> None:
    world = live_server.world
    encounter_id = world.encounters["a"].id
    await finish_visit(await world.agent("clin_a"), encounter_id)

    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    await page.goto(f"{live_server.url}/visit/{encounter_id}/note")

    narrative = page.get_by_label("Narrative (you can edit it until you sign the note)")
    await narrative.fill("Comfortable at home.\nPain settled on the new dose.")
    await page.get_by_role("button", name="Save the narrative").click()
    await expect(page.locator("#note-message")).to_have_text("The narrative is saved.")

    # Signing asks first; cancelling leaves the note a draft. All by keyboard.
    await narrative.fill("Comfortable at home.\nPain settled on the new dose. Family coping.")
    sign = page.get_by_role("button", name="Sign the note")
    await sign.focus()
    await page.keyboard.press("Enter")
    confirm = page.get_by_role("button", name="Yes, sign the note")
    await expect(confirm).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(confirm).to_be_hidden()
    await expect(sign).to_be_focused()
    await page.keyboard.press("Enter")
    await page.keyboard.press("Enter")

    # Signed: the unsaved words were saved first; the narrative is text now, not a form.
    await expect(page.locator(".sign-off")).to_contain_text("Signed by Staff clin_a")
    await expect(page.locator(".narrative")).to_contain_text("Family coping.")
    await expect(page.locator("#narrative-form")).to_have_count(0)

    addendum = page.get_by_label(
        "Add an addendum (it is kept with your name and the time, and cannot be changed)"
    )
    await page.get_by_role("button", name="Add the addendum").click()
    await expect(page.locator("#note-message")).to_have_text("Write the addendum first.")
    await addendum.fill("Daughter phoned in the evening: slept well.")
    await page.get_by_role("button", name="Add the addendum").click()
    added = page.locator(".addendum")
    await expect(added).to_have_count(1)
    await expect(added).to_contain_text("Addendum 1 by Staff clin_a")
    await expect(added).to_contain_text("Daughter phoned in the evening: slept well.")

    status, body = await (await world.agent("clin_a")).call(
        "PUT", f"/api/encounters/{encounter_id}/note/narrative", {"narrative": "Rewritten"}
    )
    assert (status, body["code"]) == (409, "note_signed")


async def test_the_note_page_is_accessible_and_fits_a_phone(live_server, browser) -> None:
    world = live_server.world
    encounter_id = world.encounters["a"].id
    nurse = await world.agent("clin_a")
    await finish_visit(nurse, encounter_id)
    # axe is injected as a script, which Hearth's CSP would refuse: this context bypasses it.
    context = await browser.new_context(bypass_csp=True, **PHONE)
    try:
        page = await context.new_page()
        await page.goto(live_server.url + "/login")
        await page.fill("#email", "clin_a@hearth.test")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/today")
        await page.goto(f"{live_server.url}/visit/{encounter_id}/note")
        await expect(page.locator("#narrative-form")).to_be_visible()
        assert await violations(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        note = f"/api/encounters/{encounter_id}/note"
        await nurse.call("PUT", f"{note}/narrative", {"narrative": "Comfortable."})
        await nurse.call("POST", f"{note}/sign-off")
        await nurse.call("POST", f"{note}/addenda", {"text": "Daughter phoned."})
        await page.reload()
        await expect(page.locator("#addendum-form")).to_be_visible()
        assert await violations(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        await context.close()

"""Issue 17: the clinician keeps the patient in view. At a laptop's size and a phone's, the
clinician walks identity, consent and the whole symptom assessment in the visit page while
the family's video stays inside the viewport after every answer; on a phone the panels are
tabs that work from the keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.builders import PASSWORD
from tests.e2e.test_video_visit import PHONE, family_in_lobby, frames_rising

LAPTOP = {"viewport": {"width": 1366, "height": 768}}
SIZES = {"laptop": LAPTOP, "phone": PHONE}


SCREENSHOTS = Path(__file__).parent / "screenshots"  # git ignores it; beside every page's


def shots_dir() -> Path:
    """Where the layout's screenshots go for people to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


async def clinician_at(live_server: Any, new_page: Any, options: dict[str, Any]) -> Any:
    page = await new_page(**options)
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    await page.goto(f"{live_server.url}/visit/{live_server.world.encounters['a'].id}")
    await page.get_by_role("button", name="Start camera and join").click()
    await expect(page.get_by_role("button", name="End visit")).to_be_enabled()
    return page


async def video_in_view(page: Any, what: str) -> None:
    """The family's video is wholly inside the viewport."""
    video = page.locator("#remote video").first
    box = await video.bounding_box()
    size = page.viewport_size
    assert box is not None, f"no remote video after {what}"
    assert box["width"] > 60 and box["height"] > 60, f"remote video too small after {what}: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"] + 1, (
        f"remote video out of view vertically after {what}: {box} in {size}"
    )
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1, (
        f"remote video out of view horizontally after {what}: {box} in {size}"
    )


async def open_step(steps: Any, step_id: str) -> Any:
    step = steps.locator(f'.step[data-step="{step_id}"]')
    if await step.get_attribute("open") is None:
        await step.locator("summary").click()
    return step


@pytest.mark.parametrize("size", ["laptop", "phone"])
async def test_clinician_fills_the_assessment_with_the_patient_in_view(
    live_server, new_page, size: str
) -> None:
    clinician = await clinician_at(live_server, new_page, SIZES[size])
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    await frames_rising(clinician)
    # The record's links are in the page header.
    encounter_id = live_server.world.encounters["a"].id
    await expect(clinician.get_by_role("link", name="Download record (FHIR)")).to_have_attribute(
        "href", f"/api/encounters/{encounter_id}/fhir"
    )
    await expect(clinician.get_by_role("link", name="Print note")).to_have_attribute(
        "href", f"/visit/{encounter_id}/note"
    )
    # The self-view never covers the title.
    title = await clinician.locator("h1").bounding_box()
    own = await clinician.locator("#self").bounding_box()
    assert title and own
    assert own["y"] >= title["y"] + title["height"] or own["x"] >= title["x"] + title["width"]

    if size == "phone":
        tabs = clinician.get_by_role("tablist")
        await expect(tabs).to_be_visible()
        # Keyboard: focus the selected tab, the arrow moves to the next and selects it.
        await clinician.get_by_role("tab", name="Video").focus()
        await clinician.keyboard.press("ArrowRight")
        await expect(clinician.get_by_role("tab", name="Step")).to_be_focused()
        await expect(clinician.get_by_role("tab", name="Step")).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(clinician.locator("#panel-step")).to_be_visible()
        await expect(clinician.locator("#panel-video")).to_be_hidden()
        await clinician.keyboard.press("End")
        await expect(clinician.get_by_role("tab", name="Readings & alerts")).to_be_focused()
        await expect(clinician.locator("#panel-live")).to_be_visible()
        await clinician.keyboard.press("ArrowRight")  # wraps round to the first
        await expect(clinician.get_by_role("tab", name="Video")).to_have_attribute(
            "aria-selected", "true"
        )
        await clinician.get_by_role("tab", name="Step").click()
    else:
        # Side by side on a laptop: no tabs, steps and readings both shown beside the video.
        await expect(clinician.get_by_role("tablist")).to_be_hidden()
        await expect(clinician.locator("#panel-step")).to_be_visible()
        await expect(clinician.locator("#panel-live")).to_be_visible()
    await video_in_view(clinician, "opening")

    steps = clinician.locator("#steps")
    await steps.get_by_role("button", name="Start the visit").click()
    # The current step opens by itself.
    identity = steps.locator('.step[data-step="identity"]')
    await expect(identity).to_have_attribute("open", "")
    await identity.get_by_label("Full name confirmed").check()
    await video_in_view(clinician, "name")
    await identity.get_by_label("Date of birth confirmed").check()
    await video_in_view(clinician, "birth date")
    await identity.get_by_text("Known to me").click()
    await identity.get_by_label("Where the patient is now (address)").fill("Home, 1 High St")
    await video_in_view(clinician, "address")
    await identity.get_by_role("button", name="Complete step").click()
    await expect(identity.locator(".status")).to_have_text("done")
    # Done steps fold to their line; the next opens.
    await expect(identity).not_to_have_attribute("open", "")

    consent = steps.locator('.step[data-step="consent"]')
    await expect(consent).to_have_attribute("open", "")
    await consent.get_by_label("Agrees to a video visit").check()
    await consent.get_by_text("The patient", exact=True).click()
    await consent.locator('[data-field="recording"]').get_by_text("No").click()
    await consent.locator('[data-field="share_with_family"]').get_by_text("Yes").click()
    await consent.get_by_label("Privacy explained").check()
    await video_in_view(clinician, "consent")
    await consent.get_by_role("button", name="Complete step").click()
    await expect(consent.locator(".status")).to_have_text("done")

    # The whole assessment, answered by the clinician, one answer at a time.
    assessment = steps.locator('.step[data-step="assessment"]')
    await expect(assessment).to_have_attribute("open", "")
    await assessment.locator('[data-field="answered_by"]').get_by_text("Clinician").click()
    await video_in_view(clinician, "answered by")
    items = assessment.locator(".item")
    count = await items.count()
    assert count >= 9
    answered = 0
    for index in range(count):
        item = items.nth(index)
        options = item.locator(".choice")
        if await options.count() == 0:
            await item.locator("input[type=text]").fill("Itch")
        else:
            await options.nth(min(index % 4, await options.count() - 1)).click()
        answered += 1
        await video_in_view(clinician, f"assessment item {index}")
    assert answered >= 9
    await assessment.get_by_role("button", name="Complete step").click()
    await expect(assessment.locator(".status")).to_have_text("done")
    await expect(assessment.locator(".scores")).to_contain_text("ESAS-r")
    await video_in_view(clinician, "completing the assessment")
    await clinician.screenshot(path=str(shots_dir() / f"visit-{size}.png"))


async def test_four_people_in_a_call_all_fit_on_a_phone_and_a_laptop(live_server, new_page) -> None:
    """The clinician and three family members: each sees the other three without scrolling."""
    laptop = await clinician_at(live_server, new_page, LAPTOP)
    family = []
    for name in ("Ben", "Cara", "Dev"):
        page = await family_in_lobby(live_server, new_page, name=name)
        await (
            laptop.locator("#lobby li")
            .filter(has_text=name)
            .get_by_role("button", name="Let in")
            .click()
        )
        await expect(page.locator("#call")).to_be_visible()
        family.append(page)
    for page, tiles in ((laptop, 3), *((p, 3) for p in family)):
        videos = page.locator("#remote video")
        # Four browsers with fake cameras share two cores: the last tile may take a while.
        await expect(videos).to_have_count(tiles, timeout=30_000)
        size = page.viewport_size
        # Without scrolling: at the top of the page, every tile is inside the screen.
        await page.evaluate("() => window.scrollTo(0, 0)")
        for index in range(tiles):
            box = await videos.nth(index).bounding_box()
            assert box is not None
            assert box["width"] > 80 and box["height"] > 80, box
            assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (box, size)
            assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (box, size)
    await laptop.screenshot(path=str(shots_dir() / "call-four-laptop.png"))
    await family[0].screenshot(path=str(shots_dir() / "call-four-phone.png"))

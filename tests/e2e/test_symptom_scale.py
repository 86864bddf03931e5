"""Issue 17: one 0–10 symptom control for the in-call ESAS-r and the diary. On a 360 px phone
every symptom lays out the same way (eleven numbers in one row), the control says "tap", the
whole in-call ESAS-r stays under three screen heights, and the numbers work from the keyboard
as a radiogroup."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from server.services.context import SERVICES
from server.store.between_visits import DiaryEntry
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby

SMALL_PHONE = {"width": 360, "height": 740}


BOXES = """el => [...el.querySelectorAll('.scale-option')].map((o) => {
  const r = o.getBoundingClientRect();
  return [r.x, r.y, r.width, r.height];
})"""


async def layout_of(scale: Any) -> list[tuple[int, int]]:
    """Where each of the eleven numbers sits, relative to the control's first number, read in
    one go (the call above may change height between two reads)."""
    await expect(scale.locator(".scale-option")).to_have_count(11)
    boxes = await scale.evaluate(BOXES)
    x0, y0 = boxes[0][0], boxes[0][1]
    for n, (_, _, width, height) in enumerate(boxes):
        # Tall targets; at least WCAG's 24 px wide.
        assert height >= 44 and width >= 24, (n, width, height)
    return [(round(x - x0), round(y - y0)) for x, y, _, _ in boxes]


async def one_layout_for_every_symptom(page: Any, controls: Any) -> None:
    count = await controls.count()
    assert count >= 5
    layouts = [await layout_of(controls.nth(i)) for i in range(count)]
    for index, layout in enumerate(layouts):
        assert layout == layouts[0], (index, layout, layouts[0])
    rows = sorted({y for _, y in layouts[0]})
    assert len(rows) == 1, layouts[0]  # all eleven in one row
    for i in range(count):
        await expect(controls.nth(i).locator(".scale-hint")).to_contain_text("Tap")
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], width


async def test_the_diary_scale_lays_out_alike_says_tap_and_works_by_keyboard(
    live_server, new_page
) -> None:
    world = live_server.world
    clinician = await world.agent("clin_a")
    status, link = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link
    family = await new_page(viewport=SMALL_PHONE, is_mobile=True, has_touch=True)
    await family.goto(link["diary_link"])
    await one_layout_for_every_symptom(family, family.locator(".diary-item"))

    # Keyboard only: Tab reaches the pain scale, arrows move the choice.
    pain = family.locator(".diary-item[data-item=pain]")
    await expect(pain.get_by_role("radiogroup")).to_have_count(1)
    await pain.get_by_role("radio", name="0", exact=True).focus()
    await family.keyboard.press("Space")
    await expect(pain.get_by_role("radio", name="0", exact=True)).to_be_checked()
    for _ in range(3):
        await family.keyboard.press("ArrowRight")
    await expect(pain.get_by_role("radio", name="3", exact=True)).to_be_checked()
    await expect(pain.get_by_role("radio", name="3", exact=True)).to_be_focused()
    await family.keyboard.press("ArrowLeft")
    await expect(pain.get_by_role("radio", name="2", exact=True)).to_be_checked()

    # A number picked by mistake can be taken back: the question is skipped.
    sleep = family.locator(".diary-item[data-item=sleep]")
    skip = sleep.get_by_role("button", name="Skip this question")
    await expect(skip).to_be_hidden()
    await sleep.locator(".scale-option").nth(7).tap()
    await expect(sleep.get_by_role("radio", name="7", exact=True)).to_be_checked()
    await skip.focus()
    await family.keyboard.press("Enter")
    await expect(sleep.locator("input:checked")).to_have_count(0)
    await expect(skip).to_be_hidden()
    await expect(sleep.get_by_role("radio", name="0", exact=True)).to_be_focused()
    await expect(pain.get_by_role("radio", name="2", exact=True)).to_be_checked()

    await family.get_by_role("button", name="Send my check-in").focus()
    await family.keyboard.press("Enter")
    await expect(family.locator("#diary-status")).to_contain_text("Thank you")
    async with live_server.app[SERVICES].db.begin() as s:
        scores = (await s.execute(select(DiaryEntry.scores))).scalars().all()
    assert scores == [{"pain": 2}]
    # Sent: the form is empty again, and no "Skip" is left showing.
    await expect(family.locator(".scale-clear:visible")).to_have_count(0)


async def test_the_in_call_esas_fits_three_screens_of_a_small_phone(live_server, new_page) -> None:
    world = live_server.world
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await family.set_viewport_size(SMALL_PHONE)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    nurse = await world.agent("clin_a")
    url = f"/api/encounters/{world.encounters['a'].id}/events"
    for body in (
        {"type": "start"},
        {
            "type": "complete",
            "step": "identity",
            "answers": {
                "name_confirmed": True,
                "birth_date_confirmed": True,
                "method": "known_to_clinician",
                "location": "Home",
            },
        },
        {
            "type": "complete",
            "step": "consent",
            "answers": {
                "video_visit": True,
                "consenter": "patient",
                "recording": False,
                "share_with_family": False,
                "privacy_explained": True,
            },
        },
    ):
        status, reply = await nurse.call("POST", url, body)
        assert status == 200, reply
    questions = family.locator("#questions")
    await expect(questions).to_be_visible()
    controls = questions.locator(".scale-control")
    await one_layout_for_every_symptom(family, controls)
    box = await questions.bounding_box()
    assert box is not None
    assert box["height"] < 3 * SMALL_PHONE["height"], box
    # The same control answers by keyboard here too.
    tired = questions.locator('.item[data-item="tiredness"]')
    await tired.get_by_role("radio", name="5", exact=True).focus()
    await family.keyboard.press("Space")
    await family.keyboard.press("ArrowRight")
    await expect(tired.get_by_role("radio", name="6", exact=True)).to_be_checked()

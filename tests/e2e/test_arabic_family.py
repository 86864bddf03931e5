"""A family member picks Arabic on the join page, then meets the device check, the waiting
room, the call's controls, the ESAS-r questions and the diary right to left, in Arabic."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.test_video_visit import clinician_in_visit
from tests.integration.test_every_instrument import CONSENT, IDENTITY

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def _right_to_left(page: Any, selector: str) -> None:
    """The document is Arabic and right to left, and so is what the element draws."""
    assert await page.get_attribute("html", "lang") == "ar"
    assert await page.get_attribute("html", "dir") == "rtl"
    direction = await page.locator(selector).first.evaluate("e => getComputedStyle(e).direction")
    assert direction == "rtl", selector


async def _no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth")


async def test_a_family_member_uses_hearth_in_arabic(live_server, new_page) -> None:
    world = live_server.world
    clinician = await clinician_in_visit(live_server, new_page)

    family = await new_page(**PHONE)
    await family.goto(f"{live_server.url}/join/{world.tokens['a']}")
    assert await family.get_attribute("html", "dir") == "ltr"
    # The chooser: a list and a button, by keyboard as by touch.
    await family.get_by_label("Language").select_option("ar")
    await family.get_by_role("button", name="Change language").click()
    await expect(family.locator("html")).to_have_attribute("lang", "ar")
    assert "?lang=" not in family.url

    # The device check.
    await _right_to_left(family, "#check")
    await expect(family.locator("#check-title")).to_have_text("الخطوة 1: افحص الكاميرا والصوت")
    await family.get_by_role("button", name="افحص الكاميرا والميكروفون").click()
    await expect(family.locator("#camera-status")).to_contain_text("نحن نراك")
    await expect(family.locator("#network-status")).to_contain_text("اتصال")
    await family.get_by_role("textbox", name="اسمك").fill("Ben")
    await family.get_by_role("button", name="ادخل غرفة الانتظار").click()
    await family.wait_for_url("**/family")

    # The waiting room, remembered without asking again.
    await _right_to_left(family, "#lobby")
    await expect(family.locator("#lobby-title")).to_have_text("مرحبًا Ben")
    await expect(family.locator("#lobby-status")).to_contain_text("ستُدخلك الممرضة أو الطبيب")
    await _no_sideways_scroll(family)

    # The call, its controls named in Arabic.
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    controls = family.get_by_role("toolbar", name="أدوات التحكم في المكالمة")
    await expect(controls).to_be_visible()
    await expect(controls.get_by_role("button", name="مغادرة")).to_be_visible()
    await _right_to_left(family, "#call .controls")
    # Laid out from the right: the first control sits to the right of the last.
    boxes = [await b.bounding_box() for b in await controls.get_by_role("button").all()]
    shown = [b for b in boxes if b is not None]
    assert len(shown) >= 2 and shown[0]["x"] > shown[-1]["x"]

    # The ESAS-r on the family's own phone, in Arabic, once identity and consent are done.
    nurse = await world.agent("clin_a")
    events = f"/api/encounters/{world.encounters['a'].id}/events"
    for body in (
        {"type": "start"},
        {"type": "complete", "step": "identity", "answers": IDENTITY},
        {"type": "complete", "step": "consent", "answers": CONSENT},
    ):
        status, reply = await nurse.call("POST", events, body)
        assert status == 200, reply
    questions = family.locator("#questions")
    await expect(questions).to_be_visible()
    await _right_to_left(family, "#questions")
    await expect(questions).to_contain_text("الألم")
    await expect(questions).to_contain_text("أسوأ ألم ممكن")
    await expect(questions.get_by_role("button", name="أرسل إجاباتي")).to_be_visible()
    await _no_sideways_scroll(family)

    # The diary, on a diary link the team gave: Arabic, as this phone chose.
    status, link = await nurse.call("POST", f"/api/patients/{world.patients['a'].id}/diary-links")
    assert status == 201, link
    diary = await family.context.new_page()
    await diary.goto(link["diary_link"].replace("http://hearth.test", live_server.url))
    await _right_to_left(diary, "#diary")
    await expect(diary.locator("h1")).to_have_text("التسجيل اليومي")
    await expect(diary.locator("#diary")).to_contain_text("كم ألمك الآن؟")
    await expect(diary.get_by_role("button", name="أرسل تسجيلي")).to_be_visible()
    await _no_sideways_scroll(diary)

"""A family who opens their link long before the visit can check their camera and sound, and
is told in words, in their language and time zone, when the waiting room opens."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import update

from server.services.context import SERVICES
from server.store.models import Encounter

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_too_early_the_family_page_says_when_to_come_back_and_the_check_works(
    live_server, new_page
) -> None:
    starts_at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=2)
    async with live_server.app[SERVICES].db.begin() as s:
        await s.execute(
            update(Encounter)
            .where(Encounter.id == live_server.world.encounters["a"].id)
            .values(starts_at=starts_at, ends_at=starts_at + dt.timedelta(minutes=30))
        )
    opens_local = (starts_at - dt.timedelta(minutes=30)).astimezone(ZoneInfo("Europe/London"))

    page = await new_page(**PHONE, locale="en-GB")
    await page.goto(f"{live_server.url}/join/{live_server.world.tokens['a']}")
    # The device check before the name works at any time.
    await page.get_by_role("button", name="Check my camera and microphone").click()
    await expect(page.locator("#camera-status")).to_contain_text("We can see you")
    await page.fill("#display-name", "Ben")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/family")

    early = page.locator("#too-early")
    await expect(early).to_be_visible()
    await expect(page.locator("#lobby")).to_be_hidden()
    text = await page.locator("#too-early-text").text_content()
    assert text is not None and text.startswith("The waiting room opens on")
    assert opens_local.strftime("%A") in text
    assert opens_local.strftime("%B") in text
    assert f"{opens_local.minute:02d}" in text
    assert re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:", text) is None  # no raw ISO time

    # The camera and sound check is still at hand while they wait.
    await page.get_by_role("button", name="Check my camera and microphone").click()
    await expect(page.locator("#early-camera-status")).to_contain_text("We can see you")
    await expect(page.locator("#early-results")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390

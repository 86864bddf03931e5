"""A clinician signs in and sees today's visits; a family member opens their link."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import expect
from sqlalchemy import update

from server.services.context import SERVICES
from server.store.models import JoinLink
from tests.builders import PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_a_clinician_signs_in_and_sees_todays_visit(live_server, new_page) -> None:
    page = await new_page()
    await page.goto(live_server.url + "/")
    assert page.url.endswith("/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", "wrong password")
    await page.click("button[type=submit]")
    await expect(page.locator("#login-message")).to_contain_text("do not match")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    visit = page.locator("#visits li").first
    await visit.wait_for()
    assert await visit.locator(".patient").text_content() == "Patient A"
    assert "Video visit" in await visit.locator(".detail").text_content()
    # Only the clinician's own care team's visits are listed.
    assert await page.locator("#visits li").count() == 1


async def test_sign_in_works_with_the_keyboard_alone(live_server, new_page) -> None:
    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.keyboard.press("Tab")  # skip link, past the bar's language chooser
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await page.keyboard.type("clin_b@hearth.test")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/today")


async def test_a_clinician_makes_a_new_family_link_from_the_day_list(live_server, new_page) -> None:
    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    await page.get_by_role("button", name="New family link").click()
    field = page.locator(".link-out input")
    await field.wait_for()
    link = await field.input_value()
    assert link.startswith(live_server.url + "/join/")
    family = await new_page(**PHONE)
    await family.goto(link)
    assert await family.locator("h1").text_content() == "Your video visit"


async def test_a_family_member_joins_from_their_link_on_a_phone(live_server, new_page) -> None:
    page = await new_page(**PHONE)
    await page.goto(f"{live_server.url}/join/{live_server.world.tokens['a']}")
    assert "Staff clin_a" in await page.locator("main").text_content()
    # The name comes after the device check.
    assert await page.locator("#name-step").is_hidden()
    await page.get_by_role("button", name="Check my camera and microphone").click()
    await page.click("button[type=submit]")
    await expect(page.locator("#join-message")).to_contain_text("enter your name")
    await page.fill("#display-name", "Ben")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/family")
    await expect(page.locator("#lobby-title")).to_have_text("Hello, Ben")
    # The token is gone from the address bar and from history: a shared device keeps no link.
    assert live_server.world.tokens["a"] not in page.url
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


async def test_a_revoked_link_says_so_and_whom_to_call(live_server, new_page) -> None:
    db = live_server.app[SERVICES].db
    async with db.begin() as s:
        await s.execute(
            update(JoinLink)
            .where(JoinLink.id == live_server.world.link_ids["a"])
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
    page = await new_page(**PHONE)
    response = await page.goto(f"{live_server.url}/join/{live_server.world.tokens['a']}")
    assert response.status == 410
    assert await page.locator("h1").text_content() == "This link has been cancelled"
    phone = page.locator("a.phone")
    assert await phone.text_content() == "+44 20 7946 0000"
    assert await phone.get_attribute("href") == "tel:+44 20 7946 0000"

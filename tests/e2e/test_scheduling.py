"""The scheduler books a video visit; it appears in the clinician's day list, no reload."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import expect

from server.services.context import SERVICES
from server.store.models import User
from tests.builders import PASSWORD
from tests.e2e.conftest import daytime_zone

# The day list polls every 10 s; allow two rounds.
DAY_LIST_WAIT_MS = 25_000
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


async def _sign_in(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(url + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")


async def test_a_booked_video_visit_appears_in_the_clinicians_day_list(
    live_server, new_page
) -> None:
    # The visit must fall on "today" for the clinician and the scheduler whatever the hour the
    # test runs at: both work in a zone where it is daytime now.
    zone = daytime_zone(dt.datetime.now(dt.UTC))
    world = live_server.world
    async with live_server.app[SERVICES].db.begin() as s:
        for key in ("clin_a", "sched"):
            (await s.get(User, world.users[key].id)).time_zone = zone
    scheduler_api = await world.agent("sched")
    status, _ = await scheduler_api.call(
        "PUT",
        f"/api/clinicians/{world.users['clin_a'].id}/availability",
        {"time_zone": zone, "weekly": ALL_DAY, "kinds": {"video_visit": 30}},
    )
    assert status == 200

    clinician = await new_page()
    await _sign_in(clinician, live_server.url, "clin_a@hearth.test")
    await expect(clinician.locator("#visits li")).to_have_count(1)

    scheduler = await new_page()
    await _sign_in(scheduler, live_server.url, "sched@hearth.test")
    await scheduler.get_by_role("link", name="Book visits").click()
    await scheduler.wait_for_url("**/schedule")
    await expect(scheduler.locator("#zone-note")).to_contain_text(zone)
    await expect(scheduler.locator("#patient")).to_have_value(str(world.patients["a"].id))
    first_slot = scheduler.locator(".clinician .times .button").first
    await expect(first_slot).to_be_visible()
    await first_slot.click()
    await expect(scheduler.locator("#confirm-text")).to_contain_text("Staff clin_a")
    await scheduler.get_by_role("button", name="Book this visit").click()
    link = scheduler.locator("#family-link")
    await expect(scheduler.locator("#booked-text")).to_contain_text("The visit is booked.")
    assert (await link.input_value()).startswith(f"{live_server.url}/join/")
    await expect(scheduler.locator("#upcoming li.visit")).to_have_count(2)

    # The clinician's page was never reloaded: its poll brings the new visit in.
    await expect(clinician.locator("#visits li")).to_have_count(2, timeout=DAY_LIST_WAIT_MS)
    await expect(clinician.locator("#visits li .detail").nth(0)).to_contain_text("Booked")

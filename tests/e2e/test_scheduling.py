"""The scheduler books a video visit; it appears in the clinician's day list, no reload."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect

from server.services.context import SERVICES
from server.store.models import User
from tests.builders import PASSWORD
from tests.e2e.conftest import daytime_zone

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

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
    # A visit in two days: its reminders to the family have not gone out yet.
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    status, booked = await scheduler_api.call(
        "POST",
        "/api/encounters",
        {
            "patient_id": world.patients["a"].id,
            "clinician_id": world.users["clin_a"].id,
            "starts_at": later.isoformat(),
            "duration_minutes": 30,
            "kind": "video_visit",
        },
    )
    assert status == 201, booked

    clinician = await new_page()
    await _sign_in(clinician, live_server.url, "clin_a@hearth.test")
    await expect(clinician.locator("#visits li")).to_have_count(1)

    scheduler = await new_page()
    await _sign_in(scheduler, live_server.url, "sched@hearth.test")
    await scheduler.get_by_role("link", name="Book visits").click()
    await scheduler.wait_for_url("**/schedule")
    # The zone is named as people say it, if at all: never "Asia/Tokyo".
    await expect(scheduler.locator("#zone-note")).not_to_contain_text("/")
    # Each booking shows the family's reminders, as the day list does.
    later_visit = scheduler.locator("#upcoming li.visit").last
    await expect(later_visit.locator(".reminders")).to_contain_text(
        "Reminder the day before by email: goes out"
    )
    await expect(later_visit.locator(".reminders")).to_contain_text("Reminder an hour before")
    await expect(scheduler.locator("#patient")).to_have_value(str(world.patients["a"].id))
    first_slot = scheduler.locator(".clinician .times .button").first
    await expect(first_slot).to_be_visible()
    await first_slot.click()
    await expect(scheduler.locator("#confirm-text")).to_contain_text("Staff clin_a")
    await scheduler.get_by_role("button", name="Book this visit").click()
    link = scheduler.locator("#family-link")
    await expect(scheduler.locator("#booked-text")).to_contain_text("The visit is booked.")
    assert (await link.input_value()).startswith(f"{live_server.url}/join/")
    await expect(scheduler.locator("#upcoming li.visit")).to_have_count(3)

    # The clinician's page was never reloaded: its poll brings the new visit in.
    await expect(clinician.locator("#visits li")).to_have_count(2, timeout=DAY_LIST_WAIT_MS)
    await expect(clinician.locator("#visits li .detail").nth(0)).to_contain_text("Booked")

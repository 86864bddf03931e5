"""A clinician sets their working hours and time off on their own page; the scheduler's free
slots follow them."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from server.services.context import SERVICES
from server.store.models import User
from tests.builders import PASSWORD

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

MONDAY = 0
DAYS_IN_WEEK = 7


async def _sign_in(page, url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(url + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")


def _next_monday(zone: str) -> dt.date:
    """The first Monday after today on the clinician's calendar: always in the future, so
    its free slots are all offered."""
    today = dt.datetime.now(ZoneInfo(zone)).date()
    return today + dt.timedelta(days=(MONDAY - today.weekday() - 1) % DAYS_IN_WEEK + 1)


async def test_a_clinician_sets_monday_hours_and_time_off_that_booking_then_offers(
    live_server, new_page
) -> None:
    world = live_server.world
    clinician_id = world.users["clin_a"].id
    async with live_server.app[SERVICES].db.begin() as s:
        zone = (await s.get(User, clinician_id)).time_zone
    monday = _next_monday(zone).isoformat()

    signed_out = await new_page()
    await signed_out.goto(live_server.url + "/availability")
    await signed_out.wait_for_url("**/login")

    page = await new_page()
    await _sign_in(page, live_server.url, "clin_a@hearth.test")
    await page.get_by_role("link", name="My working hours").click()
    await page.wait_for_url("**/availability")
    await expect(page.locator("#editor")).to_be_visible()
    await expect(page.locator("#time-zone")).to_have_value(zone)

    mondays = page.locator("#day-0")
    await mondays.get_by_role("button", name="Add hours on Monday").click()
    await mondays.get_by_label("From").fill("09:00")
    await mondays.get_by_label("To").fill("12:00")
    await page.get_by_label("Video visit").fill("30")
    await page.get_by_role("button", name="Add time off").click()
    time_off = page.locator("#time-off .range")
    await time_off.get_by_label("From").fill(f"{monday}T09:00")
    await time_off.get_by_label("Until").fill(f"{monday}T10:00")
    await time_off.get_by_label("Label (optional)").fill("Team training")
    await page.get_by_role("button", name="Save working hours").click()
    await expect(page.locator("#save-status")).to_have_text(re.compile("^Saved"))

    await page.reload()
    await expect(page.locator("#editor")).to_be_visible()
    await expect(mondays.locator(".range")).to_have_count(1)
    await expect(mondays.get_by_label("From")).to_have_value("09:00")
    await expect(mondays.get_by_label("To")).to_have_value("12:00")
    await expect(time_off).to_have_count(1)
    await expect(time_off.get_by_label("From")).to_have_value(f"{monday}T09:00")
    await expect(time_off.get_by_label("Until")).to_have_value(f"{monday}T10:00")
    await expect(time_off.get_by_label("Label (optional)")).to_have_value("Team training")
    await expect(page.get_by_label("Video visit")).to_have_value("30")

    # A range that ends before it starts: the API refuses it and the page says so on its row.
    tuesdays = page.locator("#day-1")
    await tuesdays.get_by_role("button", name="Add hours on Tuesday").click()
    await tuesdays.get_by_label("From").fill("14:00")
    await tuesdays.get_by_label("To").fill("13:00")
    await page.get_by_role("button", name="Save working hours").click()
    await expect(tuesdays.locator(".field-error")).to_have_text(
        re.compile("The end must be after the start")
    )
    await expect(tuesdays.get_by_label("To")).to_have_attribute("aria-invalid", "true")
    await expect(tuesdays.get_by_label("To")).to_be_focused()
    await expect(page.locator("#save-status")).to_contain_text("Nothing was saved")

    # The scheduler is offered Monday 10:00 to 12:00 only: the hours less the time off.
    scheduler = await world.agent("sched")
    status, body = await scheduler.call(
        "GET",
        f"/api/slots?kind=video_visit&patient_id={world.patients['a'].id}"
        f"&from={monday}&to={monday}",
    )
    assert status == 200, body
    (offered,) = [c for c in body["clinicians"] if c["clinician_id"] == clinician_id]
    assert offered["length_minutes"] == 30
    starts = [
        dt.datetime.fromisoformat(slot["starts_at"]).astimezone(ZoneInfo(zone)).strftime("%H:%M")
        for slot in offered["slots"]
    ]
    assert starts == ["10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30"]


async def test_a_scheduler_picks_a_clinician_and_an_unknown_time_zone_is_explained(
    live_server, new_page
) -> None:
    world = live_server.world
    clinician_id = world.users["clin_b"].id
    api = await world.agent("sched")
    leave_starts = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    leave_ends = leave_starts + dt.timedelta(hours=1)
    status, body = await api.call(
        "PUT",
        f"/api/clinicians/{clinician_id}/availability",
        {
            "time_zone": "UTC",
            "time_off": [
                {"starts_at": leave_starts.isoformat(), "ends_at": leave_ends.isoformat()}
            ],
        },
    )
    assert status == 200, body

    page = await new_page()
    await _sign_in(page, live_server.url, "sched@hearth.test")
    await page.get_by_role("link", name="Clinicians' working hours").click()
    await page.wait_for_url("**/availability")
    await expect(page.locator("#editor")).to_be_hidden()
    await page.get_by_label("Clinician", exact=True).select_option(label="Staff clin_b")
    await expect(page.locator("#editor")).to_be_visible()

    zone = page.get_by_label("The time zone of these hours")
    await zone.fill("Mars/Olympus_Mons")
    await page.get_by_role("button", name="Save working hours").click()
    await expect(page.locator("#time-zone-error")).to_contain_text("not a time zone")
    await expect(zone).to_be_focused()
    await zone.fill("Europe/Paris")
    # The time off keeps its real times, now shown on a Paris clock.
    paris = leave_starts.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%dT%H:%M")
    await expect(page.locator("#time-off .starts")).to_have_value(paris)
    await page.get_by_role("button", name="Save working hours").click()
    await expect(page.locator("#save-status")).to_have_text(re.compile("^Saved"))
    await expect(page.locator("#time-zone-error")).to_be_hidden()
    status, body = await api.call("GET", f"/api/clinicians/{clinician_id}/availability")
    assert (status, body["time_zone"]) == (200, "Europe/Paris")
    assert dt.datetime.fromisoformat(body["time_off"][0]["starts_at"]) == leave_starts

    # A coordinator may read hours through the API but not change them: no editor for them.
    coordinator = await new_page()
    await _sign_in(coordinator, live_server.url, "coord_a@hearth.test")
    await coordinator.goto(live_server.url + "/availability")
    await expect(coordinator.locator("main")).to_contain_text("Working hours are set by")
    await expect(coordinator.locator("#editor")).to_have_count(0)


async def test_the_hours_shown_are_the_last_chosen_clinicians_and_a_save_waits_for_the_session(
    live_server, new_page
) -> None:
    world = live_server.world
    first, second = world.users["clin_a"].id, world.users["clin_b"].id
    api = await world.agent("sched")
    for clinician_id, zone in ((first, "UTC"), (second, "Europe/Paris")):
        status, body = await api.call(
            "PUT", f"/api/clinicians/{clinician_id}/availability", {"time_zone": zone}
        )
        assert status == 200, body

    page = await new_page()
    await _sign_in(page, live_server.url, "sched@hearth.test")
    # The first clinician's hours are slow to come; the scheduler meanwhile picks another.
    release = asyncio.Event()

    async def slow(route) -> None:  # type: ignore[no-untyped-def]
        await release.wait()
        await route.continue_()

    await page.route(f"**/api/clinicians/{first}/availability", slow)
    await page.goto(live_server.url + "/availability")
    chooser = page.get_by_label("Clinician", exact=True)
    await chooser.select_option(label="Staff clin_a")
    await chooser.select_option(label="Staff clin_b")
    zone = page.get_by_label("The time zone of these hours")
    await expect(zone).to_have_value("Europe/Paris")
    async with page.expect_response(lambda r: f"/clinicians/{first}/" in r.url):
        release.set()
    await page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
    await expect(zone).to_have_value("Europe/Paris")
    await expect(page.locator("#editor")).to_be_visible()

    # A page whose session is slow to come: what is typed meanwhile is saved once it comes.
    held = asyncio.Event()

    async def slow_session(route) -> None:  # type: ignore[no-untyped-def]
        await held.wait()
        await route.continue_()

    late = await new_page()
    await _sign_in(late, live_server.url, "sched@hearth.test")
    await late.route("**/api/session", slow_session)
    await late.goto(f"{live_server.url}/availability?clinician={second}")
    await expect(late.locator("#editor")).to_be_visible()
    await late.get_by_label("The time zone of these hours").fill("Europe/Madrid")
    await late.get_by_role("button", name="Save working hours").click()
    await expect(late.locator("#save-status")).to_have_text(re.compile("^Saving"))
    held.set()
    await expect(late.locator("#save-status")).to_have_text(re.compile("^Saved"))
    status, body = await api.call("GET", f"/api/clinicians/{second}/availability")
    assert (status, body["time_zone"]) == (200, "Europe/Madrid")

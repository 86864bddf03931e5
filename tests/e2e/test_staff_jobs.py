"""The staff jobs of issue 17 in a browser: an admin adds a login and reads the audit log, a
clinician issues and stops a family's diary link and a calendar feed, a coordinator hands
an alert to a nurse and sees only the buttons they may use."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect

from server.services.context import SERVICES
from server.store.models import User
from tests.builders import PASSWORD
from tests.e2e.conftest import LiveServer

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

LAPTOP = {"viewport": {"width": 1366, "height": 768}}


async def signed_in(new_page: Any, live_server: LiveServer, who: str, **options: Any) -> Any:
    page = await new_page(**LAPTOP, **options)
    await page.goto(live_server.url + "/login")
    await page.fill("#email", f"{who}@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.locator("main").get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/today")
    return page


async def test_an_admin_adds_a_nurse_on_a_care_team_and_disables_the_login(
    live_server: LiveServer, new_page: Any
) -> None:
    page = await signed_in(new_page, live_server, "admin")
    await page.get_by_role("link", name="Users", exact=True).click()
    await page.wait_for_url("**/admin/users")
    await expect(page.locator("#users li")).to_have_count(6)
    form = page.locator("#new-user")
    await form.get_by_label("Name").fill("Nora Nurse")
    await form.get_by_label("Email").fill("nora@hearth.test")
    await form.get_by_label("Role").select_option("clinician")
    await form.get_by_label("Patient A").check()
    await form.get_by_role("button", name="Add the login").click()
    await expect(page.locator("#new-status")).to_contain_text("shown only now")
    secret = await page.locator("#new-secret").input_value()
    assert len(secret) >= 12
    nora = page.locator("#users li", has_text="Nora Nurse")
    await expect(nora).to_contain_text("Care teams: Patient A")
    await nora.get_by_role("button", name="Disable the login").click()
    nora = page.locator("#users li", has_text="Nora Nurse")
    await expect(nora).to_contain_text("Disabled: cannot sign in")
    await expect(nora.get_by_role("button", name="Enable the login")).to_be_visible()


async def test_an_admin_filters_exports_and_checks_the_audit_log(
    live_server: LiveServer, new_page: Any
) -> None:
    world = live_server.world
    clinician = await world.agent("clin_a")
    assert (await clinician.call("GET", f"/api/patients/{world.patients['a'].id}"))[0] == 200
    page = await signed_in(new_page, live_server, "admin", accept_downloads=True)
    await page.get_by_role("link", name="Audit log", exact=True).click()
    await page.wait_for_url("**/admin/audit")
    await page.get_by_label("Patient").select_option(label="Patient A")
    await page.get_by_label("Person").select_option(label="Staff clin_a")
    await page.get_by_role("button", name="Show entries").click()
    rows = page.locator("#rows tr")
    await expect(rows.first).to_contain_text("Looked at a patient's record")
    await expect(rows.first).to_contain_text("Patient A")
    await expect(rows.first).to_contain_text("Staff clin_a (clinician)")
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download these entries (CSV)").click()
    download = await download_info.value
    text = (await download.path()).read_text()
    assert text.startswith("id,at,actor_id,actor_name") and "Patient A" in text
    await page.get_by_role("button", name="Check the whole log").click()
    await expect(page.locator("#verify-result")).to_contain_text("Intact")


async def test_the_audit_rows_shown_are_those_of_the_last_search_asked_for(
    live_server: LiveServer, new_page: Any
) -> None:
    world = live_server.world
    clinician = await world.agent("clin_a")
    assert (await clinician.call("GET", f"/api/patients/{world.patients['a'].id}"))[0] == 200
    page = await signed_in(new_page, live_server, "admin")
    # The page's first answer (every entry) is slow; a search for one person comes back first.
    release = asyncio.Event()

    async def slow_unfiltered(route: Any) -> None:
        if "actor_id=" not in route.request.url:
            await release.wait()
        await route.continue_()

    await page.route("**/api/audit?*", slow_unfiltered)
    await page.goto(live_server.url + "/admin/audit")
    await page.get_by_label("Person").select_option(label="Staff clin_a")
    await page.get_by_role("button", name="Show entries").click()
    rows = page.locator("#rows tr")
    await expect(rows.first).to_contain_text("Staff clin_a (clinician)")
    async with page.expect_response(lambda r: "/api/audit?" in r.url):
        release.set()
    await page.evaluate("() => new Promise((done) => setTimeout(done, 200))")
    count = await rows.count()
    assert count > 0
    for index in range(count):
        await expect(rows.nth(index)).to_contain_text("Staff clin_a (clinician)")


async def test_a_clinician_issues_a_diary_link_with_its_qr_code_then_replaces_and_stops_it(
    live_server: LiveServer, new_page: Any
) -> None:
    page = await signed_in(new_page, live_server, "clin_a")
    await page.goto(f"{live_server.url}/patients/{live_server.world.patients['a'].id}/care-plan")
    state = page.locator("#diary-link-state")
    await expect(state).to_contain_text("no working diary link")
    await page.get_by_role("button", name="Make a diary link").click()
    await expect(page.locator("#diary-link-url")).to_have_value(re.compile("/diary/"))
    qr = page.get_by_role("img", name="QR code of the diary link")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    first = await page.locator("#diary-link-url").input_value()
    assert "/diary/" in first
    await expect(state).to_contain_text("A diary link works")
    await page.get_by_role("button", name="Make a new link (the old one stops)").click()
    await expect(page.locator("#diary-link-url")).not_to_have_value(first)
    family = await new_page()
    response = await family.goto(first)
    assert response is not None and response.status == 410
    await page.get_by_role("button", name="Stop the diary link").click()
    await expect(state).to_contain_text("no working diary link")
    await expect(page.locator("#diary-link-out")).to_be_hidden()


async def test_a_clinician_makes_copies_and_stops_their_calendar_feed(
    live_server: LiveServer, new_page: Any
) -> None:
    page = await signed_in(
        new_page, live_server, "clin_a", permissions=["clipboard-read", "clipboard-write"]
    )
    await page.get_by_role("link", name="Calendar feed", exact=True).click()
    await page.wait_for_url("**/calendar-feed")
    await expect(page.locator("#feed-state")).to_contain_text("no calendar address")
    await page.get_by_role("button", name="Make a calendar address").click()
    await expect(page.locator("#feed-url")).to_have_value(re.compile(r"/calendar/.+\.ics$"))
    url = await page.locator("#feed-url").input_value()
    assert url.startswith(live_server.url + "/calendar/") and url.endswith(".ics")
    await page.get_by_role("button", name="Copy the address").click()
    await expect(page.locator("#feed-status")).to_have_text("Copied.")
    assert await page.evaluate("() => navigator.clipboard.readText()") == url
    await expect(page.locator("#feed-state")).to_contain_text("works")
    await page.get_by_role("button", name="Stop the calendar address").click()
    await expect(page.locator("#feed-state")).to_contain_text("no calendar address")
    assert (await (await new_page()).goto(url)).status == 404


async def test_a_coordinator_hands_an_alert_to_the_nurse_who_then_may_acknowledge_it(
    live_server: LiveServer, new_page: Any
) -> None:
    world = live_server.world
    clinician = await world.agent("clin_a")
    status, made = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201
    family = await world.agent()
    status, _ = await family.call(
        "POST",
        "/api/diary",
        {
            "token": made["diary_link"].rsplit("/", 1)[1],
            "entry": {
                "client_id": "e1",
                "recorded_at": dt.datetime.now(dt.UTC).isoformat(),
                "items": {"pain": 9},
            },
        },
    )
    assert status == 201
    page = await signed_in(new_page, live_server, "coord_a")
    await page.get_by_role("link", name="Alerts", exact=True).click()
    card = page.locator("#queue li").first
    await expect(card).to_contain_text("pain 9")
    # The first tier is the on-call nurse: the coordinator is not offered Acknowledge.
    await expect(card.get_by_role("button", name="Acknowledge")).to_be_hidden()
    await card.get_by_text("Hand this alert to someone else").click()
    await card.get_by_label("To").select_option(label="Staff clin_a")
    await card.get_by_label("Why (they will see this)").fill("On shift today")
    await card.get_by_role("button", name="Hand it on").click()
    await expect(page.locator("#queue li").first).to_contain_text("Handed to Staff clin_a")
    nurse = await signed_in(new_page, live_server, "clin_a")
    await nurse.get_by_role("link", name="Alerts", exact=True).click()
    nurse_card = nurse.locator("#queue li").first
    await nurse_card.get_by_role("button", name="Acknowledge").click()
    await expect(nurse.locator("#queue li").first).to_contain_text("acknowledged")
    # "Start a video visit today" takes the nurse's next free half hour: the world's visit
    # starts in 20 minutes and lasts an hour, so after it (unless that is past midnight).
    async with live_server.app[SERVICES].db.begin() as s:
        zone = ZoneInfo((await s.get(User, world.users["clin_a"].id)).time_zone)
    now = dt.datetime.now(zone)
    after_visit = now + dt.timedelta(minutes=80)
    # (A fresh page: the queue re-reads itself on each alert event, replacing its cards.)
    await nurse.reload()
    nurse_card = nurse.locator("#queue li").first
    await expect(nurse_card).to_contain_text("acknowledged")
    await nurse_card.get_by_role("button", name="Start a video visit today").click()
    said = nurse_card.locator(".action-status")
    if after_visit.date() == now.date():
        await expect(said).to_contain_text(
            re.compile(
                r"Video visit booked for \w{3} \d{1,2} \w{3}, \d\d:\d\d, the first free time today"
            )
        )
        await expect(nurse_card.get_by_label("Family link")).to_have_value(re.compile("/join/"))
    else:
        await expect(said).to_contain_text("No free time is left today")

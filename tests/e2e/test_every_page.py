"""Every staff and family page, as each role that uses it, reached from the navigation: no
internal identifiers or escaped markup in the text a person reads, no serious or critical
accessibility violations (axe), and a screenshot at phone and laptop sizes for people to
review (written to tests/e2e/screenshots/, which git ignores)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from server.services.context import SERVICES
from server.store.models import User
from tests.builders import PASSWORD
from tests.e2e.conftest import LiveServer
from tests.e2e.test_accessibility import violations

SCREENSHOTS = Path(__file__).parent / "screenshots"
SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "laptop": {"viewport": {"width": 1366, "height": 768}},
}
# Names a person would have: the test world's "Staff clin_a" would itself look like a slug.
PEOPLE = {
    "clin_a": ("Ann Carer", "ann.carer@hearth.test"),
    "coord_a": ("Cora Lead", "cora.lead@hearth.test"),
    "clin_b": ("Ben Nurse", "ben.nurse@hearth.test"),
    "coord_b": ("Dee Lead", "dee.lead@hearth.test"),
    "sched": ("Sam Booker", "sam.booker@hearth.test"),
    "admin": ("Ada Admin", "ada.admin@hearth.test"),
}
# What a person must never read.
NEVER = {
    "a UUID": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
    "a user or record id": re.compile(r"\b(user|staff|id|#)\s*#?\d+\b", re.I),
    "a slug or step id": re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b"),
    "a JSON field path": re.compile(r"\b\w+(\.\w+)*\[\d+\]"),
    "escaped markup": re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.I),
    # Zones as people say them ("GMT"), or not at all in the viewer's own zone.
    "a raw time zone name": re.compile(
        r"\b(Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[A-Z]\w+"
    ),
    # One date format on every page, "Thu 3 Dec, 13:25": never ISO, month-first or AM/PM.
    "an ISO date": re.compile(r"\b\d{4}-\d\d-\d\d(T\d\d:\d\d)?\b"),
    "a month-first date": re.compile(
        r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}\b(?!:)"
    ),
    "a 12-hour time": re.compile(r"\b\d{1,2}:\d\d\s?[AP]M\b", re.I),
}

# (role, the navigation entry's name, the page's address, what shows once it has loaded)
NAV_PAGES = [
    ("clin_a", "Today", "/today", "#visits li"),
    ("clin_a", "Alerts", "/alerts", "#alerts-status"),
    ("clin_a", "Working hours", "/availability", "#editor"),
    ("clin_a", "Calendar feed", "/calendar-feed", "#make"),
    ("clin_a", "Drills", "/drills", "main h1"),
    ("coord_a", "Today", "/today", "#visits li"),
    ("coord_a", "Alerts", "/alerts", "#alerts-status"),
    ("coord_a", "Schedule", "/schedule", "main h1"),
    ("coord_a", "Drills", "/drills", "main h1"),
    ("sched", "Schedule", "/schedule", "main h1"),
    ("sched", "Availability", "/availability", "#clinician"),
    ("admin", "Users", "/admin/users", "#users li"),
    ("admin", "Audit log", "/admin/audit", "#rows tr"),
    ("admin", "Availability", "/availability", "#clinician"),
]


def problems_in(text: str) -> list[str]:
    found = []
    for what, pattern in NEVER.items():
        for match in pattern.finditer(text):
            found.append(f"{what}: {match.group(0)!r}")
    return found


async def humane_names(live_server: LiveServer) -> None:
    async with live_server.app[SERVICES].db.begin() as s:
        for key, (name, email) in PEOPLE.items():
            await s.execute(
                update(User)
                .where(User.id == live_server.world.users[key].id)
                .values(name=name, email=email)
            )
            live_server.world.users[key].email = email


async def check_page(page: Any, name: str, ready: str) -> list[str]:
    """Read the page at both sizes: its text, axe, and a screenshot of each."""
    found: list[str] = []
    SCREENSHOTS.mkdir(exist_ok=True)
    for size, options in SIZES.items():
        await page.set_viewport_size(options["viewport"])
        await expect(page.locator(ready).first).to_be_attached()
        # Let the page's scripts fill in what they load before reading it.
        await page.wait_for_load_state("networkidle")
        text = await page.evaluate("() => document.body.innerText")
        found += [f"{size}: {p}" for p in problems_in(text)]
        found += [f"{size}: axe {v}" for v in await violations(page)]
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    return sorted(set(found))


async def sign_in(page: Any, url: str, email: str) -> None:
    await page.goto(url + "/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.locator("main").get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/today")


@pytest.mark.no_media  # runs beside the calls (tests/e2e/conftest.py)
@pytest.mark.parametrize(
    ("role", "entry", "path", "ready"), NAV_PAGES, ids=[f"{r}-{p}" for r, _, p, _ in NAV_PAGES]
)
async def test_every_staff_page_from_the_navigation_reads_well(
    live_server: LiveServer, browser: Any, role: str, entry: str, path: str, ready: str
) -> None:
    await humane_names(live_server)
    # axe is injected as a script, which Hearth's CSP would refuse: this context bypasses it.
    context = await browser.new_context(bypass_csp=True, **SIZES["laptop"])
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, PEOPLE[role][1])
        nav = page.get_by_role("navigation", name="Your pages")
        await nav.get_by_role("link", name=entry, exact=True).click()
        await page.wait_for_url(f"**{path}")
        await expect(nav.get_by_role("link", name=entry, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        name = f"{role.split('_')[0]}-{path.strip('/').replace('/', '-')}"
        assert await check_page(page, name, ready) == []
    finally:
        await context.close()


async def test_the_visit_care_plan_and_family_pages_read_well(
    live_server: LiveServer, browser: Any
) -> None:
    await humane_names(live_server)
    world = live_server.world
    clinician = await world.agent("clin_a")
    status, made = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, made
    # A saved version, so the care plan page lists what changed, in words.
    status, saved = await clinician.call(
        "PUT",
        f"/api/patients/{world.patients['a'].id}/care-plan",
        {"plan": {"ceiling_of_care": "selective"}},
    )
    assert status == 200, saved
    staff = await browser.new_context(bypass_csp=True, **SIZES["laptop"])
    family = await browser.new_context(bypass_csp=True, **SIZES["phone"])
    staff.set_default_timeout(15_000)
    family.set_default_timeout(15_000)
    found: dict[str, list[str]] = {}
    try:
        page = await staff.new_page()
        await sign_in(page, live_server.url, PEOPLE["clin_a"][1])
        await page.get_by_role("link", name="Open visit").first.click()
        await page.wait_for_url("**/visit/*")
        found["visit"] = await check_page(page, "clin-visit", "#steps .step")
        await page.goto(f"{live_server.url}/patients/{world.patients['a'].id}/care-plan")
        found["care plan"] = await check_page(page, "clin-care-plan", "#diary-link-issue")

        phone = await family.new_page()
        await phone.goto(f"{live_server.url}/join/{world.tokens['a']}")
        found["join"] = await check_page(phone, "family-join", "main h1")
        await phone.get_by_role("button", name="Check my camera and microphone").click()
        await phone.fill("#display-name", "Ben")
        await phone.get_by_role("button", name="Join the waiting room").click()
        await phone.wait_for_url("**/family")
        found["family"] = await check_page(phone, "family-visit", "#lobby-status")
        await phone.goto(made["diary_link"])
        found["diary"] = await check_page(phone, "family-diary", "main h1")
    finally:
        await staff.close()
        await family.close()
    assert {page: problems for page, problems in found.items() if problems} == {}

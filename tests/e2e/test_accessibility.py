"""axe-core on the pages people use: no serious or critical accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.builders import PASSWORD
from tests.e2e.test_video_visit import PHONE

AXE = Path(__file__).parent / "vendor" / "axe.min.js"


async def violations(page: Any) -> list[str]:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(result)


async def test_staff_and_family_pages_have_no_serious_violations(live_server, browser) -> None:
    # axe is injected as a script, which Hearth's CSP would refuse: this context bypasses it.
    staff = await browser.new_context(bypass_csp=True)
    family = await browser.new_context(bypass_csp=True, **PHONE)
    try:
        page = await staff.new_page()
        await page.goto(live_server.url + "/login")
        assert await violations(page) == []
        await page.fill("#email", "clin_a@hearth.test")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/today")
        await expect(page.locator("#visits li")).to_have_count(1)
        assert await violations(page) == []
        await page.goto(f"{live_server.url}/visit/{live_server.world.encounters['a'].id}")
        await expect(page.locator("#steps .step").first).to_be_visible()
        assert await violations(page) == []

        phone = await family.new_page()
        await phone.goto(f"{live_server.url}/join/{live_server.world.tokens['a']}")
        assert await violations(phone) == []
        await phone.get_by_role("button", name="Check my camera and microphone").click()
        await phone.fill("#display-name", "Ben")
        await phone.get_by_role("button", name="Join the waiting room").click()
        await phone.wait_for_url("**/family")
        await expect(phone.locator("#lobby-status")).to_contain_text("let you in")
        assert await violations(phone) == []
        # The clinician leaves the visit only now: the family's lobby waited for them.
        await page.goto(live_server.url + "/availability")
        await page.get_by_role("button", name="Add hours on Monday").click()
        await page.get_by_role("button", name="Add time off").click()
        await expect(page.locator("#time-off .range")).to_have_count(1)
        assert await violations(page) == []
    finally:
        await staff.close()
        await family.close()


async def test_drill_pages_have_no_serious_violations(live_server, browser) -> None:
    world = live_server.world
    # Terminal breathlessness is rehearsed with families whose goals are comfort-focused.
    clinician = await world.agent("clin_a")
    status, plan = await clinician.call(
        "PUT",
        f"/api/patients/{world.patients['a'].id}/care-plan",
        {"plan": {"ceiling_of_care": "selective"}},
    )
    assert status == 200, plan
    coordinator = await world.agent("coord_a")
    status, made = await coordinator.call(
        "POST",
        "/api/drills",
        {
            "patient_id": world.patients["a"].id,
            "scenario_id": "terminal_breathlessness",
            "clinician_id": world.users["clin_a"].id,
        },
    )
    assert status == 201, made
    drill_id = made["drill"]["id"]
    status, body = await coordinator.call("POST", f"/api/drills/{drill_id}/start")
    assert status == 200, body
    staff = await browser.new_context(bypass_csp=True)
    family = await browser.new_context(bypass_csp=True, **PHONE)
    try:
        phone = await family.new_page()
        await phone.goto(made["family_link"])
        await phone.get_by_role("button", name="Check my camera and microphone").click()
        await phone.fill("#display-name", "Ben")
        await phone.get_by_role("button", name="Join the waiting room").click()
        await phone.wait_for_url("**/family")
        await expect(phone.locator("#prompts li").first).to_contain_text("catch her breath")
        assert await violations(phone) == []
        status, body = await coordinator.call("POST", f"/api/drills/{drill_id}/finish")
        assert status == 200, body
        page = await staff.new_page()
        await page.goto(live_server.url + "/login")
        await page.fill("#email", "coord_a@hearth.test")
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/today")
        await page.goto(live_server.url + "/drills")
        await expect(page.locator("#drill-list .drill-item")).to_have_count(1)
        assert await violations(page) == []
        await page.goto(f"{live_server.url}/drills/{drill_id}")
        await expect(page.locator("#drill-state")).to_have_text("finished")
        assert await violations(page) == []
        await page.goto(f"{live_server.url}/drills/{drill_id}/report")
        await expect(page.locator("#report-figures")).to_be_visible()
        assert await violations(page) == []
        await page.goto(f"{live_server.url}/drills/trends")
        await expect(page.locator("#trends-table tbody tr")).to_have_count(1)
        assert await violations(page) == []
    finally:
        await staff.close()
        await family.close()

"""Issue 19 in the browser: from the care plan page a clinician opens the patient's outcomes,
records an unplanned admission, corrects it and reads its earlier version, then records a death
with its place beside the preferred place from the care plan, and is told when someone else
corrected a record first; axe finds no serious or critical violation on the outcomes page (on
a phone) nor on /quality."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from server.store.quality import OutcomeRecord
from tests.e2e.test_accessibility import violations
from tests.e2e.test_drills import sign_in

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def test_a_clinician_records_corrects_and_reads_outcomes(live_server, new_page) -> None:
    world = live_server.world
    patient_id = world.patients["a"].id
    clin = await world.agent("clin_a")
    plan_path = f"/api/patients/{patient_id}/care-plan"
    status, saved = await clin.call("GET", plan_path)
    assert status == 200, saved
    plan = saved["plan"] | {"preferred_place_of_death": "hospice"}
    status, saved = await clin.call(
        "PUT", plan_path, {"plan": plan, "base_version": saved["version"]}
    )
    assert status == 200, saved
    name = world.users["clin_a"].name

    # axe is injected as a script, which Hearth's CSP would refuse: this context bypasses it.
    page = await new_page(bypass_csp=True, **PHONE)
    await sign_in(page, live_server.url, "clin_a@hearth.test")
    # The day list leads to each visit's patient's outcomes, and so does the care plan page.
    await expect(page.get_by_role("link", name="Outcomes of Patient A")).to_have_attribute(
        "href", f"/patients/{patient_id}/outcomes"
    )
    await page.goto(f"{live_server.url}/patients/{patient_id}/care-plan")
    await page.get_by_role(
        "link", name="Outcomes: admissions, emergencies, death or discharge"
    ).click()
    await page.wait_for_url(f"**/patients/{patient_id}/outcomes")
    await expect(page.locator("#list-status")).to_have_text("Nothing recorded yet.")
    assert await violations(page) == []

    # An unplanned admission, two days ago, with the crisis plan used.
    admitted = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    await page.get_by_label("What happened").select_option(label="Unplanned admission")
    await page.get_by_label("Date").fill(admitted)
    await page.get_by_role("radio", name="Yes").check()
    await page.get_by_label("Why, in a few words (optional)").fill("Fall at home")
    await page.get_by_role("button", name="Record").click()
    await expect(page.locator("#outcome-status")).to_have_text("Recorded.")
    record = page.locator("#outcomes > li")
    await expect(record).to_have_count(1)
    await expect(record.locator("h3")).to_contain_text("Unplanned admission")
    await expect(record).to_contain_text("Crisis plan used")
    await expect(record).to_contain_text("Fall at home")
    await expect(record).to_contain_text(f"Recorded by {name}")
    await expect(record.locator("details")).to_have_count(0)

    # Corrected: a day earlier, another reason; the first version stays readable.
    await record.get_by_role("button", name="Correct: Unplanned admission").click()
    await expect(page.locator("#form-title")).to_contain_text("Correct: Unplanned admission")
    await expect(page.get_by_label("What happened")).to_be_disabled()
    await expect(page.get_by_label("Date")).to_be_focused()
    await expect(page.get_by_label("Why, in a few words (optional)")).to_have_value("Fall at home")
    corrected = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    await page.get_by_label("Date").fill(corrected)
    await page.get_by_label("Why, in a few words (optional)").fill("Fell at night, hip pain")
    await page.get_by_role("button", name="Save the correction").click()
    await expect(page.locator("#outcome-status")).to_contain_text("The correction is saved")
    await expect(record).to_contain_text("Fell at night, hip pain")
    history = record.locator("details")
    await expect(history.locator("summary")).to_have_text("Earlier versions (1)")
    await expect(history.locator("li")).to_be_hidden()
    await history.locator("summary").focus()
    await page.keyboard.press("Enter")
    earlier = history.locator("li")
    await expect(earlier).to_have_count(1)
    await expect(earlier).to_contain_text("Version 1")
    await expect(earlier).to_contain_text("Fall at home")
    await expect(earlier).to_contain_text(f"Recorded by {name}")
    await expect(page.get_by_label("What happened")).to_be_enabled()
    assert await violations(page) == []

    # A death: the place is asked for, then shown beside the care plan's preferred place.
    await page.get_by_label("What happened").select_option(label="Death")
    await expect(page.locator("#crisis-field")).to_be_hidden()
    await expect(page.locator("#preferred-note")).to_have_text(
        "Preferred place of death in the care plan: Hospice"
    )
    await page.get_by_role("button", name="Record").click()
    await expect(page.locator("#place-of-death-error")).to_have_text(
        "Say where the death happened."
    )
    await expect(page.get_by_label("Place of death")).to_be_focused()
    await page.get_by_label("Place of death").select_option(label="Home")
    # Sent from the keyboard: Enter in the date field submits the form.
    await page.get_by_label("Date").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#outcome-status")).to_have_text("Recorded.")
    death = page.locator("#outcomes > li[data-kind=death]")
    await expect(death).to_contain_text("Place of death: Home · Preferred place: Hospice")
    await expect(page.locator("#outcomes > li")).to_have_count(2)
    # The admission's history, opened before, is still open when the list is drawn again.
    await expect(earlier).to_be_visible()
    assert await violations(page) == []
    # Nothing runs off a phone's screen sideways.
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )

    # Someone else corrects the admission while this page is correcting it: the page says so
    # and shows their version; nothing of this page's overwrites it.
    admission = page.locator("#outcomes > li[data-kind=admission]")
    await admission.get_by_role("button", name="Correct: Unplanned admission").click()
    await page.get_by_label("Why, in a few words (optional)").fill("Overwritten?")
    status, listed = await clin.call("GET", f"/api/patients/{patient_id}/outcomes")
    [first] = [r for r in listed["items"] if r["kind"] == "admission"]
    status, body = await clin.call(
        "PUT",
        f"/api/outcomes/{first['id']}",
        {"kind": "admission", "occurred_on": corrected, "reason": "Hip fracture", "revision": 2},
    )
    assert status == 200, body
    await page.get_by_role("button", name="Save the correction").click()
    await expect(page.locator("#outcome-status")).to_contain_text("Someone else changed this")
    await expect(admission).to_contain_text("Hip fracture")
    await expect(admission.locator("details summary")).to_have_text("Earlier versions (2)")

    async with world.db.begin() as s:
        rows = (await s.scalars(select(OutcomeRecord).order_by(OutcomeRecord.id))).all()
    assert [(r.kind, r.revision) for r in rows] == [("admission", 3), ("death", 1)]
    assert rows[0].reason == "Hip fracture"
    assert rows[0].occurred_on.isoformat() == corrected
    assert rows[0].history[0]["reason"] == "Fall at home"
    assert (rows[1].place_of_death, rows[1].preferred_place) == ("home", "hospice")


async def test_the_quality_page_has_no_serious_violations(live_server, new_page) -> None:
    page = await new_page(bypass_csp=True)
    await sign_in(page, live_server.url, "coord_a@hearth.test")
    await page.goto(live_server.url + "/quality")
    await expect(page.locator("#quality-status")).to_have_text("The figures are up to date.")
    assert await violations(page) == []

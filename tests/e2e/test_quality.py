"""Issue 19 in the browser: the family answers the survey after a visit; a coordinator opens
/quality, filters to a team and a month, reads a definition and downloads the CSV."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect
from sqlalchemy import select

from server.store.quality import SurveyResponse
from tests.e2e.test_drills import sign_in
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby
from tests.integration.test_quality import seed_month


async def test_the_family_answers_the_survey_after_the_visit(live_server, new_page) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    clinician.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await clinician.get_by_role("button", name="End visit").click()
    await expect(family.locator("#ended")).to_be_visible()

    survey = family.locator("#survey")
    await expect(survey).to_be_visible()
    await expect(survey).to_contain_text("anonymous")
    await family.locator("fieldset[data-question=overall] input[value='4']").check()
    await family.locator("fieldset[data-question=listened] input[value='5']").check()
    await family.get_by_role("button", name="Send my answers").click()
    await expect(family.locator("#survey-status")).to_have_text(
        "Thank you. Your answers have been sent."
    )
    async with live_server.world.db.begin() as s:
        rows = (await s.scalars(select(SurveyResponse))).all()
    assert [r.answers for r in rows] == [{"listened": 5, "overall": 4}]


async def test_a_coordinator_filters_the_figures_and_downloads_the_csv(
    live_server, new_page
) -> None:
    world = live_server.world
    await seed_month(world)
    page = await new_page()
    await sign_in(page, live_server.url, "coord_a@hearth.test")
    await page.goto(live_server.url + "/quality")
    await expect(page.locator("#quality-status")).to_have_text("The figures are up to date.")
    await page.select_option("#team", "Team a")
    await page.fill("#month", "2026-03")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/quality?team=Team+a&month=2026-03")
    await expect(page.locator("#quality-status")).to_have_text("The figures are up to date.")

    visits = page.locator("section[data-section=visits]")
    held = visits.locator("tr[data-figure=held]")
    await expect(held.locator("td.number").first).to_have_text("12")
    no_note = page.locator("section[data-section=documentation] tr[data-figure=missing_note]")
    await expect(no_note.locator("td.number").first).to_have_text("< 5")
    # The definition is one click away.
    definition = held.locator("details p")
    await expect(definition).to_be_hidden()
    await held.locator("summary").click()
    await expect(definition).to_contain_text("took place")
    await expect(page.locator("section[data-section=drill_alerts]")).to_be_visible()
    await expect(page.locator("#chart-symptoms canvas")).to_have_count(1)

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download every figure (CSV)").click()
    download = await info.value
    assert download.suggested_filename == "quality-2026-03.csv"
    text = (await download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("Section,Figure,Breakdown,Value")
    assert "Visits,Visits held,,12," in text

"""The family enters a reading by hand and runs the simulator; the clinician's page shows
the values and the charts move without a reload."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby


async def test_family_readings_reach_the_clinicians_charts(live_server, new_page) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()

    # Manual entry: a blood pressure, the two numbers of a cuff.
    await family.select_option("#reading-kind", "blood_pressure")
    await family.fill("#reading-value", "128")
    await family.fill("#reading-value2", "82")
    await family.get_by_role("button", name="Send reading").click()
    await expect(family.locator(".reading-status")).to_contain_text("Reading saved")
    chart = clinician.locator('.chart[data-kind="blood_pressure"]')
    await expect(chart.locator(".latest")).to_have_text("128/82 mmHg")
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart.locator(".practice")).to_have_count(0)  # a real measurement

    # Blood sugar, typed as the family's meter shows it.
    await family.select_option("#reading-kind", label="Blood sugar (mg/dL)")
    await family.fill("#reading-value", "99")
    await family.get_by_role("button", name="Send reading").click()
    glucose = clinician.locator('.chart[data-kind="glucose"]')
    await expect(glucose.locator(".latest")).to_have_text("99 mg/dL")

    # The simulator streams oxygen, pulse and breathing.
    await family.get_by_role("button", name="Start practice readings").click()
    spo2 = clinician.locator('.chart[data-kind="spo2"] .latest')
    await expect(spo2).to_contain_text("%", timeout=15_000)
    first = await spo2.text_content()
    # Simulated values are practice, and the chart says so.
    await expect(clinician.locator('.chart[data-kind="spo2"] .practice')).to_have_text(
        "Practice, not real measurements"
    )
    await expect(clinician.locator('.chart[data-kind="respiratory_rate"] .latest')).to_contain_text(
        "/min"
    )
    # More points keep arriving: the stored count for the patient grows.
    await asyncio.sleep(4.5)
    await family.get_by_role("button", name="Stop practice readings").click()
    agent = await live_server.world.agent("clin_a")
    status, body = await agent.call(
        "GET", f"/api/patients/{live_server.world.patients['a'].id}/readings?kind=spo2"
    )
    assert status == 200 and len(body["items"]) >= 2
    assert first


async def test_a_low_oxygen_reading_raises_an_alert_on_the_clinicians_page(
    live_server, new_page
) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    await family.select_option("#reading-kind", "spo2")
    await family.fill("#reading-value", "86")
    await family.get_by_role("button", name="Send reading").click()
    await expect(clinician.locator("#alerts li")).to_contain_text("below")

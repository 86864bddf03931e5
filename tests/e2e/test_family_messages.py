"""Issue 18: a Spanish-speaking family writes to the team from the diary page; the coordinator
sees it on the alert console without reloading and answers; read receipts both ways."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.builders import PASSWORD
from tests.e2e.test_video_visit import PHONE

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

WORDS = "Mi padre no puede respirar bien esta noche"


async def test_a_family_message_reaches_the_console_live_and_the_answer_comes_back(
    live_server, new_page
) -> None:
    world = live_server.world
    coordinator = await new_page()
    await coordinator.goto(live_server.url + "/login")
    await coordinator.fill("#email", "coord_a@hearth.test")
    await coordinator.fill("#password", PASSWORD)
    await coordinator.click("button[type=submit]")
    await coordinator.wait_for_url("**/today")
    await coordinator.goto(live_server.url + "/alerts")
    await expect(coordinator.locator("#messages-status")).to_have_text(
        "No unread messages from families."
    )

    clinician = await world.agent("clin_a")
    status, link = await clinician.call(
        "POST", f"/api/patients/{world.patients['a'].id}/diary-links"
    )
    assert status == 201, link
    family = await new_page(**PHONE)
    await family.goto(link["diary_link"] + "?lang=es")
    # Next to the box, in Spanish: not for emergencies, and whom to call instead.
    notice = family.locator("#messages-notice")
    await expect(notice).to_contain_text("Esto no es para emergencias.")
    await expect(notice.locator("a[href^='tel:']")).to_have_text("+44 20 7946 0000")
    await family.locator("#message-text").fill(WORDS)
    await family.get_by_role("button", name="Enviar al equipo").click()
    await expect(family.locator("#message-status")).to_contain_text("Enviado.")
    mine = family.locator("#message-thread .from-family")
    await expect(mine).to_contain_text(WORDS)
    await expect(mine).to_contain_text("Enviado, aún no leído")

    # The console, never reloaded: the family's thread, and the alert its words raised.
    thread = coordinator.locator("#unread-threads li", has_text="Patient A")
    await expect(thread).to_contain_text("1 new")
    card = coordinator.locator(".alert-card")
    await expect(card.locator(".evidence")).to_contain_text(f"The family wrote: “{WORDS}”")
    await thread.get_by_role("button", name="Open the messages").click()
    await expect(thread.locator(".message-flags")).to_contain_text("no puede respirar")
    await thread.get_by_label("Answer the family").fill("Le llamamos ahora mismo.")
    await thread.get_by_role("button", name="Send the answer").click()
    await expect(thread.locator(".thread-status")).to_have_text("Answer sent.")
    answer = thread.locator(".from-team")
    await expect(answer).to_contain_text("Not read by the family yet")

    # The family opens the diary again: the answer, and "read by the team".
    await family.reload()
    await expect(family.locator("#message-thread .from-team")).to_contain_text(
        "Le llamamos ahora mismo."
    )
    await expect(mine).to_contain_text("Leído por el equipo")
    # ... and the coordinator sees that the family has read it, still without reloading.
    await expect(answer).to_contain_text("Read by the family")

"""An interpreter invited from the visit page (issue 20): the clinician makes the link, the
interpreter opens it, waits in the lobby, is let in and is named as the interpreter in the
call, on a page with nothing of the record."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.test_video_visit import PHONE, clinician_in_visit


async def invite_link(clinician: Any, role: str) -> str:
    """The clinician makes a link for someone joining as ``role``; its address."""
    await clinician.locator("#invite summary").click()
    await clinician.get_by_label("Who is joining?").select_option(role)
    await clinician.get_by_role("button", name="Make a link").click()
    await expect(clinician.locator("#invite-made")).to_be_visible()
    return str(await clinician.locator("#invite-link").input_value())


async def test_an_interpreter_invited_from_the_visit_page_joins_the_call(
    live_server, new_page
) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    url = await invite_link(clinician, "interpreter")
    assert url.startswith(live_server.url + "/join/")
    await expect(clinician.locator("#invites li .name")).to_contain_text(["Interpreter's link"])

    interpreter = await new_page(**PHONE)
    await interpreter.goto(url)
    # Told who they join as before joining.
    await expect(interpreter.locator("#guest-role")).to_contain_text("as the interpreter")
    await interpreter.get_by_role("button", name="Check my camera and microphone").click()
    await expect(interpreter.locator("#camera-status")).to_contain_text("We can see you")
    await interpreter.fill("#display-name", "Amira")
    await interpreter.get_by_role("button", name="Join the waiting room").click()
    await interpreter.wait_for_url("**/call")
    await expect(interpreter.locator("#guest-role")).to_contain_text("as the interpreter")
    await expect(interpreter.locator("#lobby-status")).to_contain_text("let you in")
    # The call-only page has none of the record's parts.
    for part in ("#questions", "#devices", "#survey"):
        assert await interpreter.locator(part).count() == 0

    waiting = clinician.locator("#lobby li")
    await expect(waiting.locator(".name")).to_have_text("Amira — interpreter")
    await waiting.get_by_role("button", name="Let in").click()
    await expect(interpreter.locator("#call")).to_be_visible()
    await expect(clinician.locator("#people li .name")).to_contain_text(["Amira — interpreter"])
    tile = clinician.locator('#remote figure[data-role="interpreter"] .name')
    await expect(tile).to_have_text("Amira — interpreter")

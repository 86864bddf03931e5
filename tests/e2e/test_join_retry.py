"""The clinician's visit page asks again when the visit's server does not answer its join (a
node restarting behind the proxy answers "unavailable"), says it is reconnecting meanwhile,
and then joins as usual: the family waiting in the lobby is seen and let in."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from server.realtime.wiring import REALTIME
from signaling import events as ev
from signaling.errors import SignalingError
from tests.builders import PASSWORD
from tests.e2e.test_video_visit import family_in_lobby, frames_rising


async def signed_in(live_server: Any, new_page: Any) -> Any:
    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    return page


async def test_the_visit_page_joins_again_after_an_unavailable_answer(
    live_server: Any, new_page: Any
) -> None:
    namespace = live_server.app[REALTIME].namespace
    real_join = namespace._handlers[ev.JOIN]
    refused: list[str] = []

    async def unavailable_twice(sid: str, data: Any) -> Any:
        if len(refused) < 2:
            refused.append(sid)
            raise SignalingError("unavailable", "The visit's server is not answering.")
        return await real_join(sid, data)

    namespace._handlers[ev.JOIN] = unavailable_twice
    try:
        clinician = await signed_in(live_server, new_page)
        await clinician.goto(f"{live_server.url}/visit/{live_server.world.encounters['a'].id}")
        banner = clinician.locator("#connection")
        await expect(banner).to_contain_text("Reconnecting")
        # Asked again, it joins and the banner clears.
        await expect(banner).to_be_hidden()
        assert len(refused) == 2 and len(set(refused)) == 1
    finally:
        namespace._handlers[ev.JOIN] = real_join
    # In the room as usual: the family waiting in the lobby shows, and is let in.
    await clinician.get_by_role("button", name="Start camera and join").click()
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await frames_rising(family)
    await frames_rising(clinician)

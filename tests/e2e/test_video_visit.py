"""A family member and a clinician meet through the lobby in real browsers, with real media
through Hearth's server; the family reloads the tab and is back in the call."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import expect

from server.realtime.wiring import REALTIME
from tests.builders import PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

FRAMES = """() => Array.from(document.querySelectorAll('#remote video'))
  .map(v => v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0)"""


async def frames(page: Any) -> int:
    counts = await page.evaluate(FRAMES)
    return max(counts) if counts else 0


async def frames_rising(page: Any, timeout_s: float = 30) -> None:
    """Remote video is decoding: a picture with a size, and the frame count going up."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    first = None
    while asyncio.get_running_loop().time() < deadline:
        count = await frames(page)
        if count > 0 and first is None:
            first = count
        if first is not None and count > first + 10:
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"remote video frames did not rise (first={first})")


async def clinician_in_visit(live_server: Any, new_page: Any) -> Any:
    page = await new_page()
    await page.goto(live_server.url + "/login")
    await page.fill("#email", "clin_a@hearth.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/today")
    await page.goto(f"{live_server.url}/visit/{live_server.world.encounters['a'].id}")
    await page.get_by_role("button", name="Start camera and join").click()
    await expect(page.get_by_role("button", name="End visit")).to_be_enabled()
    await expect(page.get_by_role("button", name="Start camera and join")).to_be_hidden()
    return page


async def family_in_lobby(live_server: Any, new_page: Any, name: str = "Ben") -> Any:
    page = await new_page(**PHONE)
    await page.goto(f"{live_server.url}/join/{live_server.world.tokens['a']}")
    await page.get_by_role("button", name="Check my camera and microphone").click()
    await expect(page.locator("#camera-status")).to_contain_text("We can see you")
    await expect(page.get_by_role("button", name="Check my camera and microphone")).to_be_hidden()
    await expect(page.locator("#network-status")).to_contain_text("connection")
    await page.fill("#display-name", name)
    await page.get_by_role("button", name="Join the waiting room").click()
    await page.wait_for_url("**/family")
    await expect(page.locator("#lobby-status")).to_contain_text("let you in")
    return page


async def test_family_and_clinician_meet_through_the_lobby(live_server, new_page) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    waiting = clinician.locator("#lobby li")
    await expect(waiting).to_have_count(1)
    await expect(waiting.locator(".name")).to_have_text("Ben")
    await waiting.get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()
    await expect(clinician.locator("#lobby li")).to_have_count(0)
    await frames_rising(family)
    await frames_rising(clinician)
    await expect(clinician.locator("#people li .name")).to_contain_text(["Ben"])

    # A reload: straight back into the call, no device check, no second admission.
    await family.reload()
    await expect(family.locator("#call")).to_be_visible()
    assert await family.locator("#check").count() == 0
    await frames_rising(family)
    await frames_rising(clinician)
    names = await clinician.locator("#people li .name").all_text_contents()
    assert names.count("Ben") == 1


async def test_the_clinician_ends_the_visit_for_everyone(live_server, new_page) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await frames_rising(family)
    clinician.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await clinician.get_by_role("button", name="End visit").click()
    await expect(family.locator("#ended")).to_be_visible()
    await expect(family.locator("#ended-title")).to_have_text("The visit has ended")


async def test_sound_only_stops_video_reaching_the_family(live_server, new_page) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await frames_rising(family)
    realtime = live_server.app[REALTIME]
    encounter_id = live_server.world.encounters["a"].id
    room = realtime.namespace.rooms.get(encounter_id)
    ben = next(p.participant_id for p in room.participants.values() if not p.is_host)
    room_id = f"encounter-{encounter_id}"

    async def sent_to_ben(at_least_audio: int) -> dict[str, int]:
        for _ in range(120):
            counters = realtime.hub.counters(room_id, ben)
            if counters["audio_frames_to"] >= at_least_audio:
                return counters
            await asyncio.sleep(0.25)
        raise AssertionError(f"no audio reached the family: {counters}")

    # Sound only: a fresh connection in which the server sends the family audio, no video.
    await family.get_by_role("button", name="Sound only").click()
    await expect(family.get_by_role("button", name="Show video")).to_be_visible()
    counters = await sent_to_ben(at_least_audio=100)  # 2 s of Opus on the new connection
    assert counters["video_frames_to"] == 0, counters
    # And back: the picture returns.
    await family.get_by_role("button", name="Show video").click()
    await frames_rising(family)
    assert realtime.hub.counters(room_id, ben)["video_frames_to"] > 0

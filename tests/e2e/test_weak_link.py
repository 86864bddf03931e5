"""The fallback ladder in real browsers (issue 20): a family whose connection cannot carry the
clinician's video as well as the sound has that video paused, is told so in words, and the
clinician is told too; when the connection recovers the picture comes back and the words go.

The family's page reaches the relay through a bottleneck (tests/e2e/slow_link.py) that
carries the sound (about 47 kb/s with its packets' headers) and not the video as well. The
relay's ladder keeps its thresholds and is given shortened times, as the aiortc tests of the
ladder do.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from media.fallback import Ladder
from media.forwarding import ForwardingRelay
from server.realtime.wiring import REALTIME
from tests.e2e.page_scripts import KEEP_PEERS
from tests.e2e.slow_link import SlowLink
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby, frames_rising

# Judged by loss on a loopback link: run by make test after the rest, alone (docs/testing.md).
pytestmark = pytest.mark.alone

# Video resumes after 8 s of good reports: long enough to watch the pause before the relay
# tries video again (as it may, the limit still on, once the sound alone has been good).
LADDER = Ladder(pause_after_s=2.0, resume_after_s=8.0, silent_after_s=30.0)
SOUND_ONLY_BPS = 64_000
# A step takes 2 s of bad (or 8 s of good) reports, and a loaded machine adds its own delays.
STEP_WITHIN_MS = 40_000

AUDIO_PACKETS = """async () => {
  let packets = 0;
  for (const pc of window.__peers) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
    }
  }
  return packets;
}"""


async def test_a_family_on_a_weak_link_hears_on_without_video_and_both_sides_are_told(
    live_server: Any, new_page: Any
) -> None:
    realtime = live_server.app[REALTIME]
    realtime.hub.relay_factory = lambda: ForwardingRelay(LADDER)
    link = SlowLink()

    async def behind_the_link(**kw: Any) -> Any:
        page = await new_page(**kw)
        await link.attach(page)
        await page.add_init_script(KEEP_PEERS)
        return page

    try:
        clinician = await clinician_in_visit(live_server, new_page)
        family = await family_in_lobby(live_server, behind_the_link)
        await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
        await frames_rising(family)
        assert link.used, "the family's page reached the relay another way"
        own = family.locator("#media-step")
        await expect(own).to_be_hidden()

        link.limit_bps = SOUND_ONLY_BPS
        await expect(own).to_be_visible(timeout=STEP_WITHIN_MS)
        await expect(own).to_contain_text("Video paused to keep sound clear")
        await expect(clinician.locator("#media-step-others")).to_contain_text(
            "Ben's video is paused: weak connection"
        )
        # The relay sends the family no more video, and the sound goes on arriving.
        encounter_id = live_server.world.encounters["a"].id
        room = realtime.namespace.rooms.get(encounter_id)
        ben = next(p.participant_id for p in room.participants.values() if not p.is_host)
        counters = realtime.hub.counters
        sound = await family.evaluate(AUDIO_PACKETS)
        pictures = counters(f"encounter-{encounter_id}", ben)["video_frames_to"]
        await asyncio.sleep(2)
        assert counters(f"encounter-{encounter_id}", ben)["video_frames_to"] == pictures
        assert await family.evaluate(AUDIO_PACKETS) > sound + 50

        link.limit_bps = None
        await expect(own).to_be_hidden(timeout=STEP_WITHIN_MS)
        await expect(clinician.locator("#media-step-others")).not_to_contain_text(
            "Ben's video", timeout=STEP_WITHIN_MS
        )
        await frames_rising(family)
    finally:
        link.close()

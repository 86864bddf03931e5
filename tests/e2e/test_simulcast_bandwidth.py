"""Simulcast by bandwidth in real browsers (issue 20): the clinician's page publishes three
layers; the family's page reaches the relay through a slow link and is sent the lowest
layer, while an interpreter on a good link is sent the highest. Both tiles are large, so
the tile size would ask for the top layer on both pages: the link is what decides.

The publishing page's camera is a 960x540 canvas, the smallest size for which Chrome sends
three layers. Its picture is a moving gradient under fine noise, so that each layer's
encoder uses what its ``maxBitrate`` allows (about 150, 380 and 1,500 kb/s here): a plain
picture takes far less, and how much less varies from run to run, so no fixed limit would
separate the layers. Seven noise frames are made once and shown in turn, which costs the
page little.

Everyone joins on a good link; then the family's link (tests/e2e/slow_link.py) slows to 420
kb/s, which carries the lowest layer with the sound and the interpreter's small picture
(about 250 kb/s in all), not the middle layer as well (about 400 kb/s of video alone). The
relay judges the link by loss only here: Chrome's own estimate (REMB) starts low on a new
page and climbs back slowly after loss, so with it the same test would mostly measure
Chrome's estimator (media/simulcast.py's unit tests cover the relay's use of it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

from media.fallback import Ladder
from media.forwarding import ForwardingRelay
from media.simulcast import Policy
from server.realtime.wiring import REALTIME
from tests.e2e.page_scripts import canvas_camera
from tests.e2e.slow_link import SlowLink
from tests.e2e.test_interpreter import invite_link
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby, frames_rising

# Judged by loss on a loopback link: run by make test after the rest, alone (docs/testing.md).
pytestmark = pytest.mark.alone

LAPTOP = {"viewport": {"width": 1280, "height": 1000}}
FAMILY_LINK_BPS = 420_000
FAMILY_LINK_QUEUE_S = 0.5  # a home router's queue; 0.2 s would not hold a keyframe
LADDER = Ladder(remb_share=0.0)
LAYERS = Policy(remb_share=0.0)
# Steps down take a second or two of bad reports; a loaded machine adds its own delays.
SETTLES_WITHIN_S = 60

NOISE_CAMERA = canvas_camera("""(context, width, height) => {
  const noise = 24;
  const frames = [];
  for (let f = 0; f < 7; f++) {
    const image = context.createImageData(width, height);
    const pixels = new Uint32Array(image.data.buffer);
    for (let i = 0; i < pixels.length; i++) {
      const x = i % width, y = (i / width) | 0;
      const shade = ((x + y + f * 40) >> 2) & 0xff;
      const v = Math.max(0, Math.min(255, shade + ((Math.random() * noise) | 0) - noise / 2));
      pixels[i] = 0xff000000 | (v << 16) | ((255 - v) << 8) | ((v * 3) & 0xff);
    }
    frames.push(image);
  }
  return (n) => context.putImageData(frames[n % frames.length], 0, 0);
}""")

# The clinician's tile on a page: its size in device pixels, the height of the picture it
# shows and how many frames it has decoded.
CLINICIAN_TILE = """() => {
  const video = document.querySelector('#remote figure[data-role="clinician"] video');
  if (!video) return null;
  const ratio = window.devicePixelRatio || 1;
  return {
    tile: video.clientHeight * ratio,
    height: video.videoHeight,
    frames: video.getVideoPlaybackQuality().totalVideoFrames,
  };
}"""

# Layer heights of the 960x540 camera (q, h, f).
HEIGHTS = {"q": 135, "h": 270, "f": 540}


async def test_a_family_on_a_slow_link_gets_the_low_layer_and_an_interpreter_the_high_one(
    live_server: Any, new_page: Any
) -> None:
    realtime = live_server.app[REALTIME]
    realtime.hub.relay_factory = lambda: ForwardingRelay(LADDER, LAYERS)
    link = SlowLink(max_delay_s=FAMILY_LINK_QUEUE_S)

    async def publishing(**kw: Any) -> Any:
        page = await new_page(**kw)
        await page.add_init_script(NOISE_CAMERA)
        return page

    async def behind_the_link(**kw: Any) -> Any:
        page = await new_page(**LAPTOP)
        await link.attach(page)
        return page

    try:
        clinician = await clinician_in_visit(live_server, publishing)
        family = await family_in_lobby(live_server, behind_the_link)
        await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
        await frames_rising(family)
        assert link.used, "the family's page reached the relay another way"

        interpreter = await new_page(**LAPTOP)
        await interpreter.goto(await invite_link(clinician, "interpreter"))
        await interpreter.get_by_role("button", name="Check my camera and microphone").click()
        await expect(interpreter.locator("#camera-status")).to_contain_text("We can see you")
        await interpreter.fill("#display-name", "Amira")
        await interpreter.get_by_role("button", name="Join the waiting room").click()
        await interpreter.wait_for_url("**/call")
        await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
        await frames_rising(interpreter)

        encounter_id = live_server.world.encounters["a"].id
        room_id = f"encounter-{encounter_id}"
        people = realtime.namespace.rooms.get(encounter_id).participants.values()
        host = next(p.participant_id for p in people if p.is_host)
        ben = next(p.participant_id for p in people if p.display_name == "Ben")
        amira = next(p.participant_id for p in people if p.display_name == "Amira")

        async def seen() -> dict[str, Any]:
            return {
                "family": await family.evaluate(CLINICIAN_TILE),
                "interpreter": await interpreter.evaluate(CLINICIAN_TILE),
                "family layer": realtime.hub.layers(room_id, ben).get(host),
                "interpreter layer": realtime.hub.layers(room_id, amira).get(host),
            }

        # The family's connection slows down (sent the top layer until now).
        link.limit_bps = FAMILY_LINK_BPS
        # Both are sent what their link allows, and both pages show it: the family the
        # 135-row picture, the interpreter the 540-row one, each still decoding.
        deadline = asyncio.get_running_loop().time() + SETTLES_WITHIN_S
        now, before = await seen(), None
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(1)
            before, now = now, await seen()
            if (
                now["family layer"] == "q"
                and now["interpreter layer"] == "f"
                and before["family"]["height"] == now["family"]["height"] == HEIGHTS["q"]
                and before["interpreter"]["height"] == now["interpreter"]["height"] == HEIGHTS["f"]
                and now["family"]["frames"] > before["family"]["frames"] + 5
                and now["interpreter"]["frames"] > before["interpreter"]["frames"] + 5
            ):
                break
        else:
            raise AssertionError(f"the layers did not settle: {before} then {now}")
        # The tiles would take the top layer: the family's lower one is its link's doing.
        assert now["family"]["tile"] > HEIGHTS["h"] and now["interpreter"]["tile"] > HEIGHTS["h"]
        assert realtime.hub.received_layers(room_id, host) == ["q", "h", "f"]
    finally:
        link.close()

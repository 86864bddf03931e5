"""Simulcast from a real browser: the clinician's page publishes its camera in three layers,
the relay receives every layer, and the family's page is sent the one its video tile's size
calls for (its page reports the size on the "video" data channel) and decodes it
(media/simulcast.py, web/static/js/lib/peer.js). A layer chosen by the link's bandwidth
is tested in test_simulcast_bandwidth.py.

The suite's fake camera is 160x120, too small for Chrome to send more than one layer (and
the page then sends one stream), so this page's camera is a 960x540 canvas with the fake
microphone beside it."""

from __future__ import annotations

import asyncio
from typing import Any

from media.fallback import Ladder
from media.forwarding import ForwardingRelay
from media.simulcast import Policy
from server.realtime.wiring import REALTIME
from tests.e2e.page_scripts import KEEP_PEERS, canvas_camera
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby, frames_rising

# A plain moving picture: a colour that changes and a square that moves.
CAMERA = canvas_camera("""(context, width, height) => (n) => {
  context.fillStyle = `hsl(${(n * 7) % 360} 60% 50%)`;
  context.fillRect(0, 0, width, height);
  context.fillStyle = "#fff";
  context.fillRect((n * 8) % 900, 200, 60, 60);
}""")

SENT_LAYERS = """async () => {
  const found = {};
  for (const pc of window.__peers) {
    if (pc.connectionState !== "connected") continue;
    for (const s of (await pc.getStats()).values()) {
      if (s.type === "outbound-rtp" && s.kind === "video" && s.rid) {
        found[s.rid] = [s.bytesSent || 0, s.frameHeight || 0];
      }
    }
  }
  return found;
}"""


TILE = """() => {
  const video = document.querySelector('#remote video');
  return video ? [video.clientWidth, video.clientHeight, window.devicePixelRatio || 1] : null;
}"""


# Reports that are never bad: no loss, jitter or estimate moves a subscriber.
IGNORE_LINK = Ladder(
    bad_loss=2.0, bad_jitter_s=1e9, remb_share=0.0, lost_loss=2.0, silent_after_s=1e9
)
IGNORE_LINK_LAYERS = Policy(bad_loss=2.0, good_loss=2.0, remb_share=0.0, up_after_s=1.0)


def _expected(height_px: float) -> str:
    """The layer a tile that many device pixels tall calls for: layers 135, 270, 540 rows."""
    for rid, rows in (("q", 135), ("h", 270)):
        if rows >= height_px:
            return rid
    return "f"


async def test_the_family_tile_size_picks_the_layer_it_is_sent(
    live_server: Any, new_page: Any
) -> None:
    original = new_page

    async def keeping_peers(**kw: Any) -> Any:
        page = await original(**kw)
        await page.add_init_script(CAMERA)
        await page.add_init_script(KEEP_PEERS)
        return page

    # Only the tile decides here. Stepping down for a weak link is tested behind a rate-
    # limited proxy (tests/integration/test_simulcast_relay.py); on a loopback link, the
    # losses of a machine starved by a whole parallel test run would step the family down
    # and keep it there for up to 48 s, whatever its tile.
    realtime = live_server.app[REALTIME]
    realtime.hub.relay_factory = lambda: ForwardingRelay(IGNORE_LINK, IGNORE_LINK_LAYERS)
    clinician = await clinician_in_visit(live_server, keeping_peers)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await frames_rising(family)
    encounter_id = live_server.world.encounters["a"].id
    room = realtime.namespace.rooms.get(encounter_id)
    host = next(p.participant_id for p in room.participants.values() if p.is_host)
    ben = next(p.participant_id for p in room.participants.values() if not p.is_host)
    room_id = f"encounter-{encounter_id}"

    async def sent_matches_tile() -> tuple[Any, str | None]:
        tile, layer = None, None
        for _ in range(160):
            tile = await family.evaluate(TILE)
            layer = realtime.hub.layers(room_id, ben).get(host)
            arriving = realtime.hub.received_layers(room_id, host)
            ready = tile and tile[1] > 0 and len(arriving) == 3
            if ready and layer == _expected(tile[1] * tile[2]):
                return tile, layer
            await asyncio.sleep(0.25)
        arriving = realtime.hub.received_layers(room_id, host)
        published = await clinician.evaluate(SENT_LAYERS)
        counters = realtime.hub.counters(room_id, ben)
        raise AssertionError(
            f"tile {tile} is sent layer {layer}; arriving {arriving}, published {published}, "
            f"the family's counters {counters}"
        )

    first, first_layer = await sent_matches_tile()
    # A much smaller window: a smaller tile, a lower layer (and back).
    await family.set_viewport_size({"width": 160, "height": 240})
    small, small_layer = await sent_matches_tile()
    assert small[1] < first[1]
    await family.set_viewport_size({"width": 1280, "height": 1000})
    large, large_layer = await sent_matches_tile()
    assert [first_layer, small_layer, large_layer] != [first_layer] * 3, (first, small, large)
    await frames_rising(family)

"""Issue 17: the family's diary opens with no connection (service worker, web app manifest),
keeps no link token in its cache, and stops opening once the link is revoked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from server.services.context import SERVICES
from server.store.between_visits import DiaryEntry
from tests.e2e.test_video_visit import PHONE

# Opens no call: runs in the browser group beside the calls (tests/e2e/conftest.py).
pytestmark = pytest.mark.no_media

KEPT = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.push([request.url, await response.clone().text()]);
    }
  }
  return out;
}"""


async def kept(page: Any) -> list[tuple[str, str]]:
    return [tuple(row) for row in await page.evaluate(KEPT)]


async def wait_until_kept(page: Any, path: str) -> None:
    for _ in range(60):
        if any(url.endswith(path) for url, _ in await kept(page)):
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"the service worker did not keep {path}")


async def test_the_diary_opens_offline_and_a_revoked_link_stops_opening(
    live_server, new_page
) -> None:
    world = live_server.world
    clinician = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, link = await clinician.call("POST", f"/api/patients/{patient_id}/diary-links")
    assert status == 201, link
    token = link["diary_link"].rstrip("/").rsplit("/", 1)[1]
    family = await new_page(**PHONE)
    await family.goto(link["diary_link"])
    await expect(family.locator("#diary-form")).to_be_visible()
    manifest = family.locator('link[rel="manifest"]')
    # The link's own manifest: installed on the home screen, the diary opens this link.
    await expect(manifest).to_have_attribute("href", f"/diary/{token}/manifest.webmanifest")
    installed = await family.evaluate(
        "async (href) => (await fetch(href)).json()", f"/diary/{token}/manifest.webmanifest"
    )
    assert installed["start_url"] == f"/diary/{token}", installed
    assert (installed["name"], installed["scope"]) == ("Daily check-in", "/diary/")
    await wait_until_kept(family, "/diary/")
    await wait_until_kept(family, "/static/js/pages/diary.js")
    # Nothing kept carries the token: not a key, not a body.
    for url, body in await kept(family):
        assert token not in url, url
        assert token not in body, url

    # No connection: the page still opens, from the worker's copy (its token read back from
    # the address), and an entry waits on the device until the connection is back.
    await family.context.set_offline(True)
    await family.reload()
    await expect(family.locator("#diary-form")).to_be_visible()
    page_data = await family.locator("#page-data").text_content()
    assert page_data is not None and token not in page_data
    pain = family.locator(".diary-item[data-item=pain]")
    await pain.get_by_role("radio", name="7", exact=True).check()
    await family.get_by_role("button", name="Send my check-in").click()
    await expect(family.locator("#diary-status")).to_contain_text("No internet connection")
    await family.context.set_offline(False)
    await expect(family.locator("#diary-status")).to_contain_text("Thank you")
    async with live_server.app[SERVICES].db.begin() as s:
        scores = (await s.execute(select(DiaryEntry.scores))).scalars().all()
    assert [entry["pain"] for entry in scores] == [7]

    # Revoked: the next opening online drops the kept page, and offline it no longer opens.
    status, body = await clinician.call(
        "DELETE", f"/api/patients/{patient_id}/diary-links/{link['diary_link_id']}"
    )
    assert status in (200, 204), body
    await family.reload()
    await expect(family.locator("#diary-form")).to_have_count(0)
    assert not any(url.endswith("/diary/") for url, _ in await kept(family))
    await family.context.set_offline(True)
    await family.reload()
    await expect(family.locator("#diary-form")).to_have_count(0)

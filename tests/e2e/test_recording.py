"""Recording with consent in real browsers (issue 20): refused before consent, started from the
visit page after it, a banner on both pages while it runs, and a file that decrypts and
decodes to both people's audio and video."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import av
from playwright.async_api import expect
from sqlalchemy import func, select

from media.sealed import open_sealed
from server.core.crypto import recording_master_key
from server.services.context import SERVICES
from server.store.models import AuditEvent
from server.store.recordings import Recording
from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby, frames, frames_rising

CONSENT = {
    "video_visit": True,
    "consenter": "patient",
    "recording": True,
    "share_with_family": False,
    "privacy_explained": True,
}
# The page's own API module: its session, its CSRF token.
API = """async ([method, path, body]) => {
  const api = await import('/static/js/lib/api.js');
  await api.loadSession();
  return api.request(method, path, body);
}"""


def kinds_decoded(path: Path, key: bytes) -> dict[str, int]:
    counts: dict[str, int] = {}
    with av.open(io.BytesIO(b"".join(open_sealed(path, key)))) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] = counts.get(kind, 0) + 1
    return counts


async def test_a_recording_after_consent_shows_on_both_pages_and_decodes(
    live_server: Any, new_page: Any
) -> None:
    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await frames_rising(family)
    await frames_rising(clinician)

    # Before consent: refused, and the page says why.
    toggle = clinician.get_by_role("button", name="Start recording")
    await toggle.click()
    await expect(clinician.locator("#recording-message")).to_contain_text("Start the visit")
    await expect(clinician.locator("#recording-banner")).to_be_hidden()

    encounter_id = live_server.world.encounters["a"].id
    events = f"/api/encounters/{encounter_id}/events"
    await clinician.evaluate(API, ["POST", events, {"type": "start"}])
    step = {"type": "complete", "step": "consent", "answers": CONSENT}
    await clinician.evaluate(API, ["POST", events, step])

    await toggle.click()
    for page in (clinician, family):
        await expect(page.locator("#recording-banner")).to_be_visible()
        await expect(page.locator("#recording-banner")).to_contain_text("being recorded")
    await expect(
        family.get_by_role("button", name="Stop recording: I do not agree")
    ).to_be_visible()
    # A few seconds of both sides, counted in frames the clinician's page decoded since the
    # start: on a busy machine the keyframe the recording begins with can take a while.
    started = await frames(clinician)
    for _ in range(120):
        if await frames(clinician) >= started + 45:
            break
        await asyncio.sleep(0.25)
    await clinician.get_by_role("button", name="Stop recording").click()
    for page in (clinician, family):
        await expect(page.locator("#recording-banner")).to_be_hidden()
    # One part per person and connection: two, or more where a page reconnected meanwhile
    # (on a loaded machine a connection can drop and come back; its part is a file of its own).
    listed = clinician.locator("#recordings li .parts button")
    await expect(listed.first).to_be_visible()
    assert await listed.count() >= 2

    # The care team plays a part in the page: decrypted on the way out, and audited.
    await listed.first.click()
    await clinician.wait_for_function(
        "() => { const v = document.querySelector('#recordings video');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }"
    )
    async with live_server.app[SERVICES].db.begin() as s:
        plays = await s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "recording.play", AuditEvent.encounter_id == encounter_id)
        )
    assert plays == 1

    settings = live_server.app[SERVICES].settings
    key = recording_master_key(settings.recording_key, settings.secret_key)
    assert key is not None
    async with live_server.app[SERVICES].db.begin() as s:
        recording = await s.scalar(select(Recording).where(Recording.encounter_id == encounter_id))
    assert recording is not None
    # Both people's sound and pictures, whichever files they are in.
    by_role: dict[str, dict[str, int]] = {}
    for part in recording.parts:
        counts = kinds_decoded(settings.recordings_path / part["file"], key)
        totals = by_role.setdefault(part["role"], {})
        for kind, count in counts.items():
            totals[kind] = totals.get(kind, 0) + count
    assert set(by_role) == {"clinician", "family"}, by_role
    for role, counts in by_role.items():
        assert counts.get("video", 0) >= 5 and counts.get("audio", 0) >= 10, (role, counts)
    assert sorted(settings.recordings_path.glob("*.webm.sealed")) == sorted(
        settings.recordings_path / part["file"] for part in recording.parts
    )

"""The fallback ladder's steps through the server: both sides told in words (a ``media_step``
event to everyone admitted) and each step stored as a connection event for the quality
figures. The relay's own decision is tested in test_fallback.py and test_fallback_ladder.py."""

from __future__ import annotations

import asyncio
import json
import re

from sqlalchemy import select

from server.realtime.wiring import REALTIME
from server.store.quality import ConnectionEventRow
from tests.visit_clients import VisitClient


async def test_steps_reach_everyone_admitted_and_are_recorded(world, client) -> None:  # type: ignore[no-untyped-def]
    encounter_id = world.encounters["a"].id
    nurse = VisitClient(await world.agent("clin_a"))
    nurse.sio.on("media_step", nurse._recorder("media_step"), namespace="/visit")
    await nurse.connect()
    await nurse.join(encounter_id)
    pid = nurse.participant_id
    assert pid is not None
    report = client.app[REALTIME].hub._callbacks.media_step
    room = f"encounter-{encounter_id}"
    try:
        for step in ("video_paused", "audio_lost", "video_paused", "full"):
            await report(room, pid, step)
        for _ in range(50):
            if len(nurse.events["media_step"]) == 4:
                break
            await asyncio.sleep(0.05)
        assert nurse.events["media_step"][0] == {"participant_id": pid, "step": "video_paused"}
        assert [e["step"] for e in nurse.events["media_step"]][1:] == [
            "audio_lost",
            "video_paused",
            "full",
        ]
        # Sound lost, then the connection ends: that stretch ends with it. A new connection
        # starts with video and sound, and the pages are told so.
        callbacks = client.app[REALTIME].hub._callbacks
        await report(room, pid, "audio_lost")
        await callbacks.peer_state(room, pid, "closed")
        await callbacks.peer_state(room, pid, "connected")
        await report(room, pid, "video_paused")
        await callbacks.peer_state(room, pid, "connected")
        for _ in range(50):
            if len(nurse.events["media_step"]) == 8:
                break
            await asyncio.sleep(0.05)
        assert [e["step"] for e in nurse.events["media_step"]][4:] == [
            "audio_lost",
            "full",
            "video_paused",
            "full",
        ]
    finally:
        await nurse.close()
    async with world.db.begin() as s:
        rows = (await s.scalars(select(ConnectionEventRow))).all()
    # Video paused: a switch to sound only; sound back after it was lost: a poor stretch.
    assert sorted(r.kind for r in rows) == [
        "poor_quality",
        "poor_quality",
        "sound_only",
        "sound_only",
    ]
    assert all(r.encounter_id == encounter_id and r.role == "clinician" for r in rows)


async def test_both_pages_carry_the_ladders_words_and_the_family_the_clinic_number(world) -> None:  # type: ignore[no-untyped-def]
    nurse = await world.agent("clin_a")
    status, visit_page = await nurse.call("GET", f"/visit/{world.encounters['a'].id}")
    assert status == 200
    family = await world.agent("family_a")
    status, family_page = await family.call("GET", "/family")
    assert status == 200
    for page in (visit_page, family_page):
        strings = json.loads(
            re.search(r'id="media-step-strings">(.*?)</script>', page, re.S).group(1)  # type: ignore[union-attr]
        )
        assert strings["others"]["video_paused"] == "%(name)s's video is paused: weak connection"
        assert strings["own"]["video_paused"].startswith("Video paused to keep sound clear")
    assert 'class="media-step-phone"' in family_page
    assert 'href="tel:+442079460000"' in family_page  # the clinic's phone, from the settings
    assert 'class="media-step-phone"' not in visit_page

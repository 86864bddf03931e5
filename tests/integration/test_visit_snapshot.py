"""A still from the family's video for the identity check: only after consent, a hint only."""

from __future__ import annotations

import base64

import pytest

from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_a_still_needs_consent_and_video_and_gives_a_hint(world) -> None:
    encounter_id = world.encounters["a"].id
    nurse = VisitClient(await world.agent("clin_a"))
    family = VisitClient(await world.agent("family_a"))
    try:
        for person in (nurse, family):
            await person.connect()
            await person.join(encounter_id)
        await nurse.call("admit", {"participant_id": family.participant_id})
        api = nurse.agent
        url = f"/api/encounters/{encounter_id}/snapshot"
        status, body = await api.call("POST", url)
        assert status == 409 and body["code"] == "consent_required"
        events = f"/api/encounters/{encounter_id}/events"
        await api.call("POST", events, {"type": "start"})
        await api.call(
            "POST",
            events,
            {
                "type": "complete",
                "step": "consent",
                "answers": {
                    "video_visit": True,
                    "consenter": "patient",
                    "recording": False,
                    "share_with_family": False,
                    "privacy_explained": True,
                },
            },
        )
        status, body = await api.call("POST", url)
        assert status == 409 and body["code"] == "no_video"
        await nurse.publish()
        await family.publish((40, 200, 40))
        await nurse.wait_for(lambda: nurse.frames_from(family.participant_id) > 3, within=30)
        status, body = await api.call("POST", url)
        assert status == 200, body
        assert body["face_present"] is False and body["faces"] == 0  # a plain green picture
        assert body["image"].startswith("data:image/jpeg;base64,")
        assert base64.b64decode(body["image"].split(",", 1)[1])[:2] == b"\xff\xd8"
        family_api = family.agent
        status, _ = await family_api.call("POST", url)
        assert status == 403
    finally:
        await nurse.close()
        await family.close()

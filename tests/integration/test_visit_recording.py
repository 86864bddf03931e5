"""Recording a visit with consent (issue 20), through Hearth's API and real aiortc peers: refused
without consent, the files sealed and decoding to both sides' audio and video, a withdrawal
stopping it at once, the care team's list and player, and retention deleting it, audited."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select

from media.sealed import MAGIC, open_sealed
from server.core.crypto import recording_master_key
from server.services.context import SERVICES
from server.services.recordings import Recordings
from server.store.models import AuditEvent
from server.store.recordings import Recording
from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")

CONSENT = {
    "video_visit": True,
    "consenter": "patient",
    "recording": True,
    "share_with_family": False,
    "privacy_explained": True,
}


def streams_of(data: bytes) -> dict[str, int]:
    """Decode every frame of a WebM file: frames per kind."""
    counts: dict[str, int] = {}
    with av.open(io.BytesIO(data)) as container:
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] = counts.get(kind, 0) + 1
    return counts


async def actions(db: Any, encounter_id: int) -> list[tuple[str, str, str | None]]:
    async with db.begin() as s:
        rows = await s.execute(
            select(AuditEvent.action, AuditEvent.outcome, AuditEvent.detail)
            .where(AuditEvent.encounter_id == encounter_id, AuditEvent.action.like("recording.%"))
            .order_by(AuditEvent.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def test_recording_needs_consent_holds_both_sides_and_stops_on_withdrawal(
    world, client, db, clock
) -> None:
    encounter_id = world.encounters["a"].id
    nurse = VisitClient(await world.agent("clin_a"))
    family = VisitClient(await world.agent("family_a"))
    for person in (nurse, family):
        person.sio.on("recording", person._recorder("recording"), namespace="/visit")
    api = nurse.agent
    base = f"/api/encounters/{encounter_id}"
    try:
        for person in (nurse, family):
            await person.connect()
            await person.join(encounter_id)
        await nurse.call("admit", {"participant_id": family.participant_id})
        await nurse.publish((255, 0, 255))
        await family.publish((0, 255, 255))
        await nurse.wait_for(lambda: nurse.frames_from(family.participant_id) > 3, within=30)

        # The clinician's page carries the banner (hidden until a recording runs) and the
        # control; the family's page asks whether a recording runs.
        status, visit_page = await api.call("GET", f"/visit/{encounter_id}")
        assert status == 200 and 'id="recording-banner"' in visit_page
        assert 'id="recording-toggle"' in visit_page and "recording-withdraw" not in visit_page
        status, body = await family.agent.call("GET", f"{base}/recording")
        assert status == 200 and body == {"recording": False}

        # Nothing is recorded without consent.
        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 409 and body["code"] == "visit_not_in_progress"
        await api.call("POST", f"{base}/events", {"type": "start"})
        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 409 and body["code"] == "recording_consent_missing", body
        assert not sealed_files(world_dir(client))
        no = {**CONSENT, "recording": False}
        await api.call(
            "POST", f"{base}/events", {"type": "complete", "step": "consent", "answers": no}
        )
        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 409 and body["code"] == "recording_consent_missing"
        await api.call(
            "POST", f"{base}/events", {"type": "reopen", "step": "consent", "reason": "asked again"}
        )
        await api.call(
            "POST", f"{base}/events", {"type": "complete", "step": "consent", "answers": CONSENT}
        )
        # The family cannot start one.
        status, _ = await family.agent.call("POST", f"{base}/recording/start")
        assert status == 403

        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 200, body
        assert body["running"] is True
        status, again = await api.call("POST", f"{base}/recording/start")
        assert status == 409 and again["code"] == "recording_running"
        for person in (nurse, family):
            await person.wait_for(lambda p=person: p.events["recording"] == [{"active": True}])
        status, body = await family.agent.call("GET", f"{base}/recording")
        assert status == 200 and body == {"recording": True}
        directory = Path(world_dir(client))
        await nurse.wait_for(lambda: len(sealed_files(directory)) == 2)
        frames = nurse.frames_from(family.participant_id)
        await nurse.wait_for(lambda: nurse.frames_from(family.participant_id) > frames + 20)

        # The family withdraws: it stops at once, for both pages.
        status, body = await family.agent.call("POST", f"{base}/recording/withdraw")
        assert status == 200 and body == {"stopped": True}
        for person in (nurse, family):
            await person.wait_for(
                lambda p=person: {"active": False, "reason": "withdrawn"} in p.events["recording"]
            )
        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 409 and body["code"] == "recording_consent_withdrawn"

        status, listed = await api.call("GET", f"{base}/recordings")
        assert status == 200 and listed["recording"] is False
        [recording] = listed["recordings"]
        assert recording["stop_reason"] == "withdrawn" and recording["delete_after"]
        assert sorted(p["role"] for p in recording["parts"]) == ["clinician", "family"]
        assert all(p["kinds"] == ["audio", "video"] for p in recording["parts"])
        status, _ = await family.agent.call("GET", f"{base}/recordings")
        assert status == 403

        # On disk: sealed, no WebM header in sight; decrypted: both sides' audio and video.
        key = recording_master_key(None, client.app[SERVICES].settings.secret_key)
        assert key is not None
        for path in sealed_files(directory):
            raw = path.read_bytes()
            assert raw.startswith(MAGIC) and b"\x1a\x45\xdf\xa3" not in raw
            counts = streams_of(b"".join(open_sealed(path, key)))
            assert counts.get("video", 0) >= 5 and counts.get("audio", 0) >= 10, counts

        # The care team plays a part: decrypted on the way out, audited.
        url = f"/api/recordings/{recording['id']}/parts/1"
        async with api.http.get(api.url(url)) as response:
            assert response.status == 200 and response.content_type == "video/webm"
            played = await response.read()
        assert streams_of(played).keys() == {"audio", "video"}
        status, _ = await family.agent.call("GET", url)
        assert status == 403
        status, _ = await api.call("GET", f"/api/recordings/{recording['id']}/parts/9")
        assert status == 404

        # Agreement asked for again and given: a new recording, which ends with the visit.
        clock.advance(minutes=1)
        await api.call(
            "POST", f"{base}/events", {"type": "reopen", "step": "consent", "reason": "asked again"}
        )
        await api.call(
            "POST", f"{base}/events", {"type": "complete", "step": "consent", "answers": CONSENT}
        )
        status, body = await api.call("POST", f"{base}/recording/start")
        assert status == 200, body
        await nurse.wait_for(lambda: len(sealed_files(directory)) == 4)
        assert await nurse.call("end_visit") == {"ok": True}
        status, listed = await api.call("GET", f"{base}/recordings")
        second = listed["recordings"][1]
        assert second["stop_reason"] == "call_ended" and not second["running"]
        assert sorted(p["role"] for p in second["parts"]) == ["clinician", "family"]

        done = await actions(db, encounter_id)
        assert ("recording.start", "denied", "recording_consent_missing") in done
        assert ("recording.start", "success", None) in done
        assert ("recording.withdraw", "success", None) in done
        assert ("recording.stop", "success", "withdrawn") in done
        assert ("recording.play", "success", "part 1") in done
        assert ("recording.stop", "success", "call_ended") in done
    finally:
        await nurse.close()
        await family.close()


def sealed_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.webm.sealed"))


def world_dir(client: Any) -> Path:
    path = client.app[SERVICES].settings.recordings_path
    path.mkdir(parents=True, exist_ok=True)
    return path


async def test_retention_deletes_the_files_and_audits_it(world, client, db, clock) -> None:
    encounter_id = world.encounters["a"].id
    directory = world_dir(client)
    token = "ab" * 16
    path = directory / f"{token}-1.webm.sealed"
    path.write_bytes(b"sealed")
    now = clock.now()
    async with db.begin() as s:
        s.add(
            Recording(
                encounter_id=encounter_id,
                token=token,
                started_at=now - dt.timedelta(days=40),
                stopped_at=now - dt.timedelta(days=30, minutes=1),
                stop_reason="clinician",
                parts=[{"file": path.name, "role": "family"}],
                delete_after=now - dt.timedelta(minutes=1),
            )
        )
        s.add(
            Recording(
                encounter_id=encounter_id,
                token="cd" * 16,
                started_at=now,
                stopped_at=now,
                stop_reason="clinician",
                parts=[],
                delete_after=now + dt.timedelta(days=30),
            )
        )
        # A recording whose call was lost (its node stopped) long ago: closed, then kept.
        s.add(
            Recording(
                encounter_id=encounter_id,
                token="ef" * 16,
                started_at=now - dt.timedelta(hours=13),
                parts=[],
            )
        )
    recordings = Recordings(client.app)
    assert await recordings.close_lost() == 1
    async with db.begin() as s:
        lost = await s.scalar(select(Recording).where(Recording.token == "ef" * 16))
        assert lost is not None and lost.stop_reason == "lost" and lost.delete_after is not None
    assert await recordings.delete_expired() == 1
    assert not path.exists()
    assert await recordings.delete_expired() == 0  # once
    async with db.begin() as s:
        gone = await s.scalar(select(Recording).where(Recording.token == token))
        assert gone is not None and gone.deleted_at is not None and gone.parts == []
    assert ("recording.delete", "success", "retention ended") in await actions(db, encounter_id)

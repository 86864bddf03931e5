"""Recording in the media worker that owns the room: real aiortc peers, packets muxed without
re-encoding into sealed WebM files that decrypt and decode to each participant's audio and
video (issue 20)."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from media.sealed import MAGIC, SealedFileError, open_sealed
from media.workers import WorkerPool
from tests.integration.test_media_hub import GREEN, RED, close_to, until
from tests.integration.test_media_workers import App, make_pool

ROOM = "encounter-rec"
KEY = os.urandom(32)


@pytest.fixture
async def one_worker() -> AsyncIterator[tuple[WorkerPool, App]]:
    async for made in make_pool(1):
        yield made


def decoded(path: Path) -> dict[str, object]:
    """Decrypt a part in memory and decode every stream: kinds, frames, a middle colour."""
    plain = b"".join(open_sealed(path, KEY))
    with av.open(io.BytesIO(plain)) as container:
        kinds = sorted(s.type for s in container.streams)
        video = [f for f in container.decode(video=0)] if container.streams.video else []
        container.seek(0)
        audio = sum(1 for _ in container.decode(audio=0)) if container.streams.audio else 0
    middle = video[len(video) // 2].to_ndarray(format="bgr24") if video else None
    colour = None
    if middle is not None:
        pixel = middle[middle.shape[0] // 2, middle.shape[1] // 2]
        colour = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
    return {"kinds": kinds, "video": len(video), "audio": audio, "colour": colour}


async def test_a_recording_holds_each_participants_audio_and_video_sealed(
    one_worker: tuple[WorkerPool, App], tmp_path: Path
) -> None:
    pool, app = one_worker
    await app.join(ROOM, "clinician", RED)
    family = await app.join(ROOM, "family", GREEN)
    await until(app.receiving(family, {"clinician": RED}), "the call to run")

    await pool.start_recording(ROOM, str(tmp_path), "rec_abc", KEY)
    await until(
        lambda: len(list(tmp_path.glob("rec_abc-*"))) == 2, "both parts' files to be opened"
    )
    start = pool.counters(ROOM, "clinician")["video_frames_received"]
    await until(
        lambda: pool.counters(ROOM, "clinician")["video_frames_received"] > start + 20,
        "a second or so of media",
    )
    parts = await pool.stop_recording(ROOM)

    assert parts is not None and sorted(p["participant"] for p in parts) == ["clinician", "family"]
    colours = {"clinician": RED, "family": GREEN}
    for part in parts:
        path = tmp_path / str(part["file"])
        raw = path.read_bytes()
        assert raw.startswith(MAGIC) and b"webm" not in raw and b"\x1a\x45\xdf\xa3" not in raw
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        found = decoded(path)
        assert found["kinds"] == ["audio", "video"] and part["kinds"] == ["audio", "video"]
        assert found["video"] >= 5 and found["audio"] >= 10, found
        assert close_to(found["colour"], colours[str(part["participant"])]), found
    # Stopped: a second stop has nothing, and the call goes on.
    assert await pool.stop_recording(ROOM) is None

    # A recording that ends with its call (the room closed, and unpinned) is still answered
    # by the worker it ran on.
    await pool.start_recording(ROOM, str(tmp_path), "rec_def", KEY)
    await until(lambda: len(list(tmp_path.glob("rec_def-*"))) == 2, "the second recording")
    await pool.close_room(ROOM)
    await until(lambda: pool.room_worker(ROOM) is None, "the room to be unpinned")
    assert not pool.is_recording(ROOM)
    ended = await pool.stop_recording(ROOM)
    assert ended is not None and len(ended) == 2

    # A changed byte, or a file cut short, does not decrypt.
    path = tmp_path / str(parts[0]["file"])
    damaged = bytearray(path.read_bytes())
    damaged[40] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(SealedFileError):
        b"".join(open_sealed(path, KEY))
    path.write_bytes(bytes(damaged[:30]))
    with pytest.raises(SealedFileError):
        b"".join(open_sealed(path, KEY))

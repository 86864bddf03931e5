"""Recording a visit with consent (issue 20): start and stop (the care team), withdraw (anyone
in the call), the visit's list of recordings and playing one part (the care team).

Nothing is recorded without consent: a start the rule refuses is a 409 whose code says why
(``recording_consent_missing``, ``recording_consent_withdrawn``, ``visit_not_in_progress``),
as is a start with nobody in the call (``not_in_call``) or one already running
(``recording_running``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from media.sealed import SealedFileError
from server.api.registry import api, int_param, respond
from server.core.bounds import Id
from server.edge.auth import principal, staff
from server.services.errors import ApiError
from server.services.recordings import Recordings, RecordingView

logger = logging.getLogger(__name__)


class PartOut(BaseModel):
    index: int
    # Whose side of the call: the role in the call (clinician, family, interpreter, …).
    role: str
    kinds: list[Literal["audio", "video"]]
    offset_ms: int
    duration_ms: int | None


class RecordingOut(BaseModel):
    id: Id
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    stop_reason: Literal["clinician", "withdrawn", "call_ended", "lost"] | None
    running: bool
    delete_after: dt.datetime | None
    deleted: bool
    parts: list[PartOut]


class RecordingList(BaseModel):
    recording: bool
    recordings: list[RecordingOut]


class Stopped(BaseModel):
    stopped: bool


def _out(view: RecordingView) -> RecordingOut:
    return RecordingOut(
        id=view.recording_id,
        started_at=view.started_at,
        stopped_at=view.stopped_at,
        stop_reason=view.stop_reason,  # type: ignore[arg-type]
        running=view.running,
        delete_after=view.delete_after,
        deleted=view.deleted,
        parts=[
            PartOut(
                index=p.index,
                role=p.role,
                kinds=[k for k in p.kinds if k in ("audio", "video")],  # type: ignore[misc]
                offset_ms=p.offset_ms,
                duration_ms=p.duration_ms,
            )
            for p in view.parts
        ],
    )


@api(
    "POST",
    "/api/encounters/{encounter_id}/recording/start",
    summary="Start recording the call (only with everyone's consent to recording)",
    tag="recordings",
    response=RecordingOut,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def start_recording(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    view = await Recordings(request.app).start(request, who, int_param(request, "encounter_id"))
    return respond(_out(view))


@api(
    "POST",
    "/api/encounters/{encounter_id}/recording/stop",
    summary="Stop recording the call",
    tag="recordings",
    response=Stopped,
    auth="staff",
    errors=(401, 403, 404),
)
async def stop_recording(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    view = await Recordings(request.app).stop_for(request, who, int_param(request, "encounter_id"))
    return respond(Stopped(stopped=view is not None))


@api(
    "POST",
    "/api/encounters/{encounter_id}/recording/withdraw",
    summary="Withdraw the agreement to recording: a running recording stops at once",
    tag="recordings",
    response=Stopped,
    auth="session",
    errors=(401, 403, 404),
)
async def withdraw_consent(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    stopped = await Recordings(request.app).withdraw(
        request, who, int_param(request, "encounter_id")
    )
    return respond(Stopped(stopped=stopped))


class RecordingStatus(BaseModel):
    recording: bool


@api(
    "GET",
    "/api/encounters/{encounter_id}/recording",
    summary="Whether the call is being recorded now (every page of the call shows a banner)",
    tag="recordings",
    response=RecordingStatus,
    auth="session",
    errors=(401, 403, 404),
)
async def recording_status(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    recording = await Recordings(request.app).status(who, int_param(request, "encounter_id"))
    return respond(RecordingStatus(recording=recording))


@api(
    "GET",
    "/api/encounters/{encounter_id}/recordings",
    summary="The visit's recordings (the care team)",
    tag="recordings",
    response=RecordingList,
    auth="staff",
    errors=(401, 403, 404),
)
async def list_recordings(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    recordings = Recordings(request.app)
    views = await recordings.list_for(request, who, encounter_id)
    return respond(
        RecordingList(
            recording=recordings.is_recording(encounter_id), recordings=[_out(v) for v in views]
        )
    )


@api(
    "GET",
    "/api/recordings/{recording_id}/parts/{part}",
    summary="Play one part of a recording (WebM, decrypted as it is sent; each play audited)",
    tag="recordings",
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def play_part(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    chunks = await Recordings(request.app).open_part(
        request, who, int_param(request, "recording_id"), int_param(request, "part")
    )
    loop = asyncio.get_running_loop()
    try:
        first = await loop.run_in_executor(None, next, chunks, b"")
    except SealedFileError:
        raise ApiError(
            409, "recording_damaged", "This recording cannot be read: its file is damaged."
        ) from None
    response = web.StreamResponse(headers={"Content-Type": "video/webm"})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    await response.prepare(request)
    chunk = first
    while chunk:
        await response.write(chunk)
        try:
            chunk = await loop.run_in_executor(None, next, chunks, b"")
        except SealedFileError:
            logger.warning("recording part ended early: its file does not verify")
            break
    await response.write_eof()
    return response

"""A still from the patient's video for the identity check, with a face-presence hint.

Only after consent (the workflow's gate), only for the clinical team, decoded once and
analysed off the event loop. The image goes to the clinician's page and is not stored; the
step records only that a still was taken and what the hint said.
"""

from __future__ import annotations

import asyncio
import base64

from aiohttp import web
from pydantic import BaseModel

from encounters import workflow
from encounters.encounter_state import stored_state
from media.analysis import count_faces, to_jpeg
from server.api.registry import api, int_param, respond
from server.edge.auth import staff
from server.services import audit
from server.services.access import encounter_for
from server.services.context import services
from server.services.errors import ApiError
from server.services.live import LIVE


class Still(BaseModel):
    face_present: bool
    faces: int
    image: str  # a data: URL of a JPEG, for the clinician's eyes only
    taken_at: str


@api(
    "POST",
    "/api/encounters/{encounter_id}/snapshot",
    summary="Take a still from the family's video, with a face-presence hint",
    tag="encounters",
    response=Still,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def take_snapshot(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    async with svc.db.begin() as s:
        e = await encounter_for(s, who, encounter_id, "encounter.read_clinical")
        state = stored_state(e.state)
        if state is None or not workflow.is_snapshot_allowed(state):
            raise ApiError(
                409,
                "consent_required",
                "A still needs the consent step done, with consent to video.",
            )
        patient_id = e.patient_id
    frame = await request.app[LIVE].guest_still(encounter_id)
    if frame is None:
        raise ApiError(409, "no_video", "There is no video from the family to take a still of.")
    loop = asyncio.get_running_loop()
    faces = await loop.run_in_executor(None, count_faces, frame)
    jpeg = await loop.run_in_executor(None, to_jpeg, frame)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await audit.record(
            s,
            request,
            who,
            "snapshot",
            "encounter",
            encounter_id,
            patient_id=patient_id,
            encounter_id=encounter_id,
        )
    return respond(
        Still(
            face_present=faces > 0,
            faces=faces,
            taken_at=now.isoformat(),
            image="data:image/jpeg;base64," + base64.b64encode(jpeg).decode(),
        )
    )

"""Readings over HTTP: a patient's stored readings, and a clinician's manual entry."""

from __future__ import annotations

import json

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import select

from server.api.registry import api, int_param, query_datetime, respond
from server.core.storable import parse_id
from server.edge.auth import staff
from server.edge.errors import read_json
from server.services import audit
from server.services.access import encounter_for, patient_for
from server.services.context import services
from server.services.errors import ApiError
from server.services.readings import Enterer, accept_message, publish_readings, row_to_dict
from server.store.models import Reading as ReadingRow

KINDS = ("spo2", "heart_rate", "blood_pressure", "temperature", "weight", "respiratory_rate")
MAX_ITEMS = 2000


class ReadingList(BaseModel):
    items: list[dict[str, object]]


class ReadingAck(BaseModel):
    ack: str | None


@api(
    "GET",
    "/api/patients/{patient_id}/readings",
    summary="A patient's stored readings",
    tag="readings",
    response=ReadingList,
    auth="staff",
    query=(
        ("kind", "string", "one kind, e.g. spo2"),
        ("since", "date-time", "ISO-8601 time with zone"),
        ("encounter_id", "integer", "one visit's readings (a drill's only this way)"),
    ),
    errors=(401, 403, 404, 422),
)
async def list_readings(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    kind = request.query.get("kind")
    if kind and kind not in KINDS:
        raise ApiError(
            422, "invalid_field", f"'kind' must be one of {', '.join(KINDS)}.", field="kind"
        )
    query = select(ReadingRow).where(ReadingRow.patient_id == patient_id)
    encounter_raw = request.query.get("encounter_id")
    if encounter_raw is not None:
        encounter_id = parse_id(encounter_raw)
        if encounter_id is None:
            raise ApiError(
                422, "invalid_field", "'encounter_id' must be a number.", field="encounter_id"
            )
        query = query.where(ReadingRow.encounter_id == encounter_id)
    else:
        # A drill's simulated readings never mix into the patient's real record.
        query = query.where(ReadingRow.is_drill.is_(False))
    since = query_datetime(request, "since")
    if since is not None:
        query = query.where(ReadingRow.taken_at >= since)
    if kind:
        query = query.where(ReadingRow.kind == kind)
    async with services(request).db.begin() as s:
        await patient_for(s, who, patient_id, "patient.read_clinical")
        rows = (await s.scalars(query.order_by(ReadingRow.taken_at).limit(MAX_ITEMS))).all()
        await audit.record(s, request, who, "read", "reading", None, patient_id=patient_id)
    return respond(ReadingList(items=[row_to_dict(r) for r in rows]))


@api(
    "POST",
    "/api/encounters/{encounter_id}/readings",
    summary="Record a reading during a visit (e.g. breaths counted on video)",
    tag="readings",
    response=ReadingAck,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def add_reading(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    encounter_id = int_param(request, "encounter_id")
    body = await read_json(request, max_bytes=4096)
    svc = services(request)
    async with svc.db.begin() as s:
        await encounter_for(s, who, encounter_id, "encounter.read_clinical")
    outcome = await accept_message(
        svc.db,
        svc.clock,
        encounter_id=encounter_id,
        who=Enterer(who.user_id, None, who.role),
        text=json.dumps(body),
    )
    if "nack" in outcome.reply:
        raise ApiError(422, outcome.reply["code"], outcome.reply["error"])
    await publish_readings(request.app, encounter_id, outcome)
    return respond(ReadingAck(ack=outcome.reply.get("ack")), 201)

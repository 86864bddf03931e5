"""Paging through the audit log, ``GET /api/audit``, and checking its hash chain,
``GET /api/audit/verify`` (admin only)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.api.registry import api, query_int, respond
from server.api.schemas import AuditItem, AuditPage, AuditVerification
from server.core.crypto import audit_chain_key
from server.core.storable import parse_id
from server.edge.auth import staff
from server.services import audit
from server.services.access import PERMISSIONS
from server.services.context import services
from server.services.errors import ApiError
from server.store import audit_chain
from server.store.models import AuditEvent

PAGE_SIZE = 100


@api(
    "GET",
    "/api/audit",
    summary="Audit events, newest first (admin)",
    tag="audit",
    response=AuditPage,
    auth="admin",
    query=(
        ("patient_id", "integer", "only events about this patient"),
        ("actor_id", "integer", "only events by this staff member"),
        ("cursor", "string", "the 'next' value of the previous page"),
    ),
    errors=(401, 403, 422),
)
async def list_audit(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["audit.read"])
    patient_id, actor_id = query_int(request, "patient_id"), query_int(request, "actor_id")
    cursor = request.query.get("cursor")
    if cursor is not None and parse_id(cursor) is None:
        raise ApiError(
            422, "invalid_field", "The cursor is not one this server gave out.", field="cursor"
        )
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if cursor:
        query = query.where(AuditEvent.id < int(cursor))
    async with services(request).db.begin() as s:
        rows = (await s.scalars(query)).all()
        # Reading the audit log is itself audited: who looked at the trail is part of the trail.
        await audit.record(s, request, who, "read", "audit_log", None, patient_id=patient_id)
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    return respond(
        AuditPage(
            items=[
                AuditItem(
                    id=r.id,
                    at=r.at,
                    actor_id=r.actor_id,
                    link_id=r.actor_link_id,
                    role=r.role,
                    action=r.action,
                    resource_type=r.resource_type,
                    resource_id=r.resource_id,
                    patient_id=r.patient_id,
                    encounter_id=r.encounter_id,
                    address=r.address,
                    outcome=r.outcome,
                )
                for r in page
            ],
            next=str(page[-1].id) if more else None,
        )
    )


@api(
    "GET",
    "/api/audit/verify",
    summary="Check the audit log's hash chain from its first row (admin)",
    tag="audit",
    response=AuditVerification,
    auth="admin",
    errors=(401, 403),
)
async def verify_audit(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["audit.read"])
    svc = services(request)
    key = audit_chain_key(svc.settings.audit_key, svc.settings.secret_key)
    assert key is not None
    async with svc.db.begin() as s:
        report = await audit_chain.verify(s, key)
        await audit.record(s, request, who, "verify", "audit_log", None)
    return respond(
        AuditVerification(
            intact=report.intact,
            rows=report.rows,
            last_id=report.last_id,
            last_hash=report.last_hash,
            broken_at=report.broken.row_id if report.broken else None,
            reason=report.broken.reason if report.broken else None,
        )
    )

"""Paging through the audit log, ``GET /api/audit``, exporting it, ``GET /api/audit/export``,
and checking its hash chain, ``GET /api/audit/verify`` (admin only)."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from server.api.registry import api, query_datetime, query_int, respond
from server.api.schemas import AuditItem, AuditPage, AuditVerification
from server.core.storable import parse_id
from server.edge.auth import staff
from server.services import audit
from server.services.access import PERMISSIONS
from server.services.audit_log import (
    EXPORT_LIMIT,
    AuditFilter,
    AuditRow,
    audit_actions,
    audit_rows,
    verify_log,
)
from server.services.context import services
from server.services.errors import ApiError

PAGE_SIZE = 100
FILTERS = (
    ("patient_id", "integer", "only events about this patient"),
    ("actor_id", "integer", "only events by this staff member"),
    ("action", "string", "only events of this action (read, update, export, …)"),
    ("since", "string", "only events at or after this ISO-8601 time"),
    ("until", "string", "only events before this ISO-8601 time"),
)


def _filter(request: web.Request) -> AuditFilter:
    action = request.query.get("action") or None
    if action is not None and len(action) > 40:
        raise ApiError(422, "invalid_field", "No action is that long.", field="action")
    return AuditFilter(
        patient_id=query_int(request, "patient_id"),
        actor_id=query_int(request, "actor_id"),
        action=action,
        since=query_datetime(request, "since"),
        until=query_datetime(request, "until"),
    )


def _item(row: AuditRow) -> AuditItem:
    r = row.event
    return AuditItem(
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
        actor_name=row.actor_name,
        patient_name=row.patient_name,
    )


@api(
    "GET",
    "/api/audit",
    summary="Audit events, newest first, with names (admin)",
    tag="audit",
    response=AuditPage,
    auth="admin",
    query=(*FILTERS, ("cursor", "string", "the 'next' value of the previous page")),
    errors=(401, 403, 422),
)
async def list_audit(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["audit.read"])
    wanted = _filter(request)
    cursor = request.query.get("cursor")
    if cursor is not None and parse_id(cursor) is None:
        raise ApiError(
            422, "invalid_field", "The cursor is not one this server gave out.", field="cursor"
        )
    async with services(request).db.begin() as s:
        rows = await audit_rows(
            s, wanted, before_id=int(cursor) if cursor else None, limit=PAGE_SIZE + 1
        )
        actions = await audit_actions(s)
        # Reading the audit log is itself audited: who looked at the trail is part of the trail.
        await audit.record(s, request, who, "read", "audit_log", None, patient_id=wanted.patient_id)
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    return respond(
        AuditPage(
            items=[_item(r) for r in page],
            next=str(page[-1].event.id) if more else None,
            actions=list(actions),
        )
    )


CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "patient_name",
    "encounter_id",
    "address",
    "outcome",
)


@api(
    "GET",
    "/api/audit/export",
    summary="The filtered audit events as a CSV download, newest first (admin)",
    tag="audit",
    auth="admin",
    query=FILTERS,
    errors=(401, 403, 422),
)
async def export_audit(request: web.Request) -> web.StreamResponse:
    who = staff(request, PERMISSIONS["audit.read"])
    wanted = _filter(request)
    async with services(request).db.begin() as s:
        rows = await audit_rows(s, wanted, before_id=None, limit=EXPORT_LIMIT)
        # An export copies the trail out of Hearth: who took which part is on the trail too.
        await audit.record(
            s,
            request,
            who,
            "export",
            "audit_log",
            None,
            patient_id=wanted.patient_id,
            detail=f"{len(rows)} rows",
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        item = _item(row).model_dump()
        writer.writerow(
            [item["at"].isoformat() if name == "at" else _cell(item[name]) for name in CSV_COLUMNS]
        )
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (a name such as ``=HYPERLINK``)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


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
    async with svc.db.begin() as s:
        report = await verify_log(s, svc.settings)
        await audit.record(s, request, who, "verify", "audit_log", None)
    return respond(
        AuditVerification(
            intact=report.intact,
            rows=report.rows,
            last_id=report.last_id,
            last_hash=report.last_hash,
            broken_at=report.broken_at,
            reason=report.reason,
        )
    )

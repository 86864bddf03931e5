"""Reading the audit log: filtered pages with the names of the people and patients involved,
the same rows for export, and the check of its hash chain (what ``hearth audit verify`` runs).

The admin's page, the API and the CLI call these, so a filter or the verification means the
same wherever it is asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from server.core.crypto import audit_chain_key
from server.core.settings import Settings
from server.store import audit_chain
from server.store.models import AuditEvent, Patient, User

# Rows in one export: a month of a busy service's log fits; a larger export is narrowed by
# the filters (the page says so).
EXPORT_LIMIT = 50_000


@dataclass(frozen=True)
class AuditFilter:
    patient_id: int | None = None
    actor_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_name: str | None
    patient_name: str | None


def _filtered(wanted: AuditFilter) -> Select[AuditEvent, str, str]:
    actor = aliased(User)
    query = (
        select(AuditEvent, actor.name, Patient.name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .order_by(AuditEvent.id.desc())
    )
    if wanted.patient_id is not None:
        query = query.where(AuditEvent.patient_id == wanted.patient_id)
    if wanted.actor_id is not None:
        query = query.where(AuditEvent.actor_id == wanted.actor_id)
    if wanted.action:
        query = query.where(AuditEvent.action == wanted.action)
    if wanted.since is not None:
        query = query.where(AuditEvent.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.at < wanted.until)
    return query


async def audit_rows(
    s: AsyncSession, wanted: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditRow]:
    """Up to ``limit`` rows matching the filter, newest first, older than ``before_id``."""
    query = _filtered(wanted)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    rows = await s.execute(query.limit(limit))
    return [AuditRow(event, actor, patient) for event, actor, patient in rows]


async def audit_actions(s: AsyncSession) -> Sequence[str]:
    """Every action the log holds, for the page's filter."""
    found = await s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    return found.all()


@dataclass(frozen=True)
class Verification:
    intact: bool
    rows: int
    last_id: int | None
    last_hash: str | None
    broken_at: int | None
    reason: str | None


async def verify_log(
    s: AsyncSession, settings: Settings, *, anchor: tuple[int, str] | None = None
) -> Verification:
    """Check the hash chain from the first row: intact up to the last row, or the first row
    at which it fails and why."""
    key = audit_chain_key(settings.audit_key, settings.secret_key)
    if key is None:
        raise RuntimeError("no audit key: HEARTH_SECRET_KEY or HEARTH_AUDIT_KEY must be set")
    report = await audit_chain.verify(s, key, anchor=anchor)
    return Verification(
        intact=report.intact,
        rows=report.rows,
        last_id=report.last_id,
        last_hash=report.last_hash,
        broken_at=report.broken.row_id if report.broken else None,
        reason=report.broken.reason if report.broken else None,
    )

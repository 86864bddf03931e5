"""The short review of a missed escalation: an alert that passed a tier's deadline.

A coordinator (the team lead) of the patient's care team writes what happened, why, and
what changes, with one cause from a fixed list so the dashboard can count causes. A review
can be edited; each earlier version is kept in the row's history. Only real alerts that
passed a deadline can be reviewed (drills have their own report). Audited with the patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.errors import ConflictError, ValidationError
from encounters.quality import ReviewCause, is_missed
from server.services import audit
from server.services.access import patient_for
from server.services.alerts import state_of
from server.services.errors import not_found
from server.services.sessions import Principal
from server.store.between_visits import Alert
from server.store.quality import EscalationReview

RESOURCE = "escalation_review"
TEXT_MAX_CHARS = 2000


@dataclass(frozen=True)
class ReviewInput:
    cause: ReviewCause
    what_happened: str
    why: str
    what_changes: str


def _checked(entry: ReviewInput) -> ReviewInput:
    texts = {}
    for name in ("what_happened", "why", "what_changes"):
        text = getattr(entry, name).strip()
        if not text:
            raise ValidationError("Please fill in each part of the review.", field=name)
        if len(text) > TEXT_MAX_CHARS:
            raise ValidationError(
                f"Each part must be at most {TEXT_MAX_CHARS} characters; got {len(text)}.",
                field=name,
            )
        texts[name] = text
    return ReviewInput(entry.cause, **texts)


async def _alert(s: AsyncSession, who: Principal, alert_id: int) -> Alert:
    row = await s.get(Alert, alert_id)
    if row is None:
        raise not_found("That alert")
    await patient_for(s, who, row.patient_id, "escalation_review.write")
    return row


async def save_review(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    alert_id: int,
    entry: ReviewInput,
    *,
    actor: audit.Actor,
) -> EscalationReview:
    """Write or rewrite the review of a missed escalation."""
    alert = await _alert(s, who, alert_id)
    if alert.is_drill or not is_missed(state_of(alert)):
        raise ConflictError(
            "Only an alert that passed a tier's deadline can be reviewed.", code="not_missed"
        )
    checked = _checked(entry)
    row = await s.scalar(
        select(EscalationReview).where(EscalationReview.alert_id == alert_id).with_for_update()
    )
    values = {
        "cause": checked.cause.value,
        "what_happened": checked.what_happened,
        "why": checked.why,
        "what_changes": checked.what_changes,
        "reviewed_by": who.user_id,
        "reviewed_at": now,
    }
    if row is None:
        row = EscalationReview(alert_id=alert_id, revision=1, history=[], **values)
        s.add(row)
        action = "create"
    else:
        earlier = {
            "cause": row.cause,
            "what_happened": row.what_happened,
            "why": row.why,
            "what_changes": row.what_changes,
            "reviewed_by": row.reviewed_by,
            "reviewed_at": row.reviewed_at.isoformat(),
            "revision": row.revision,
        }
        row.history = [*row.history, earlier]
        row.revision += 1
        for name, value in values.items():
            setattr(row, name, value)
        action = "update"
    await s.flush()
    await audit.record_event(s, now, actor, action, RESOURCE, alert_id, patient_id=alert.patient_id)
    return row

"""Recording a video visit (issue 20): when it may run, and how long a recording is kept.

Consent: a recording may start only while the visit is in progress, every consent step of
its template is completed with recording agreed (``workflow.is_recording_allowed``), and
nobody in the call has withdrawn that agreement since the consent was last completed. A
withdrawal stops a running recording at once (the service does that) and holds until the
consent step is reopened and completed again with recording agreed, which is a new, later
agreement.

Retention: a recording is deleted ``retention_days`` after it stopped (one that never
stopped cleanly counts from its start).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from encounters.encounter_state import EncounterState, EncounterStatus
from encounters.templates import StepKind
from encounters.workflow import is_recording_allowed


class Refusal(StrEnum):
    """Why a recording may not run now; the value is the API's error code."""

    NOT_IN_PROGRESS = "visit_not_in_progress"
    NO_CONSENT = "recording_consent_missing"
    WITHDRAWN = "recording_consent_withdrawn"


def consent_given_at(state: EncounterState) -> datetime | None:
    """When the agreement to recording was last completed (the latest consent step), or None
    when there is no such agreement now."""
    if not is_recording_allowed(state):
        return None
    times = [s.done_at for s in state.steps if s.kind is StepKind.CONSENT and s.done_at]
    return max(times) if times else None


def refusal(state: EncounterState, withdrawals: Iterable[datetime]) -> Refusal | None:
    """None when a recording may run now; else why not."""
    if state.status is not EncounterStatus.IN_PROGRESS:
        return Refusal.NOT_IN_PROGRESS
    given = consent_given_at(state)
    if given is None:
        return Refusal.NO_CONSENT
    if any(withdrawn >= given for withdrawn in withdrawals):
        return Refusal.WITHDRAWN
    return None


def delete_after(
    started_at: datetime, stopped_at: datetime | None, retention_days: int
) -> datetime:
    """When a recording's retention ends."""
    if retention_days < 1:
        raise ValueError("a retention period is at least one day")
    return (stopped_at or started_at) + timedelta(days=retention_days)


def is_expired(deleted_after: datetime, now: datetime) -> bool:
    return now >= deleted_after

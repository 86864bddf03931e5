"""Outcomes staff record where they happen: a crisis that left home care, a death, a discharge.

The rules of one record, checked before it is stored (new or edited):

- an admission, an emergency department visit or an emergency call has a date and may say
  why (``reason``) and whether the crisis plan was used (yes, no, or not known);
- a death has the place it happened; the preferred place is read from the care plan by the
  server when the death is first recorded, so the two sit side by side;
- a discharge from the service has its reason;
- the date is not in the future (in the patient's own time zone) and not before 1900.

Fields that belong to another kind are refused rather than ignored, so a record never holds a
place of death on an admission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from encounters.careplan import Place
from encounters.errors import ValidationError
from encounters.quality import CRISIS_KINDS, OutcomeKind

REASON_MAX_CHARS = 300
EARLIEST_DATE = date(1900, 1, 1)


class DischargeReason(StrEnum):
    SYMPTOMS_STABLE = "symptoms_stable"
    TRANSFERRED = "transferred"
    MOVED_AWAY = "moved_away"
    PATIENT_CHOICE = "patient_choice"
    OTHER = "other"


@dataclass(frozen=True)
class OutcomeInput:
    kind: OutcomeKind
    occurred_on: date
    reason: str | None = None
    crisis_plan_used: bool | None = None
    place_of_death: Place | None = None
    discharge_reason: DischargeReason | None = None


def check_outcome(entry: OutcomeInput, *, today: date) -> OutcomeInput:
    """The entry, its reason tidied; a ValidationError naming the field otherwise."""
    if entry.occurred_on > today:
        raise ValidationError("The date can't be in the future.", field="occurred_on")
    if entry.occurred_on < EARLIEST_DATE:
        raise ValidationError("The date must be 1900 or later.", field="occurred_on")
    reason = (entry.reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX_CHARS:
        raise ValidationError(
            f"The reason must be at most {REASON_MAX_CHARS} characters; got {len(reason)}.",
            field="reason",
        )
    crisis = entry.kind in CRISIS_KINDS
    if not crisis and entry.crisis_plan_used is not None:
        raise ValidationError(
            "Whether the crisis plan was used is recorded for admissions, emergency visits "
            "and calls only.",
            field="crisis_plan_used",
        )
    if entry.kind is OutcomeKind.DEATH:
        if entry.place_of_death in (None, Place.NOT_DISCUSSED):
            raise ValidationError("Say where the death happened.", field="place_of_death")
    elif entry.place_of_death is not None:
        raise ValidationError("A place of death goes with a death only.", field="place_of_death")
    if entry.kind is OutcomeKind.DISCHARGE:
        if entry.discharge_reason is None:
            raise ValidationError("Say why the patient was discharged.", field="discharge_reason")
    elif entry.discharge_reason is not None:
        raise ValidationError(
            "A discharge reason goes with a discharge only.", field="discharge_reason"
        )
    return OutcomeInput(
        kind=entry.kind,
        occurred_on=entry.occurred_on,
        reason=reason,
        crisis_plan_used=entry.crisis_plan_used,
        place_of_death=entry.place_of_death,
        discharge_reason=entry.discharge_reason,
    )

"""The family's satisfaction survey after a visit: offered once per visit link, skippable.

Answers are anonymous. A response row holds the care team's name, the day and the answers:
not the visit, the patient, the link or the clinician, so neither the clinician who ran the
visit nor anyone reading the figures can tell whose answers they are, and the answers never
become part of anyone's record. ``survey_receipts`` remembers only that a link has answered
or declined, so the survey is not offered twice. Nothing of it is written to the audit log:
it is not a patient's record, and an audit row would tie the answers to the visit by time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.errors import ConflictError, ValidationError
from encounters.quality import SURVEY_QUESTIONS, SURVEY_SCALE
from server.services.errors import forbidden, not_found
from server.services.sessions import Principal
from server.store.models import CareTeam, Encounter, Patient
from server.store.quality import SurveyReceipt, SurveyResponse

# A visit is over, for the survey, once it has been held: the call ran, or its steps did.
HELD_STATUSES = ("in_progress", "finished")


async def _visit(s: AsyncSession, who: Principal) -> tuple[Encounter, int]:
    if who.role != "family" or who.encounter_id is None or who.link_id is None:
        raise forbidden("The survey is for the family of a visit.")
    encounter = await s.get(Encounter, who.encounter_id)
    if encounter is None:
        raise not_found("That visit")
    return encounter, who.link_id


async def is_offered(s: AsyncSession, who: Principal) -> bool:
    """Whether this family session should be offered the survey now."""
    encounter, link_id = await _visit(s, who)
    if encounter.status not in HELD_STATUSES:
        return False
    return await s.get(SurveyReceipt, link_id) is None


def check_answers(answers: Mapping[str, int]) -> dict[str, int]:
    low, high = SURVEY_SCALE
    for question, value in answers.items():
        if question not in SURVEY_QUESTIONS:
            raise ValidationError(f"There is no question {question[:40]!r}.", field="answers")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(
                f"Each answer is a number from {low} to {high}.", field=f"answers.{question}"
            )
    return {q: answers[q] for q in SURVEY_QUESTIONS if q in answers}


async def answer_survey(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    answers: Mapping[str, int] | None,
    *,
    language: str,
) -> None:
    """Store the answers (None: the family skipped the survey) and the link's receipt."""
    encounter, link_id = await _visit(s, who)
    if encounter.status not in HELD_STATUSES:
        raise ConflictError("The survey opens once the visit has taken place.", code="too_early")
    checked = None if answers is None else check_answers(answers)
    try:
        async with s.begin_nested():
            s.add(SurveyReceipt(join_link_id=link_id, answered=checked is not None))
            await s.flush()
    except IntegrityError:
        raise ConflictError(
            "This visit's survey has already been answered.", code="already_answered"
        ) from None
    if checked is None:
        return
    team = await s.scalar(select(CareTeam.name).where(CareTeam.patient_id == encounter.patient_id))
    patient = await s.get(Patient, encounter.patient_id)
    zone = ZoneInfo(patient.time_zone if patient else "UTC")
    s.add(
        SurveyResponse(
            care_team=str(team or ""),
            answered_on=now.astimezone(zone).date(),
            answers=checked,
            language=language[:16],
            is_drill=encounter.is_drill,
        )
    )

"""Family education: assigning topics, what the family opened and asked, teach-back per topic.

Each use case lives here once, whichever page or route calls it. The carry-over of points not
yet understood, and comprehension over time, are the pure rules of ``encounters.teach_back``
applied to the stored answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan import CarePlan
from encounters.education import Level, Topic
from encounters.teach_back import (
    TEACH_BACK_POINTS,
    PointResult,
    comprehension_over_time,
    points_to_revisit,
)
from server.services.education_catalogue import PICTURE_URL, Catalogue
from server.services.errors import ApiError
from server.store.education import EducationAssignment, EducationTeachBack


@dataclass(frozen=True)
class PointAnswer:
    point_id: str
    result: str


def topic_or_refuse(catalogue: Catalogue, topic_id: str) -> Topic:
    topic = catalogue.library.get(topic_id, "en")
    if topic is None:
        raise ApiError(
            422,
            "unknown_topic",
            f"There is no education topic '{topic_id}'; see GET /api/education/topics.",
            field="topic_id",
        )
    return topic


async def assign(
    s: AsyncSession,
    catalogue: Catalogue,
    patient_id: int,
    topic_id: str,
    level: Level,
    *,
    by: int | None,
    encounter_id: int | None,
    now: dt.datetime,
) -> tuple[EducationAssignment, bool]:
    """Give a topic to the family; giving it again changes its level. (row, whether new)."""
    topic_or_refuse(catalogue, topic_id)
    row = await s.scalar(
        select(EducationAssignment).where(
            EducationAssignment.patient_id == patient_id,
            EducationAssignment.topic_id == topic_id,
        )
    )
    if row is not None:
        row.level = level.value
        await s.flush()
        return row, False
    row = EducationAssignment(
        patient_id=patient_id,
        topic_id=topic_id,
        level=level.value,
        assigned_at=now,
        assigned_by=by,
        encounter_id=encounter_id,
        open_count=0,
    )
    s.add(row)
    await s.flush()
    return row, True


async def assignments_of(s: AsyncSession, patient_id: int) -> list[EducationAssignment]:
    return list(
        (
            await s.scalars(
                select(EducationAssignment)
                .where(EducationAssignment.patient_id == patient_id)
                .order_by(EducationAssignment.assigned_at, EducationAssignment.id)
            )
        ).all()
    )


def mark_opened(row: EducationAssignment, now: dt.datetime) -> None:
    if row.first_opened_at is None:
        row.first_opened_at = now
    row.last_opened_at = now
    row.open_count = (row.open_count or 0) + 1


def mark_question(row: EducationAssignment, now: dt.datetime) -> None:
    row.question_at = now


async def record_teach_back(
    s: AsyncSession,
    catalogue: Catalogue,
    patient_id: int,
    topic_id: str,
    answers: Sequence[PointAnswer],
    *,
    by: int | None,
    encounter_id: int | None,
    is_drill: bool,
    now: dt.datetime,
) -> list[EducationTeachBack]:
    """Store one sitting's answers: every point named once, each a point of the topic."""
    topic = topic_or_refuse(catalogue, topic_id)
    known = {p.point_id for p in topic.teach_back}
    if not answers:
        raise ApiError(422, "invalid_value", "Give at least one point's answer.", field="results")
    seen: set[str] = set()
    for index, answer in enumerate(answers):
        if answer.point_id not in known:
            raise ApiError(
                422,
                "unknown_point",
                f"Topic '{topic_id}' has no teach-back point '{answer.point_id}'; its points "
                f"are: {', '.join(sorted(known))}.",
                field=f"results.{index}.point_id",
            )
        if answer.point_id in seen:
            raise ApiError(
                422,
                "invalid_value",
                f"Point '{answer.point_id}' is given twice.",
                field=f"results.{index}.point_id",
            )
        if answer.result not in TEACH_BACK_POINTS:
            raise ApiError(
                422,
                "invalid_value",
                f"A result must be one of: {', '.join(TEACH_BACK_POINTS)}.",
                field=f"results.{index}.result",
            )
        seen.add(answer.point_id)
    rows = [
        EducationTeachBack(
            patient_id=patient_id,
            topic_id=topic_id,
            point_id=answer.point_id,
            result=answer.result,
            recorded_at=now,
            recorded_by=by,
            encounter_id=encounter_id,
            is_drill=is_drill,
        )
        for answer in answers
    ]
    s.add_all(rows)
    await s.flush()
    return rows


async def teach_back_history(s: AsyncSession, patient_id: int) -> list[PointResult]:
    rows = await s.scalars(
        select(EducationTeachBack)
        .where(EducationTeachBack.patient_id == patient_id)
        .order_by(EducationTeachBack.recorded_at, EducationTeachBack.id)
    )
    return [PointResult(r.topic_id, r.point_id, r.result, r.recorded_at) for r in rows]


def _point_text(catalogue: Catalogue, topic_id: str, point_id: str, language: str) -> str:
    topic = catalogue.library.best(topic_id, language)
    return next((p.text for p in topic.teach_back if p.point_id == point_id), point_id)


def team_view(
    catalogue: Catalogue,
    rows: Sequence[EducationAssignment],
    history: Sequence[PointResult],
    plan: CarePlan,
) -> dict[str, Any]:
    """What the care team sees: what was given and opened, questions, points to go over again,
    comprehension per topic over time, and the topics behind the patient's crisis plan."""
    library = catalogue.library
    crises = {i.crisis for i in plan.crisis_plan.instructions}
    assigned = {r.topic_id for r in rows}
    return {
        "assignments": [
            {
                "id": r.id,
                "topic_id": r.topic_id,
                "title": library.best(r.topic_id, "en").version(Level(r.level)).title,
                "level": r.level,
                "assigned_at": r.assigned_at.isoformat(),
                "encounter_id": r.encounter_id,
                "first_opened_at": _iso(r.first_opened_at),
                "last_opened_at": _iso(r.last_opened_at),
                "open_count": r.open_count,
                "question_at": _iso(r.question_at),
            }
            for r in rows
        ],
        "revisit": [
            {
                "topic_id": p.topic_id,
                "point_id": p.point_id,
                "text": _point_text(catalogue, p.topic_id, p.point_id, "en"),
                "result": p.result,
                "at": p.at.isoformat(),
            }
            for p in points_to_revisit(history)
        ],
        "comprehension": [
            {
                "topic_id": c.topic_id,
                "at": c.at.isoformat(),
                "comprehension_pct": c.comprehension_pct,
                "points_asked": c.points_asked,
            }
            for c in comprehension_over_time(history)
        ],
        "suggested": [t for t in library.for_crises(crises) if t not in assigned],
    }


def topic_points(catalogue: Catalogue, topic_id: str) -> list[dict[str, Any]]:
    topic = catalogue.library.best(topic_id, "en")
    return [
        {"point_id": p.point_id, "text": p.text, "safety_critical": p.safety_critical}
        for p in topic.teach_back
    ]


def topic_for_reader(
    catalogue: Catalogue, row: EducationAssignment, languages: Sequence[str | None]
) -> dict[str, Any]:
    """One assigned topic as the family reads it, in the first of ``languages`` it is written
    in (else English) and at the level it was given at; the page keeps it for reading offline."""
    library = catalogue.library
    found = next((lang for lang in languages if lang and library.get(row.topic_id, lang)), "en")
    topic = library.best(row.topic_id, found)
    version = topic.version(Level(row.level))
    return {
        "assignment_id": row.id,
        "topic_id": topic.topic_id,
        "language": topic.language,
        "level": version.level.value,
        "reviewed": topic.is_reviewed,
        "machine_translated": topic.origin.value == "machine_translation",
        "title": version.title,
        "summary": version.summary,
        "sections": [
            {
                "heading": section.heading,
                "paragraphs": list(section.paragraphs),
                "steps": list(section.steps),
                "picture": (
                    None
                    if section.picture is None
                    else {
                        "src": PICTURE_URL + topic.pictures[section.picture].file,
                        "alt": topic.pictures[section.picture].alt,
                    }
                ),
            }
            for section in version.sections
        ],
        "sources": [{"organisation": s.organisation, "title": s.title} for s in topic.sources],
        "question_at": _iso(row.question_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()

"""Family education (issue 18): the library, assigning topics, teach-back, what the family read.

The care team works per patient; the family marks a topic opened or asks a question, with the
diary link's token (diary page) or its visit session (family page).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.education import Level
from server.api.join import LINK_PROBLEMS
from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import Body
from server.core.bounds import Id
from server.edge.auth import PRINCIPAL, staff
from server.services import audit
from server.services.access import encounter_for, patient_for
from server.services.careplans import current_plan
from server.services.context import EDUCATION, services
from server.services.diary import diary_link_status, find_diary_link
from server.services.education import (
    PointAnswer,
    assign,
    assignments_of,
    mark_opened,
    mark_question,
    record_teach_back,
    teach_back_history,
    team_view,
    topic_points,
)
from server.services.errors import ApiError, not_found
from server.services.links import LinkLookup, guarded_link_lookup
from server.services.sessions import Principal
from server.store.education import EducationAssignment
from server.store.models import Encounter

TopicId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class TopicVersionOut(BaseModel):
    topic_id: str
    language: str
    level: Literal["plain", "standard"]
    title: str
    formula: str
    score: float
    approximate: bool
    meets_plain_target: bool
    reviewed_by: str | None
    origin: str


class TopicsOut(BaseModel):
    items: list[TopicVersionOut]


class AssignBody(Body):
    topic_id: TopicId
    level: Literal["plain", "standard"] = "plain"
    encounter_id: Id | None = None


class AssignmentOut(BaseModel):
    id: Id
    topic_id: str
    level: str
    assigned_at: dt.datetime


class PointAnswerBody(Body):
    point_id: TopicId
    result: Literal["correct", "partly", "not_yet"]


class TeachBackBody(Body):
    topic_id: TopicId
    encounter_id: Id | None = None
    results: Annotated[list[PointAnswerBody], Field(min_length=1, max_length=8)]


class TeachBackOut(BaseModel):
    topic_id: str
    stored: int


class FamilyMarkBody(Body):
    # The diary page sends its link's token; the family page is signed in to its visit.
    token: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class FamilyMarkOut(BaseModel):
    assignment_id: Id
    status: Literal["recorded"]


class EducationOut(BaseModel):
    patient_id: Id
    assignments: list[dict[str, object]]
    revisit: list[dict[str, object]]
    comprehension: list[dict[str, object]]
    suggested: list[str]
    points: dict[str, list[dict[str, object]]]


@api(
    "GET",
    "/api/education/topics",
    summary="Every education topic in every language and level, with its readability",
    tag="education",
    response=TopicsOut,
    auth="staff",
    errors=(401,),
)
async def list_topics(request: web.Request) -> web.StreamResponse:
    staff(request)
    catalogue = request.app[EDUCATION]
    items = []
    for topic_id in catalogue.library.topic_ids():
        for language in catalogue.library.languages_of(topic_id):
            topic = catalogue.library.topics[(topic_id, language)]
            for level in Level:
                score = catalogue.score(topic, level)
                items.append(
                    TopicVersionOut(
                        topic_id=topic_id,
                        language=language,
                        level=level.value,
                        title=topic.version(level).title,
                        formula=score.formula.name,
                        score=score.score,
                        approximate=score.formula.approximate,
                        meets_plain_target=score.meets_plain_target,
                        reviewed_by=topic.reviewed_by,
                        origin=topic.origin.value,
                    )
                )
    return respond(TopicsOut(items=items))


@api(
    "GET",
    "/api/patients/{patient_id}/education",
    summary="The family's topics, what they opened, points to go over again, comprehension",
    tag="education",
    response=EducationOut,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_education(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    catalogue = request.app[EDUCATION]
    async with services(request).db.begin() as s:
        await patient_for(s, who, patient_id, "education.read")
        rows = await assignments_of(s, patient_id)
        history = await teach_back_history(s, patient_id)
        plan = await current_plan(s, patient_id)
        await audit.record(s, request, who, "read", "education", patient_id, patient_id=patient_id)
    view = team_view(catalogue, rows, history, plan)
    shown = {a["topic_id"] for a in view["assignments"]} | set(view["suggested"])
    points = {t: topic_points(catalogue, str(t)) for t in sorted(shown)}
    return respond(EducationOut(patient_id=patient_id, points=points, **view))


@api(
    "POST",
    "/api/patients/{patient_id}/education",
    summary="Give a topic to the family at a reading level (again: changes the level)",
    tag="education",
    body=AssignBody,
    response=AssignmentOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def post_assignment(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, AssignBody)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "education.assign")
        await _check_encounter(s, who, patient_id, body.encounter_id)
        row, created = await assign(
            s,
            request.app[EDUCATION],
            patient_id,
            body.topic_id,
            Level(body.level),
            by=who.user_id,
            encounter_id=body.encounter_id,
            now=now,
        )
        await audit.record(
            s,
            request,
            who,
            "create" if created else "update",
            "education_assignment",
            row.id,
            patient_id=patient_id,
            encounter_id=body.encounter_id,
            detail=f"{body.topic_id} {body.level}",
        )
        out = AssignmentOut(
            id=row.id, topic_id=row.topic_id, level=row.level, assigned_at=row.assigned_at
        )
    return respond(out, 201 if created else 200)


@api(
    "POST",
    "/api/patients/{patient_id}/education/teach-back",
    summary="Record a topic's teach-back points as said back: correct, partly or not yet",
    tag="education",
    body=TeachBackBody,
    response=TeachBackOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def post_teach_back(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, TeachBackBody)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "education.teach_back")
        encounter = await _check_encounter(s, who, patient_id, body.encounter_id)
        rows = await record_teach_back(
            s,
            request.app[EDUCATION],
            patient_id,
            body.topic_id,
            [PointAnswer(r.point_id, r.result) for r in body.results],
            by=who.user_id,
            encounter_id=body.encounter_id,
            is_drill=bool(encounter and encounter.is_drill),
            now=now,
        )
        await audit.record(
            s,
            request,
            who,
            "create",
            "education_teach_back",
            body.topic_id,
            patient_id=patient_id,
            encounter_id=body.encounter_id,
            detail=f"{len(rows)} points",
        )
    return respond(TeachBackOut(topic_id=body.topic_id, stored=len(rows)), 201)


async def _check_encounter(
    s: AsyncSession, who: Principal, patient_id: int, encounter_id: int | None
) -> Encounter | None:
    """The visit named, which must be this patient's; None when none is named."""
    if encounter_id is None:
        return None
    encounter = await encounter_for(s, who, encounter_id, "encounter.read_clinical")
    if encounter.patient_id != patient_id:
        raise ApiError(
            422, "wrong_patient", "That visit is another patient's.", field="encounter_id"
        )
    return encounter


async def _family_mark(request: web.Request, action: str) -> web.StreamResponse:
    assignment_id = int_param(request, "assignment_id")
    body = await parse_body(request, FamilyMarkBody)
    svc = services(request)
    now = svc.clock.now()
    who: Principal | None = request.get(PRINCIPAL)
    actor = audit.Actor(None, None, "family", request.remote, None)
    # A diary token is counted like every link lookup (guesses are throttled); a family
    # session has nothing to guess.
    guard: AbstractAsyncContextManager[LinkLookup | None] = (
        guarded_link_lookup(svc.attempts, request.remote, now)
        if body.token is not None
        else nullcontext(None)
    )
    async with guard as lookup, svc.db.begin() as s:
        row = await s.get(EducationAssignment, assignment_id)
        patient_id: int | None = None
        if body.token is not None:
            link = await find_diary_link(s, svc.settings, body.token)
            problem = "unknown" if link is None else diary_link_status(link, now)
            if lookup is not None:
                lookup.status = problem
            if link is None or problem != "active":
                code, message = LINK_PROBLEMS[problem]
                raise ApiError(401, code, message)
            patient_id = link.patient_id
        elif who is not None and who.kind == "family" and who.encounter_id is not None:
            encounter = await encounter_for(s, who, who.encounter_id, "encounter.read")
            patient_id = encounter.patient_id
        elif who is not None:
            raise ApiError(403, "forbidden", "Only the family marks what it has read.")
        else:
            raise ApiError(401, "unauthenticated", "Open this from your diary or visit link.")
        if row is None or row.patient_id != patient_id:
            await audit.record(
                s,
                request,
                actor,
                action,
                "education_assignment",
                assignment_id,
                patient_id=patient_id,
                outcome="denied",
                detail="not_found",
            )
            raise not_found("That topic")
        if action == "open":
            mark_opened(row, now)
        else:
            mark_question(row, now)
        await audit.record(
            s,
            request,
            actor,
            action,
            "education_assignment",
            row.id,
            patient_id=row.patient_id,
            detail=row.topic_id,
        )
    return respond(FamilyMarkOut(assignment_id=assignment_id, status="recorded"))


@api(
    "POST",
    "/api/education/assignments/{assignment_id}/opened",
    summary="The family opened a topic (diary token or family session)",
    tag="education",
    body=FamilyMarkBody,
    response=FamilyMarkOut,
    auth="none",
    # 429: a diary token is counted like every link lookup, so guesses are throttled.
    errors=(400, 401, 403, 404, 422, 429),
)
async def post_opened(request: web.Request) -> web.StreamResponse:
    return await _family_mark(request, "open")


@api(
    "POST",
    "/api/education/assignments/{assignment_id}/question",
    summary="The family has a question about a topic (diary token or family session)",
    tag="education",
    body=FamilyMarkBody,
    response=FamilyMarkOut,
    auth="none",
    # 429: a diary token is counted like every link lookup, so guesses are throttled.
    errors=(400, 401, 403, 404, 422, 429),
)
async def post_question(request: web.Request) -> web.StreamResponse:
    return await _family_mark(request, "question")

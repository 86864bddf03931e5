"""Quality improvement (issue 19): the month's figures (JSON and CSV), outcomes, reviews of
missed escalations, and the family's survey."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from encounters.careplan import Place
from encounters.outcomes import DischargeReason, OutcomeInput
from encounters.quality import OutcomeKind, ReviewCause
from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import Body
from server.core.bounds import Id
from server.core.i18n import translations
from server.edge.auth import principal, staff
from server.edge.language import viewer_language
from server.edge.rendering import JINJA
from server.services import audit
from server.services.context import services
from server.services.escalation_reviews import ReviewInput, save_review
from server.services.outcomes import (
    edit_outcome,
    list_outcomes,
    record_outcome,
    recorder_names,
)
from server.services.quality import Dashboard, Figure, dashboard, parse_month
from server.services.survey import answer_survey, is_offered
from server.store.quality import EscalationReview, OutcomeRecord

QUERY = (
    ("team", "string", "a care team's name; unset: every team of the caller"),
    ("month", "string", "the month, e.g. 2026-03; unset: this month"),
)


class FigureOut(BaseModel):
    section: str
    figure: str
    breakdown: str | None
    value: int | float | str | None
    unit: str
    base: int | float | str | None
    suppressed: bool


class QualityOut(BaseModel):
    team: str | None
    teams: list[str]
    month: str
    since: dt.datetime
    until: dt.datetime
    figures: list[FigureOut]
    drill_figures: list[FigureOut]
    troubled_visits: list[dict[str, Any]]
    missed_alerts: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    drills: list[dict[str, Any]]


def _figure(f: Figure) -> FigureOut:
    return FigureOut(
        section=f.section,
        figure=f.figure,
        breakdown=f.breakdown,
        value=f.value,
        unit=f.unit,
        base=f.base,
        suppressed=f.suppressed,
    )


async def _board(request: web.Request) -> Dashboard:
    who = staff(request)
    svc = services(request)
    now = svc.clock.now()
    team = request.query.get("team") or None
    month = parse_month(request.query.get("month"), now.date())
    async with svc.db.begin() as s:
        return await dashboard(
            s,
            now,
            who,
            team=team,
            month=month,
            actor=audit.actor_of(request, who),
            language=viewer_language(request),
        )


@api(
    "GET",
    "/api/quality",
    summary="The month's quality figures for a care team, drill figures apart",
    tag="quality",
    response=QualityOut,
    auth="staff",
    query=QUERY,
    errors=(401, 403, 404, 422),
)
async def quality_figures(request: web.Request) -> web.StreamResponse:
    board = await _board(request)
    return respond(
        QualityOut(
            team=board.team,
            teams=board.teams,
            month=board.month,
            since=board.since,
            until=board.until,
            figures=[_figure(f) for f in board.figures],
            drill_figures=[_figure(f) for f in board.drill_figures],
            troubled_visits=board.troubled_visits,
            missed_alerts=board.missed_alerts,
            reviews=board.reviews,
            drills=board.drills,
        )
    )


def _breakdown(raw: str | None, words: dict[str, str]) -> str:
    if raw is None:
        return ""
    if raw.startswith("tier "):
        return f"{words['tier']} {raw.removeprefix('tier ')}"
    return " → ".join(words.get(part, part) for part in raw.split(">"))


@api(
    "GET",
    "/api/quality.csv",
    summary="Every figure of the month as CSV: section, figure, breakdown, value, unit, "
    "records counted, definition",
    tag="quality",
    auth="staff",
    query=QUERY,
    errors=(401, 403, 404, 422),
)
async def quality_csv(request: web.Request) -> web.StreamResponse:
    board = await _board(request)
    t = translations(viewer_language(request))
    module: Any = (
        request.app[JINJA]
        .get_template("_quality_labels.html")
        .make_module({"_": t.gettext, "gettext": t.gettext})
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            t.gettext("Section"),
            t.gettext("Figure"),
            t.gettext("Breakdown"),
            t.gettext("Value"),
            t.gettext("Unit"),
            t.gettext("Records counted"),
            t.gettext("Definition"),
        ]
    )
    # Drill figures come last, under sections of their own.
    for f in (*board.figures, *board.drill_figures):
        value = t.gettext("withheld (fewer than 5)") if f.suppressed else f.value
        writer.writerow(
            [
                module.sections[f.section],
                module.labels[f.figure],
                _breakdown(f.breakdown, module.breakdowns),
                "" if value is None else value,
                f.unit,
                "" if f.base is None else f.base,
                module.definitions[f.figure],
            ]
        )
    name = f"quality-{board.month}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- outcomes --------------------------------------------------------------------------------


class OutcomeBody(Body):
    kind: OutcomeKind
    occurred_on: dt.date
    reason: Annotated[str, Field(max_length=300)] | None = None
    crisis_plan_used: bool | None = None
    place_of_death: Place | None = None
    discharge_reason: DischargeReason | None = None


class OutcomeEditBody(OutcomeBody):
    revision: Annotated[int, Field(ge=1)]


class OutcomeOut(BaseModel):
    id: Id
    patient_id: Id
    kind: str
    occurred_on: dt.date
    reason: str | None
    crisis_plan_used: bool | None
    place_of_death: str | None
    preferred_place: str | None
    discharge_reason: str | None
    recorded_by: int | None
    # Who recorded this version, by name (each history entry carries its own).
    recorded_by_name: str | None = None
    recorded_at: dt.datetime
    revision: int
    history: list[dict[str, Any]]


class OutcomeList(BaseModel):
    items: list[OutcomeOut]


def _outcome(row: OutcomeRecord, names: dict[int, str]) -> OutcomeOut:
    def name(user_id: Any) -> str | None:
        return names.get(user_id) if isinstance(user_id, int) else None

    return OutcomeOut(
        id=row.id,
        patient_id=row.patient_id,
        kind=row.kind,
        occurred_on=row.occurred_on,
        reason=row.reason,
        crisis_plan_used=row.crisis_plan_used,
        place_of_death=row.place_of_death,
        preferred_place=row.preferred_place,
        discharge_reason=row.discharge_reason,
        recorded_by=row.recorded_by,
        recorded_by_name=name(row.recorded_by),
        recorded_at=row.recorded_at,
        revision=row.revision,
        history=[v | {"recorded_by_name": name(v.get("recorded_by"))} for v in row.history],
    )


def _input(body: OutcomeBody) -> OutcomeInput:
    return OutcomeInput(
        kind=body.kind,
        occurred_on=body.occurred_on,
        reason=body.reason,
        crisis_plan_used=body.crisis_plan_used,
        place_of_death=body.place_of_death,
        discharge_reason=body.discharge_reason,
    )


@api(
    "GET",
    "/api/patients/{patient_id}/outcomes",
    summary="A patient's recorded outcomes, each with its earlier versions",
    tag="quality",
    response=OutcomeList,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_outcomes(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    svc = services(request)
    async with svc.db.begin() as s:
        rows = await list_outcomes(
            s, svc.clock.now(), who, patient_id, actor=audit.actor_of(request, who)
        )
        names = await recorder_names(s, rows)
    return respond(OutcomeList(items=[_outcome(r, names) for r in rows]))


@api(
    "POST",
    "/api/patients/{patient_id}/outcomes",
    summary="Record an admission, emergency visit or call, death or discharge",
    tag="quality",
    body=OutcomeBody,
    response=OutcomeOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def post_outcome(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, OutcomeBody)
    svc = services(request)
    async with svc.db.begin() as s:
        row = await record_outcome(
            s, svc.clock.now(), who, patient_id, _input(body), actor=audit.actor_of(request, who)
        )
        out = _outcome(row, await recorder_names(s, [row]))
    return respond(out, status=201)


@api(
    "PUT",
    "/api/outcomes/{outcome_id}",
    summary="Correct a recorded outcome; the earlier version is kept in its history",
    tag="quality",
    body=OutcomeEditBody,
    response=OutcomeOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def put_outcome(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    outcome_id = int_param(request, "outcome_id")
    body = await parse_body(request, OutcomeEditBody)
    svc = services(request)
    async with svc.db.begin() as s:
        row = await edit_outcome(
            s,
            svc.clock.now(),
            who,
            outcome_id,
            _input(body),
            revision=body.revision,
            actor=audit.actor_of(request, who),
        )
        out = _outcome(row, await recorder_names(s, [row]))
    return respond(out)


# -- reviews of missed escalations -----------------------------------------------------------


class ReviewBody(Body):
    cause: ReviewCause
    what_happened: Annotated[str, Field(max_length=2000)]
    why: Annotated[str, Field(max_length=2000)]
    what_changes: Annotated[str, Field(max_length=2000)]


class ReviewOut(BaseModel):
    alert_id: Id
    cause: str
    what_happened: str
    why: str
    what_changes: str
    reviewed_by: int | None
    reviewed_at: dt.datetime
    revision: int


def _review(row: EscalationReview) -> ReviewOut:
    return ReviewOut(
        alert_id=row.alert_id,
        cause=row.cause,
        what_happened=row.what_happened,
        why=row.why,
        what_changes=row.what_changes,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        revision=row.revision,
    )


@api(
    "PUT",
    "/api/alerts/{alert_id}/review",
    summary="Write or rewrite the review of an alert that passed a tier's deadline",
    tag="quality",
    body=ReviewBody,
    response=ReviewOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def put_review(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    alert_id = int_param(request, "alert_id")
    body = await parse_body(request, ReviewBody)
    svc = services(request)
    entry = ReviewInput(body.cause, body.what_happened, body.why, body.what_changes)
    async with svc.db.begin() as s:
        row = await save_review(
            s, svc.clock.now(), who, alert_id, entry, actor=audit.actor_of(request, who)
        )
        out = _review(row)
    return respond(out)


# -- the family's survey ---------------------------------------------------------------------

Answer = Annotated[int, Field(ge=1, le=5)]


class SurveyBody(Body):
    # Questions left out were skipped.
    answers: dict[str, Answer]


class SurveyState(BaseModel):
    offered: bool


class SurveyDone(BaseModel):
    status: Literal["answered", "skipped"]


@api(
    "GET",
    "/api/survey",
    summary="Whether this family session is offered the survey (after its visit, once)",
    tag="quality",
    response=SurveyState,
    errors=(401, 403, 404),
)
async def get_survey(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    async with services(request).db.begin() as s:
        offered = await is_offered(s, who)
    return respond(SurveyState(offered=offered))


@api(
    "POST",
    "/api/survey",
    summary="The family's anonymous answers to the survey after its visit",
    tag="quality",
    body=SurveyBody,
    response=SurveyDone,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
async def post_survey(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    body = await parse_body(request, SurveyBody)
    svc = services(request)
    language = viewer_language(request)
    async with svc.db.begin() as s:
        await answer_survey(s, svc.clock.now(), who, body.answers, language=language)
    return respond(SurveyDone(status="answered"), status=201)


@api(
    "POST",
    "/api/survey/skip",
    summary="The family declines the survey; it is not offered again",
    tag="quality",
    response=SurveyDone,
    errors=(401, 403, 404, 409),
)
async def skip_survey(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    svc = services(request)
    async with svc.db.begin() as s:
        await answer_survey(s, svc.clock.now(), who, None, language="")
    return respond(SurveyDone(status="skipped"))

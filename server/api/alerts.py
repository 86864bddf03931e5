"""The coordinator's alert queue: list, acknowledge, resolve, reassign, same-day visit,
response figures. Everything is scoped to the patients of the caller's care teams."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.alert_figures import Figures, response_figures
from server.api.between_visits_schemas import (
    AlertFigures,
    AlertList,
    AlertOut,
    FiguresOut,
    ReassignBody,
    ResolveBody,
    SameDayVisitBody,
    SameDayVisitOut,
)
from server.api.registry import api, int_param, parse_body, respond
from server.edge.auth import staff
from server.services import audit
from server.services.access import is_on_care_team, may, my_patient_ids, patient_for
from server.services.alerts import (
    alert_to_dict,
    allowed_actions,
    care_teams_by_name,
    queue_order,
    states_since,
)
from server.services.audit import Denied
from server.services.booking import Refusal, VisitBooking, book_visit
from server.services.careplans import current_plans
from server.services.context import services
from server.services.errors import ApiError, forbidden, not_found
from server.services.escalation import ALERTS
from server.services.family_messages import message_evidence
from server.services.sessions import Principal
from server.store.between_visits import Alert, DiaryEntry
from server.store.drills import Drill
from server.store.models import Patient, Reading, User

FIGURES_WINDOW = dt.timedelta(days=30)
QUEUE_LIMIT = 500


@api(
    "GET",
    "/api/alerts",
    summary="The alert queue: most severe first, then longest waiting",
    tag="alerts",
    response=AlertList,
    auth="staff",
    query=(("status", "string", "open (default: open and acknowledged) or all"),),
    errors=(401, 403, 422),
)
async def list_alerts(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    if not may(who, "alert.read"):
        raise forbidden()
    which = request.query.get("status", "open")
    if which not in ("open", "all"):
        raise ApiError(422, "invalid_field", "status must be 'open' or 'all'.", field="status")
    async with services(request).db.begin() as s:
        patient_ids = await my_patient_ids(s, who)
        # A drill's alerts show only to the people taking part in that drill, and leave the
        # open queue when the drill ends (they stay in its report and in "all").
        my_drills = select(Drill.id).where(
            or_(Drill.created_by == who.user_id, Drill.clinician_id == who.user_id)
        )
        if which == "open":
            my_drills = my_drills.where(Drill.status == "running")
        query = select(Alert).where(
            Alert.patient_id.in_(patient_ids),
            or_(Alert.drill_id.is_(None), Alert.drill_id.in_(my_drills)),
        )
        if which == "open":
            query = query.where(Alert.status.in_(("open", "acknowledged")))
        rows = sorted((await s.scalars(query.limit(QUEUE_LIMIT))).all(), key=queue_order)
        names = {
            p.id: p.name
            for p in (await s.scalars(select(Patient).where(Patient.id.in_(patient_ids)))).all()
        }
        await audit.record(s, request, who, "list", "alert", None)
        evidence = await _evidence(s, rows)
        readings = await _reading_evidence(s, rows)
        messages = await message_evidence(s, rows)
        extras = await _per_caller(s, who, rows)
    items = [
        AlertOut.model_validate(
            alert_to_dict(r, names.get(r.patient_id))
            | {
                "evidence_entries": _quoted(r, evidence),
                "evidence_readings": [
                    e for c in r.evidence if (e := readings.get((r.patient_id, c)))
                ],
                "evidence_messages": [
                    e for c in r.evidence if (e := messages.get((r.patient_id, c)))
                ],
                **extras[r.id],
            }
        )
        for r in rows
    ]
    return respond(AlertList(items=items))


async def _per_caller(
    s: AsyncSession, who: Principal, rows: Sequence[Alert]
) -> dict[int, dict[str, object]]:
    """For each alert: what the caller may do to it now, and whom they may hand it to."""
    may_act, may_reassign = may(who, "alert.act"), may(who, "alert.reassign")
    patient_ids = {r.patient_id for r in rows}
    plans = await current_plans(s, patient_ids)
    teams = await care_teams_by_name(s, patient_ids) if may_reassign else {}
    out: dict[int, dict[str, object]] = {}
    for row in rows:
        allowed = (
            allowed_actions(
                row,
                plans[row.patient_id],
                who.user_id,
                who.role,
                may_act=may_act,
                may_reassign=may_reassign,
            )
            if who.user_id is not None
            else None
        )
        out[row.id] = {
            "allowed": {
                "acknowledge": bool(allowed and allowed.acknowledge),
                "resolve": bool(allowed and allowed.resolve),
                "reassign": bool(allowed and allowed.reassign),
            },
            "reassign_to": [
                {"id": uid, "name": name} for uid, name in teams.get(row.patient_id, [])
            ],
        }
    return out


async def _reading_evidence(
    s: AsyncSession, rows: Sequence[Alert]
) -> dict[tuple[int, str], dict[str, object]]:
    """The readings vital-sign alerts quote, by (patient, client id), in one query."""
    wanted = {
        (r.patient_id, c) for r in rows if r.rule_id == "vital_out_of_band" for c in r.evidence
    }
    if not wanted:
        return {}
    found = (
        await s.scalars(
            select(Reading).where(
                Reading.patient_id.in_({p for p, _ in wanted}),
                Reading.client_id.in_({c for _, c in wanted}),
            )
        )
    ).all()
    return {
        (r.patient_id, r.client_id): {
            "kind": r.kind,
            "value": r.value,
            "value2": r.value2,
            "unit": r.unit,
            "taken_at": r.taken_at.isoformat(),
        }
        for r in found
        if (r.patient_id, r.client_id) in wanted
    }


def _quoted(row: Alert, evidence: dict[tuple[int, str], dict[str, object]]) -> list[object]:
    return [e for c in row.evidence if (e := evidence.get((row.patient_id, c)))]


async def _evidence(
    s: AsyncSession, rows: Sequence[Alert]
) -> dict[tuple[int, str], dict[str, object]]:
    """The diary entries the alerts quote, by (patient, client id), in one query."""
    wanted = {
        (r.patient_id, c)
        for r in rows
        if r.rule_id not in ("vital_out_of_band", "family_message")
        for c in r.evidence
    }
    if not wanted:
        return {}
    found = (
        await s.scalars(
            select(DiaryEntry).where(
                DiaryEntry.patient_id.in_({p for p, _ in wanted}),
                DiaryEntry.client_id.in_({c for _, c in wanted}),
            )
        )
    ).all()
    return {
        (e.patient_id, e.client_id): {
            "client_id": e.client_id,
            "recorded_at": e.recorded_at.isoformat(),
            "scores": e.scores,
            "worry": e.worry,
        }
        for e in found
        if (e.patient_id, e.client_id) in wanted
    }


async def _act(request: web.Request, action: str, **kwargs: object) -> web.StreamResponse:
    who = staff(request)
    alert_id = int_param(request, "alert_id")
    svc = services(request)
    now = svc.clock.now()
    permission = "alert.reassign" if action == "reassign" else "alert.act"
    if not may(who, permission):
        # Refused before looking the alert up: the answer is the same whether it exists.
        raise Denied(forbidden(), action=permission, resource_type="alert", resource_id=alert_id)
    async with svc.db.begin() as s:
        row = await s.get(Alert, alert_id)
        if row is None:
            raise not_found("That alert")
        await patient_for(s, who, row.patient_id, permission)
        user = await s.get(User, who.user_id)
        assert user is not None
        if action == "reassign":
            target = await s.get(User, kwargs["to_user_id"])

            if target is None or not await is_on_care_team(s, target.id, row.patient_id):
                raise ApiError(
                    422,
                    "not_on_care_team",
                    "That person is not on this patient's care team.",
                    field="to_user_id",
                )
        s.expunge(user)
    data = await request.app[ALERTS].act(
        alert_id,
        action,
        user=user,
        actor=audit.actor_of(request, who),
        now=now,
        **kwargs,  # type: ignore[arg-type]
    )
    return respond(AlertOut.model_validate(data))


@api(
    "POST",
    "/api/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an alert (someone on its current tier, or its assignee)",
    tag="alerts",
    response=AlertOut,
    auth="staff",
    errors=(401, 403, 404, 409),
)
async def acknowledge_alert(request: web.Request) -> web.StreamResponse:
    return await _act(request, "acknowledge")


@api(
    "POST",
    "/api/alerts/{alert_id}/resolve",
    summary="Resolve an alert with an outcome",
    tag="alerts",
    body=ResolveBody,
    response=AlertOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def resolve_alert(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ResolveBody)
    return await _act(request, "resolve", outcome=body.outcome, note=body.note)


@api(
    "POST",
    "/api/alerts/{alert_id}/reassign",
    summary="Hand an alert to a named member of the care team (coordinators)",
    tag="alerts",
    body=ReassignBody,
    response=AlertOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def reassign_alert(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, ReassignBody)
    return await _act(request, "reassign", to_user_id=body.to_user_id, reason=body.reason)


@api(
    "POST",
    "/api/alerts/{alert_id}/visit",
    summary="Book a video visit for the alert's patient at the clinician's next free time "
    "today; returns when and a family link (409 no_free_time_today when none is left)",
    tag="alerts",
    body=SameDayVisitBody,
    response=SameDayVisitOut,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def same_day_visit(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    alert_id = int_param(request, "alert_id")
    body = await parse_body(request, SameDayVisitBody)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        row = await s.get(Alert, alert_id)
        if row is None:
            raise not_found("That alert")
        await patient_for(s, who, row.patient_id, "alert.act")
        reason = f"same-day visit for alert {alert_id}"
        booked = await book_visit(
            s,
            now,
            VisitBooking(
                patient_id=row.patient_id,
                # The named clinician, else the caller if a clinician, else the care team's.
                clinician_id=body.clinician_id
                or (who.user_id if who.role == "clinician" else None),
                kind="video_visit",
                starts_at=now,
                ends_at=now + dt.timedelta(minutes=body.duration_minutes),
                first_free_today=True,
                is_drill=row.is_drill,
                override_reason=reason,
                audit_detail=f"alert {alert_id}",
                unfit_clinician=Refusal(
                    "no_clinician", "Name a clinician of this patient's care team for the visit."
                ),
            ),
            by=audit.actor_of(request, who),
            settings=svc.settings,
        )
    assert booked.family_link is not None and booked.family_link_id is not None
    return respond(
        SameDayVisitOut(
            encounter_id=booked.encounter_id,
            starts_at=booked.starts_at,
            ends_at=booked.ends_at,
            family_link=booked.family_link,
            family_link_id=booked.family_link_id,
        ),
        201,
    )


def _figures_out(f: Figures) -> FiguresOut:
    return FiguresOut(**f.__dict__)


@api(
    "GET",
    "/api/alerts/figures",
    summary="Time to acknowledge and to resolve (median, 90th percentile): today, 30 days",
    tag="alerts",
    response=AlertFigures,
    auth="staff",
    errors=(401, 403),
)
async def alert_figures(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    if not may(who, "alert.read"):
        raise forbidden()
    now = services(request).clock.now()
    # "Today" is the UTC day: the console's figures compare like with like across zones.
    midnight = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    async with services(request).db.begin() as s:
        patient_ids = await my_patient_ids(s, who)
        states = await states_since(s, patient_ids, now - FIGURES_WINDOW)
    return respond(
        AlertFigures(
            today=_figures_out(response_figures(states, since=midnight, now=now)),
            last_30_days=_figures_out(
                response_figures(states, since=now - FIGURES_WINDOW, now=now)
            ),
        )
    )

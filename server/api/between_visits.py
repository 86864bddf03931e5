"""Care between visits: the shared care plan, diary links and the family's diary entries.

The alert queue and its actions are in ``server/api/alerts.py`` (imported below so that one
import in the app factory registers both).
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.careplan_json import validate_care_plan
from encounters.diary import DiaryEntry as Entry
from encounters.diary import validate_diary_entry
from server.api import alerts as _alerts  # noqa: F401 - importing registers the routes
from server.api.between_visits_schemas import (
    CarePlanBody,
    CarePlanOut,
    CarePlanVersions,
    DiaryBody,
    DiaryLinkInfo,
    DiaryLinkList,
    DiaryLinkOut,
    DiaryStored,
)
from server.api.join import LINK_PROBLEMS
from server.api.registry import api, int_param, parse_body, query_flag, respond
from server.core.qr import qr_svg
from server.edge.auth import staff
from server.services import audit
from server.services.access import patient_for
from server.services.alerts import detect_after_entry
from server.services.careplans import latest_version, save_plan, version_to_dict, versions_of
from server.services.context import services
from server.services.diary import (
    active_diary_links,
    diary_link_status,
    diary_url,
    find_diary_link,
    in_diary_batch,
    issue_diary_link,
    revoke_diary_links,
    store_entry,
)
from server.services.errors import ApiError, not_found
from server.services.escalation import ALERTS
from server.services.links import guarded_link_lookup
from server.store.between_visits import DiaryLink
from server.store.models import User


@api(
    "GET",
    "/api/patients/{patient_id}/care-plan",
    summary="The patient's current care plan (defaults when none was written)",
    tag="care-plan",
    response=CarePlanOut,
    auth="staff",
    errors=(401, 403, 404),
)
async def get_care_plan(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    async with services(request).db.begin() as s:
        await patient_for(s, who, patient_id, "careplan.read")
        row = await latest_version(s, patient_id)
        await audit.record(s, request, who, "read", "care_plan", patient_id, patient_id=patient_id)
        out = version_to_dict(row, patient_id)
    return respond(CarePlanOut.model_validate(out))


@api(
    "PUT",
    "/api/patients/{patient_id}/care-plan",
    summary="Save the care plan as a new version (who changed what and when is kept)",
    tag="care-plan",
    body=CarePlanBody,
    response=CarePlanOut,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def put_care_plan(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, CarePlanBody)
    plan = validate_care_plan(body.plan)
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "careplan.write")
        row = await save_plan(
            s, patient_id, plan, by=who.user_id, now=now, base_version=body.base_version
        )
        await audit.record(
            s,
            request,
            who,
            "update",
            "care_plan",
            patient_id,
            patient_id=patient_id,
            detail=f"version {row.version}",
        )
        out = version_to_dict(row, patient_id)
    return respond(CarePlanOut.model_validate(out))


@api(
    "GET",
    "/api/patients/{patient_id}/care-plan/versions",
    summary="Every saved version of the care plan, newest first, with its changes",
    tag="care-plan",
    response=CarePlanVersions,
    auth="staff",
    errors=(401, 403, 404),
)
async def list_care_plan_versions(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    async with services(request).db.begin() as s:
        await patient_for(s, who, patient_id, "careplan.read")
        rows = await versions_of(s, patient_id)
        await audit.record(
            s, request, who, "read", "care_plan_versions", patient_id, patient_id=patient_id
        )
        authors = {
            uid: name
            for uid, name in await s.execute(
                select(User.id, User.name).where(
                    User.id.in_({r.created_by for r in rows if r.created_by is not None})
                )
            )
        }
        items = [
            CarePlanOut.model_validate(
                version_to_dict(r, patient_id)
                | {"created_by_name": authors.get(r.created_by) if r.created_by else None}
            )
            for r in rows
        ]
    return respond(CarePlanVersions(items=items))


@api(
    "POST",
    "/api/patients/{patient_id}/diary-links",
    summary="Issue a diary link for the patient's family (shown once, with its QR code)",
    tag="diary",
    response=DiaryLinkOut,
    status=201,
    auth="staff",
    query=(("replace", "boolean", "true: revoke the patient's other diary links"),),
    errors=(401, 403, 404, 422),
)
async def create_diary_link(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    replace = query_flag(request, "replace")
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "diary_link.issue")
        if replace:
            # Replacing needs the right to revoke as well as to issue.
            await patient_for(s, who, patient_id, "diary_link.revoke")
        token, link = await issue_diary_link(s, svc.settings, patient_id, by=who.user_id, now=now)
        await audit.record(s, request, who, "create", "diary_link", link.id, patient_id=patient_id)
        revoked = (
            await revoke_diary_links(s, patient_id, by=who.user_id, now=now, keep=link.id)
            if replace
            else []
        )
        for link_id in revoked:
            await audit.record(
                s, request, who, "revoke", "diary_link", link_id, patient_id=patient_id
            )
        url = diary_url(svc.settings, token)
        out = DiaryLinkOut(
            diary_link=url,
            diary_link_id=link.id,
            expires_at=link.expires_at,
            qr_svg=qr_svg(url),
            revoked_link_ids=revoked,
        )
    return respond(out, 201)


@api(
    "GET",
    "/api/patients/{patient_id}/diary-links",
    summary="The patient's working diary links, without their secrets",
    tag="diary",
    response=DiaryLinkList,
    auth="staff",
    errors=(401, 403, 404),
)
async def list_diary_links(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    svc = services(request)
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "diary_link.issue")
        links = await active_diary_links(s, patient_id, svc.clock.now())
        makers = {
            uid: name
            for uid, name in await s.execute(
                select(User.id, User.name).where(
                    User.id.in_([link.created_by for link in links if link.created_by])
                )
            )
        }
        await audit.record(s, request, who, "list", "diary_link", None, patient_id=patient_id)
    return respond(
        DiaryLinkList(
            items=[
                DiaryLinkInfo(
                    id=link.id,
                    created_at=link.created_at,
                    expires_at=link.expires_at,
                    last_used_at=link.last_used_at,
                    created_by_name=makers.get(link.created_by) if link.created_by else None,
                )
                for link in links
            ]
        )
    )


@api(
    "DELETE",
    "/api/patients/{patient_id}/diary-links/{link_id}",
    summary="Revoke a diary link",
    tag="diary",
    status=204,
    auth="staff",
    errors=(401, 403, 404),
)
async def revoke_diary_link(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    link_id = int_param(request, "link_id")
    svc = services(request)
    now = svc.clock.now()
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "diary_link.revoke")
        link = await s.get(DiaryLink, link_id)
        if link is None or link.patient_id != patient_id:
            raise not_found("That diary link")
        if link.revoked_at is None:
            link.revoked_at, link.revoked_by = now, who.user_id
        await audit.record(s, request, who, "revoke", "diary_link", link.id, patient_id=patient_id)
    return web.Response(status=204)


@api(
    "POST",
    "/api/diary",
    summary="Store one diary entry, sent with the family's diary-link token",
    tag="diary",
    body=DiaryBody,
    response=DiaryStored,
    status=201,
    auth="none",
    errors=(400, 401, 409, 422, 429),
)
async def post_diary_entry(request: web.Request) -> web.StreamResponse:
    """A resend of a stored entry (same client_id and content) answers 200 ``duplicate``."""
    body = await parse_body(request, DiaryBody)
    svc = services(request)
    now = svc.clock.now()
    entry = validate_diary_entry(body.entry, now=now)
    # Counted before the token is looked up; given back unless the token was unknown.
    async with guarded_link_lookup(svc.attempts, request.remote, now) as lookup:
        for attempt in range(2):
            try:
                problem, stored, raised = await _store_diary(request, body, entry)
                break
            except IntegrityError:
                # The same entry raced itself in (a resend while the first was in flight): the
                # second attempt finds it stored and answers "duplicate".
                if attempt:
                    raise
        lookup.status = problem
    if problem == "wrong_patient":
        raise ApiError(403, "wrong_patient", "This diary link belongs to another patient's diary.")
    if problem != "active":
        code, message = LINK_PROBLEMS[problem]
        raise ApiError(401, code, message)
    if raised:
        await request.app[ALERTS].announce(raised, page_tier=True)
    if not stored:
        return respond(DiaryStored(client_id=entry.client_id, status="duplicate"), 200)
    return respond(DiaryStored(client_id=entry.client_id, status="stored"), 201)


async def _store_diary(
    request: web.Request, body: DiaryBody, entry: Entry
) -> tuple[str, bool, list[int]]:
    """(link problem or "active", whether the entry is new, ids of alerts it raised)."""
    svc = services(request)
    now = svc.clock.now()

    # Entries posted at the same moment share one transaction and one commit (each in a
    # savepoint of its own); the answer waits for that commit.
    async def store(s: AsyncSession) -> tuple[str, bool, list[int]]:
        return await _store_diary_in(s, request, body, entry, now)

    return await in_diary_batch(svc.db, store)


async def _store_diary_in(
    s: AsyncSession, request: web.Request, body: DiaryBody, entry: Entry, now: dt.datetime
) -> tuple[str, bool, list[int]]:
    svc = services(request)
    row = None
    raised: list[int] = []
    link = await find_diary_link(s, svc.settings, body.token)
    problem: str = "unknown" if link is None else diary_link_status(link, now)
    if link is None or problem != "active":
        await audit.record(
            s,
            request,
            audit.Actor(None, None, "family", request.remote, None),
            "create",
            "diary_entry",
            None,
            patient_id=link.patient_id if link else None,
            outcome="denied",
            detail=problem,
        )
    elif body.patient_id is not None and body.patient_id != link.patient_id:
        await audit.record(
            s,
            request,
            audit.Actor(None, None, "family", request.remote, None),
            "create",
            "diary_entry",
            None,
            patient_id=body.patient_id,
            outcome="denied",
            detail="wrong_patient",
        )
        problem = "wrong_patient"
    else:
        link.last_used_at = now
        row = await store_entry(s, link, entry, now=now)
        actor = audit.Actor(None, None, "family", request.remote, None)
        if row is not None:
            await audit.record(
                s,
                request,
                actor,
                "create",
                "diary_entry",
                row.id,
                patient_id=link.patient_id,
                detail=f"diary_link {link.id}",
            )
            raised = [
                a.id
                for a in await detect_after_entry(s, link.patient_id, entry.recorded_at, now=now)
            ]
    return problem, row is not None, raised

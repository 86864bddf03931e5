"""Messages between a family and the care team (issue 18).

The family writes and reads with its diary link's token (diary page) or its visit session
(family page); the care team reads and answers per patient (patient's page, alert console).
The use cases are in ``server.services.family_messages``.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.join import LINK_PROBLEMS
from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import Body, Language
from server.core.bounds import AwareTime, Id
from server.edge.auth import PRINCIPAL, staff
from server.services import audit
from server.services.access import encounter_for, may, my_patient_ids, patient_for
from server.services.alerts import care_team_users
from server.services.context import services
from server.services.diary import diary_link_status, find_diary_link
from server.services.errors import ApiError, forbidden
from server.services.escalation import ALERTS
from server.services.family_messages import (
    FAMILY,
    TEAM,
    FamilyAuthor,
    Posted,
    family_view,
    mark_read,
    post_from_family,
    post_from_team,
    read_thread,
    staff_names,
    team_view,
    unread_by_team,
)
from server.services.links import LinkLookup, guarded_link_lookup
from server.services.live import LIVE
from server.services.sessions import Principal
from signaling import events as ev

ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
MessageText = Annotated[str, Field(min_length=1, max_length=2000)]
Token = Annotated[str, Field(min_length=1, max_length=200)]


class FamilyMessageBody(Body):
    # The diary page sends its link's token; the family page is signed in to its visit.
    token: Token | None = None
    client_id: ClientId
    text: MessageText
    # When it was written on the device (a message queued offline arrives later).
    written_at: AwareTime | None = None
    # The language the family wrote in (the page's); red-flag words are looked for in it.
    language: Language | None = None


class FamilyThreadBody(Body):
    token: Token | None = None


class TeamMessageBody(Body):
    client_id: ClientId
    text: MessageText


class MarkReadBody(Body):
    # The newest message the reader has on screen; older unread ones are marked too.
    up_to_id: Id


class MessageOut(BaseModel):
    id: Id
    client_id: str
    sender: Literal["family", "team"]
    # The family member's name (from a visit link), the team member's name (team view).
    author: str | None
    text: str
    written_at: dt.datetime
    received_at: dt.datetime
    # When the other side first read it: the team for a family's message, and the other way.
    read_at: dt.datetime | None
    # Team view only.
    read_by: str | None = None
    red_flags: list[str] = []
    after_hours: bool = False
    alert_id: Id | None = None
    via: Literal["diary", "visit"] | None = None


class MessageStored(BaseModel):
    status: Literal["stored", "duplicate"]
    message: MessageOut


class MessageThread(BaseModel):
    items: list[MessageOut]


class MarkedRead(BaseModel):
    marked: int


class UnreadThread(BaseModel):
    patient_id: Id
    patient_name: str
    unread: int
    newest_at: dt.datetime


class UnreadThreads(BaseModel):
    items: list[UnreadThread]


# -- the family -------------------------------------------------------------------------------
async def _family_side(
    request: web.Request, s: AsyncSession, token: str | None, lookup: LinkLookup | None
) -> FamilyAuthor:
    """The family writing or reading: its diary link's patient, or its visit's; else 401/403."""
    svc = services(request)
    who: Principal | None = request.get(PRINCIPAL)
    if token is not None:
        link = await find_diary_link(s, svc.settings, token)
        problem = "unknown" if link is None else diary_link_status(link, svc.clock.now())
        if lookup is not None:
            lookup.status = problem
        if link is None or problem != "active":
            await audit.record(
                s,
                request,
                audit.Actor(None, None, "family", request.remote, None),
                "message",
                "diary_link",
                link.id if link else None,
                patient_id=link.patient_id if link else None,
                outcome="denied",
                detail=problem,
            )
            code, message = LINK_PROBLEMS[problem]
            raise ApiError(401, code, message)
        link.last_used_at = svc.clock.now()
        return FamilyAuthor(link.patient_id, diary_link_id=link.id)
    if who is not None and who.kind == "family" and who.encounter_id is not None:
        encounter = await encounter_for(s, who, who.encounter_id, "encounter.read")
        return FamilyAuthor(encounter.patient_id, join_link_id=who.link_id, name=who.name)
    if who is not None:
        raise ApiError(403, "forbidden", "The team answers from the patient's page, not from here.")
    raise ApiError(401, "unauthenticated", "Open this from your diary or visit link.")


def _guard(
    request: web.Request, token: str | None
) -> AbstractAsyncContextManager[LinkLookup | None]:
    """A diary token is counted like every link lookup; a visit session has nothing to guess."""
    svc = services(request)
    if token is None:
        return nullcontext(None)
    return guarded_link_lookup(svc.attempts, request.remote, svc.clock.now())


def _family_actor(request: web.Request, author: FamilyAuthor) -> audit.Actor:
    return audit.Actor(None, author.join_link_id, "family", request.remote, None)


async def _tell_team(request: web.Request, patient_id: int, posted: Posted) -> None:
    """Push the new message to the care team's consoles (no text: they read it from the
    API, which audits the read), then announce any alert it raised."""
    svc = services(request)
    async with svc.db.begin() as s:
        users = [u.id for u in await care_team_users(s, patient_id)]
    data = {"patient_id": patient_id, "message_id": posted.row.id, "sender": posted.row.sender}
    await request.app[LIVE].notify_staff(ev.FAMILY_MESSAGE, data, users)
    if posted.alert_ids:
        await request.app[ALERTS].announce(posted.alert_ids, page_tier=True)


async def _tell_team_read(request: web.Request, patient_id: int, count: int) -> None:
    """A read receipt, to the care team's consoles: their open threads read it again."""
    async with services(request).db.begin() as s:
        users = [u.id for u in await care_team_users(s, patient_id)]
    data = {"patient_id": patient_id, "read": count}
    await request.app[LIVE].notify_staff(ev.FAMILY_MESSAGE, data, users)


@api(
    "POST",
    "/api/messages",
    summary="The family writes to the care team (diary token or family session); stored "
    "once per client_id; red-flag words or a message outside the team's hours raise an alert",
    tag="messages",
    body=FamilyMessageBody,
    response=MessageStored,
    status=201,
    auth="none",
    errors=(400, 401, 403, 404, 409, 422, 429),
)
async def post_family_message(request: web.Request) -> web.StreamResponse:
    """A resend of a stored message (same client_id and text) answers ``duplicate``, with the
    stored message, and stores nothing."""
    body = await parse_body(request, FamilyMessageBody)
    svc = services(request)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "invalid_field", "Please write a message.", field="text")
    async with _guard(request, body.token) as lookup, svc.db.begin() as s:
        author = await _family_side(request, s, body.token, lookup)
        posted = await post_from_family(
            s,
            author,
            client_id=body.client_id,
            text=text,
            written_at=body.written_at,
            language=body.language,
            now=svc.clock.now(),
            settings=svc.settings,
            actor=_family_actor(request, author),
        )
        out = MessageOut.model_validate(family_view(posted.row))
    if posted.created:
        await _tell_team(request, author.patient_id, posted)
        return respond(MessageStored(status="stored", message=out), 201)
    return respond(MessageStored(status="duplicate", message=out), 201)


@api(
    "POST",
    "/api/messages/thread",
    summary="The family reads its thread with the care team (diary token or family "
    "session); the team's answers are then marked read by the family",
    tag="messages",
    body=FamilyThreadBody,
    response=MessageThread,
    auth="none",
    errors=(400, 401, 403, 404, 422, 429),
)
async def read_family_thread(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, FamilyThreadBody)
    svc = services(request)
    async with _guard(request, body.token) as lookup, svc.db.begin() as s:
        author = await _family_side(request, s, body.token, lookup)
        rows, marked = await read_thread(
            s,
            author.patient_id,
            FAMILY,
            now=svc.clock.now(),
            actor=_family_actor(request, author),
        )
        items = [MessageOut.model_validate(family_view(r)) for r in rows]
    if marked:
        # The team's open threads show "read by the family" without reloading.
        await _tell_team_read(request, author.patient_id, len(marked))
    return respond(MessageThread(items=items))


# -- the care team ----------------------------------------------------------------------------
@api(
    "GET",
    "/api/patients/{patient_id}/messages",
    summary="The patient's thread with the family, for the care team",
    tag="messages",
    response=MessageThread,
    auth="staff",
    errors=(401, 403, 404),
)
async def read_team_thread(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    svc = services(request)
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "message.read")
        rows, _ = await read_thread(
            s, patient_id, TEAM, now=svc.clock.now(), actor=audit.actor_of(request, who)
        )
        names = await staff_names(s, rows)
        items = [MessageOut.model_validate(team_view(r, names)) for r in rows]
    return respond(MessageThread(items=items))


@api(
    "POST",
    "/api/patients/{patient_id}/messages",
    summary="A care-team member answers the family; stored once per client_id",
    tag="messages",
    body=TeamMessageBody,
    response=MessageStored,
    status=201,
    auth="staff",
    errors=(400, 401, 403, 404, 409, 422),
)
async def post_team_message(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, TeamMessageBody)
    text = body.text.strip()
    if not text:
        raise ApiError(422, "invalid_field", "Please write a message.", field="text")
    svc = services(request)
    assert who.user_id is not None
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "message.write")
        posted = await post_from_team(
            s,
            patient_id,
            who.user_id,
            client_id=body.client_id,
            text=text,
            now=svc.clock.now(),
            actor=audit.actor_of(request, who),
        )
        names = await staff_names(s, [posted.row])
        out = MessageOut.model_validate(team_view(posted.row, names))
    if posted.created:
        await _tell_team(request, patient_id, posted)
        return respond(MessageStored(status="stored", message=out), 201)
    return respond(MessageStored(status="duplicate", message=out), 201)


@api(
    "POST",
    "/api/patients/{patient_id}/messages/read",
    summary="The care team has read the family's messages up to this one (the family sees "
    "'read by the team')",
    tag="messages",
    body=MarkReadBody,
    response=MarkedRead,
    auth="staff",
    errors=(400, 401, 403, 404, 422),
)
async def mark_team_read(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    patient_id = int_param(request, "patient_id")
    body = await parse_body(request, MarkReadBody)
    svc = services(request)
    async with svc.db.begin() as s:
        await patient_for(s, who, patient_id, "message.read")
        marked = await mark_read(
            s,
            patient_id,
            TEAM,
            up_to_id=body.up_to_id,
            now=svc.clock.now(),
            actor=audit.actor_of(request, who),
            user_id=who.user_id,
        )
    if marked:
        await _tell_team_read(request, patient_id, len(marked))
    return respond(MarkedRead(marked=len(marked)))


@api(
    "GET",
    "/api/messages/unread",
    summary="The caller's patients whose family wrote messages the team has not read",
    tag="messages",
    response=UnreadThreads,
    auth="staff",
    errors=(401, 403),
)
async def list_unread(request: web.Request) -> web.StreamResponse:
    who = staff(request)
    if not may(who, "message.read"):
        raise forbidden()
    async with services(request).db.begin() as s:
        patient_ids = await my_patient_ids(s, who)
        found = await unread_by_team(s, patient_ids)
        await audit.record(s, request, who, "list", "family_message_thread", None)
    return respond(UnreadThreads(items=[UnreadThread.model_validate(f) for f in found]))

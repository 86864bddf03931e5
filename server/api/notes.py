"""Writing on a visit note: ``PUT .../note/narrative``, ``POST .../note/sign-off`` and
``POST .../note/addenda``. The printable note itself is ``GET .../note`` (``exports``)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel

from server.api.registry import api, int_param, parse_body, respond
from server.api.schemas import Body
from server.core.bounds import Id
from server.edge.auth import principal
from server.services import audit
from server.services.context import services
from server.services.note_record import (
    NoteWritten,
    append_addendum,
    save_narrative,
    sign_note,
)


class NarrativeBody(Body):
    # Its length is checked after line endings are tidied (``encounters.visit_note``).
    narrative: str


class AddendumBody(Body):
    text: str


class PersonOut(BaseModel):
    id: Id
    name: str


class SignOffOut(BaseModel):
    by: PersonOut
    at: dt.datetime


class AddendumOut(BaseModel):
    author: PersonOut
    at: dt.datetime
    text: str


class NoteOut(BaseModel):
    encounter_id: Id
    narrative: str
    narrative_by: PersonOut | None
    narrative_at: dt.datetime | None
    signed: SignOffOut | None
    addenda: list[AddendumOut]


def _person(user_id: int, names: dict[int, str]) -> PersonOut:
    return PersonOut(id=user_id, name=names.get(user_id, ""))


def _out(written: NoteWritten) -> NoteOut:
    note, names = written.note, written.names
    return NoteOut(
        encounter_id=written.encounter_id,
        narrative=note.narrative,
        narrative_by=None if note.narrative_by is None else _person(note.narrative_by, names),
        narrative_at=note.narrative_at,
        signed=None
        if note.sign_off is None
        else SignOffOut(by=_person(note.sign_off.user_id, names), at=note.sign_off.at),
        addenda=[
            AddendumOut(author=_person(a.author_id, names), at=a.at, text=a.text)
            for a in note.addenda
        ],
    )


@api(
    "PUT",
    "/api/encounters/{encounter_id}/note/narrative",
    summary="Write the visit note's narrative (until the note is signed)",
    tag="encounters",
    body=NarrativeBody,
    response=NoteOut,
    errors=(400, 401, 403, 404, 409, 422),
)
async def put_narrative(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    body = await parse_body(request, NarrativeBody)
    svc = services(request)
    async with svc.db.begin() as s:
        written = await save_narrative(
            s,
            svc.clock.now(),
            who,
            encounter_id,
            body.narrative,
            actor=audit.actor_of(request, who),
        )
    return respond(_out(written))


@api(
    "POST",
    "/api/encounters/{encounter_id}/note/sign-off",
    summary="Sign the visit note (once; the visit must be finished and the narrative written)",
    tag="encounters",
    response=NoteOut,
    errors=(401, 403, 404, 409, 422),
)
async def post_sign_off(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    svc = services(request)
    async with svc.db.begin() as s:
        written = await sign_note(
            s, svc.clock.now(), who, encounter_id, actor=audit.actor_of(request, who)
        )
    return respond(_out(written))


@api(
    "POST",
    "/api/encounters/{encounter_id}/note/addenda",
    summary="Add an addendum to a signed visit note",
    tag="encounters",
    body=AddendumBody,
    response=NoteOut,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
)
async def post_addendum(request: web.Request) -> web.StreamResponse:
    who = principal(request)
    encounter_id = int_param(request, "encounter_id")
    body = await parse_body(request, AddendumBody)
    svc = services(request)
    async with svc.db.begin() as s:
        written = await append_addendum(
            s, svc.clock.now(), who, encounter_id, body.text, actor=audit.actor_of(request, who)
        )
    return respond(_out(written), status=201)

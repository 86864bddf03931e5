"""Families come in through a link: ``POST /api/join`` swaps the token for a session."""

from __future__ import annotations

import unicodedata

from aiohttp import web

from server.api.registry import api, parse_body, respond
from server.api.schemas import JoinBody, JoinOut
from server.edge.auth import set_session_cookie
from server.services import audit
from server.services.context import services
from server.services.errors import ApiError
from server.services.links import find_link, guarded_link_lookup, link_status
from server.store.models import Encounter

LINK_PROBLEMS = {
    "unknown": ("link_invalid", "This link is not valid. Please check you copied all of it."),
    "revoked": ("link_revoked", "This link has been cancelled by the care team."),
    "expired": ("link_expired", "This link has expired."),
    "cancelled": ("visit_cancelled", "This visit has been cancelled."),
    "finished": ("visit_finished", "This visit has already ended."),
}


def clean_display_name(raw: str) -> str:
    # Drop control and format characters (bidi overrides, zero-width) that could disguise
    # one participant as another in the clinician's lobby list.
    kept = "".join(ch for ch in raw if unicodedata.category(ch)[0] not in ("C",))
    return " ".join(kept.split())[:80]


@api(
    "POST",
    "/api/join",
    summary="Exchange a family link's token for a session",
    tag="join",
    body=JoinBody,
    response=JoinOut,
    auth="none",
    errors=(400, 401, 422, 429),
)
async def join(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request, JoinBody)
    svc = services(request)
    now = svc.clock.now()
    name = clean_display_name(body.display_name)
    if not name:
        raise ApiError(422, "invalid_field", "Please enter your name.", field="display_name")
    # Counted before the token is looked up; given back unless the token was unknown.
    async with guarded_link_lookup(svc.attempts, request.remote, now) as lookup:
        async with svc.db.begin() as s:
            link = await find_link(s, svc.settings, body.token)
            problem: str | None
            if link is None:
                problem = "unknown"
            else:
                status = link_status(link, now)
                encounter = await s.get(Encounter, link.encounter_id)
                assert encounter is not None
                problem = None if status == "active" else status
                if problem is None and encounter.status in ("cancelled", "finished"):
                    problem = encounter.status
            # Audited as whom the link brings in (family, interpreter, another clinician);
            # an unknown token names nobody, and is audited as a family link's would be.
            role = link.role if link is not None else "family"
            actor = audit.Actor(None, link.id if link else None, role, request.remote, None)
            if problem is not None:
                await audit.record(
                    s,
                    request,
                    actor,
                    "join",
                    "join_link",
                    link.id if link else None,
                    encounter_id=link.encounter_id if link else None,
                    outcome="denied",
                    detail=problem,
                )
            else:
                assert link is not None and encounter is not None
                link.last_used_at = now
                new = await svc.sessions.create_family(
                    s, link, name, now=now, address=request.remote
                )
                await audit.record(
                    s,
                    request,
                    new.principal,
                    "join",
                    "join_link",
                    link.id,
                    patient_id=encounter.patient_id,
                    encounter_id=encounter.id,
                )
        lookup.status = problem or "active"
    if problem is not None:
        code, message = LINK_PROBLEMS[problem]
        raise ApiError(401, code, message)
    assert link is not None
    response = respond(JoinOut(encounter_id=link.encounter_id, csrf_token=new.principal.csrf_token))
    set_session_cookie(request, response, new.cookie_value, max_age=None)
    return response

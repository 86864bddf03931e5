"""Encounter events: one step of a visit's workflow (start, answer, complete, skip, reopen,
finish) applied to its stored state by the pure state machine in ``encounters.workflow``,
stored with its audit row in one transaction, and pushed to the visit's people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from encounters import workflow
from encounters.encounter_state import EncounterState, state_from_dict
from server.services import audit
from server.services.access import encounter_for
from server.services.assessment import compare_assessment
from server.services.errors import ApiError
from server.services.live import LIVE
from server.services.sessions import Principal
from server.services.templates import templates
from server.services.workflow_view import family_view
from signaling import events as ev

# The visit's status as the day list shows it, from the workflow's own status.
STATUS_OF = {"not_started": "planned", "in_progress": "in_progress", "finished": "finished"}


@dataclass(frozen=True)
class EventApplied:
    encounter_id: int
    status: str
    state: EncounterState
    stored: Mapping[str, object]  # the state as stored: every answer and score
    comparison: dict[str, object] | None  # per instrument: flags and change since last visit


async def apply_event(
    s: AsyncSession,
    now: dt.datetime,
    who: Principal,
    encounter_id: int,
    body: Mapping[str, object],
    *,
    actor: audit.Actor,
) -> EventApplied:
    """Apply one event sent by ``who``; a refused event raises and nothing changes."""
    role = "family" if who.role == "family" else "clinician"
    actor_id = f"link:{who.link_id}" if who.role == "family" else f"user:{who.user_id}"
    encounter = await encounter_for(s, who, encounter_id, "encounter.event")
    if encounter.status == "cancelled":
        raise ApiError(409, "visit_cancelled", "This visit has been cancelled.")
    template = templates()[encounter.template]
    state = (
        state_from_dict(encounter.state) if encounter.state else workflow.initial_state(template)
    )
    event = workflow.parse_event(dict(body), role=role, actor_id=actor_id, at=now)
    new_state = workflow.apply(template, state, event)
    encounter.state = workflow.state_to_dict(new_state)
    encounter.status = STATUS_OF.get(str(new_state.status), encounter.status)
    await audit.record_event(
        s,
        now,
        actor,
        "update",
        "encounter",
        encounter.id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        detail=f"{event.type}:{event.step or ''}",
    )
    return EventApplied(
        encounter_id=encounter.id,
        status=encounter.status,
        state=new_state,
        stored=encounter.state,
        comparison=await compare_assessment(s, encounter, new_state),
    )


async def push_step(app: web.Application, applied: EventApplied) -> None:
    """The new state to the visit's room: clinicians get every answer and score with the
    comparison; a family page only which steps are open."""
    live = app[LIVE]
    await live.notify(
        applied.encounter_id,
        ev.STEP,
        {
            "encounter_id": applied.encounter_id,
            "state": applied.stored,
            "comparison": applied.comparison,
        },
        group="hosts",
    )
    await live.notify_guests(
        applied.encounter_id,
        ev.STEP,
        {"encounter_id": applied.encounter_id, "state": family_view(applied.state)},
    )

"""Running mock crisis drills: playing the script, recording what people do (issue 9).

A drill is a visit marked ``is_drill`` plus a ``drills`` row holding the scenario snapshot.
Once started, ``DrillService.run_due(now)`` plays every scenario event whose offset has come:

- a reading goes through ``server.services.readings.accept_message`` and ``publish_readings``, the
  same validation, storage, band check, alert detection and pushes as a device's message on
  the visit's data channel (source ``simulator``, an id derived from the drill and event);
- a diary entry is stored with the drill's id and run through the symptom rules over that
  drill's entries only;
- a prompt is stored and pushed to the family's page.

Each event is played before the player's position (``next_event``) moves on, by
compare-and-set on ``revision``; every play is idempotent (readings and diary entries by
client id, prompts by their unique key), so a crash between the two, a restart, or a second
node plays an event at most once in effect and never skips one.

Alerts a drill raises carry its ``drill_id``: they escalate on the patient's ladder like any
alert while the drill runs, are pushed only to the drill's coordinator and clinician, never
page anybody by email or text, and never enter the response figures.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.drill_json import from_snapshot
from encounters.scenarios import DiaryEvent, PromptEvent, ReadingEvent, TimelineEvent
from encounters.scenarios.translated import prompt_translations
from server.services import audit
from server.services.alerts import detect_in_diary
from server.services.context import SERVICES
from server.services.escalation import ALERTS
from server.services.live import LIVE
from server.services.readings import Enterer, accept_message, publish_readings
from server.store.between_visits import DiaryEntry
from server.store.db import Database
from server.store.drills import Drill, DrillEvent
from signaling import events as ev

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
SIMULATOR = Enterer(user_id=None, link_id=None, role="simulator")
SYSTEM = audit.Actor(None, None, "system", None, None)


def client_id(drill_id: int, event_id: str) -> str:
    """The id a played reading or diary entry is stored under (stored once per drill)."""
    return f"drill-{drill_id}-{event_id}"[:64]


def event_payload(row: DrillEvent) -> dict[str, Any]:
    """A recorded drill event as pages and pushes show it."""
    return {
        "id": row.id,
        "drill_id": row.drill_id,
        "at": row.at.isoformat(),
        "kind": row.kind,
        "actor_role": row.actor_role,
        **row.data,
    }


async def add_event(
    s: AsyncSession,
    drill: Drill,
    kind: str,
    data: dict[str, Any],
    *,
    at: dt.datetime,
    role: str,
    user_id: int | None = None,
    link_id: int | None = None,
    key: str | None = None,
) -> DrillEvent | None:
    """Record one drill event; None when ``key`` was recorded already (a replay)."""
    if key is not None:
        found = await s.scalar(
            select(DrillEvent.id).where(DrillEvent.drill_id == drill.id, DrillEvent.key == key)
        )
        if found is not None:
            return None
    row = DrillEvent(
        drill_id=drill.id,
        at=at,
        kind=kind,
        key=key,
        actor_role=role,
        actor_user_id=user_id,
        actor_link_id=link_id,
        data=data,
    )
    s.add(row)
    await s.flush()
    return row


class DrillService:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        # One round at a time on this node: the player's own round and one asked for directly
        # (a drill started, or a test) never interleave, so when a round returns, every event
        # due at its ``now`` has been played. Other nodes are kept apart by the revision check.
        self._round = asyncio.Lock()

    @property
    def _db(self) -> Database:
        return self.app[SERVICES].db

    async def _push_room(self, drill: Drill, payload: dict[str, Any], group: str) -> None:
        await self.app[LIVE].notify(drill.encounter_id, ev.DRILL, payload, group=group)

    # -- the player -------------------------------------------------------------------------
    async def run_due(self, now: dt.datetime, drill_id: int | None = None) -> int:
        """Play every event that is due at ``now`` in running drills; returns how many."""
        async with self._round:
            return await self._run_due(now, drill_id)

    async def _run_due(self, now: dt.datetime, drill_id: int | None) -> int:
        async with self._db.begin() as s:
            query = select(Drill).where(Drill.status == "running")
            if drill_id is not None:
                query = query.where(Drill.id == drill_id)
            drills = (await s.scalars(query.order_by(Drill.id).limit(BATCH_SIZE))).all()
            for drill in drills:
                s.expunge(drill)
        played = 0
        for drill in drills:
            played += await self._advance(drill, now)
        return played

    async def _advance(self, drill: Drill, now: dt.datetime) -> int:
        scenario, _steps = from_snapshot(drill.scenario)
        assert drill.started_at is not None
        events = scenario.events
        index, revision, played = drill.next_event, drill.revision, 0
        while index < len(events):
            event = events[index]
            if drill.started_at + dt.timedelta(seconds=event.at_s) > now:
                break
            await self._play(drill, event, now)
            async with self._db.begin() as s:
                moved = await s.execute(
                    update(Drill)
                    .where(
                        Drill.id == drill.id, Drill.revision == revision, Drill.status == "running"
                    )
                    .values(next_event=index + 1, revision=revision + 1)
                    .execution_options(synchronize_session=False)
                )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                break  # finished meanwhile, or another node moved it on: it plays from there
            index, revision, played = index + 1, revision + 1, played + 1
        return played

    async def _play(self, drill: Drill, event: TimelineEvent, now: dt.datetime) -> None:
        if isinstance(event, ReadingEvent):
            await self._play_reading(drill, event, now)
        elif isinstance(event, DiaryEvent):
            await self._play_diary(drill, event, now)
        elif isinstance(event, PromptEvent):
            await self._play_prompt(drill, event, now)

    async def _play_reading(self, drill: Drill, event: ReadingEvent, now: dt.datetime) -> None:
        message: dict[str, Any] = {
            "id": client_id(drill.id, event.event_id),
            "kind": event.kind,
            "value": event.value,
            "unit": event.unit,
            "source": "simulator",
            "taken_at": now.isoformat(),
        }
        if event.value2 is not None:
            message["value2"] = event.value2
        services = self.app[SERVICES]
        outcome = await accept_message(
            services.db,
            services.clock,
            encounter_id=drill.encounter_id,
            who=SIMULATOR,
            text=json.dumps(message),
        )
        if "nack" in outcome.reply:
            # A scenario that loaded cleanly should never be refused; say which event.
            logger.warning(
                "drill %s reading %s refused: %s",
                drill.id,
                event.event_id,
                outcome.reply.get("code"),
            )
            return
        await publish_readings(self.app, drill.encounter_id, outcome)

    async def _play_diary(self, drill: Drill, event: DiaryEvent, now: dt.datetime) -> None:
        cid = client_id(drill.id, event.event_id)
        queued: list[int] = []
        try:
            async with self._db.begin() as s:
                recorded = await add_event(
                    s,
                    drill,
                    "diary",
                    {
                        "event_id": event.event_id,
                        "scores": dict(event.scores),
                        "worry": event.worry,
                    },
                    at=now,
                    role="simulator",
                    key=event.event_id,
                )
                if recorded is None:
                    return
                s.add(
                    DiaryEntry(
                        patient_id=drill.patient_id,
                        link_id=None,
                        client_id=cid,
                        recorded_at=now,
                        received_at=now,
                        answered_by="family",
                        scores=dict(event.scores),
                        worry=event.worry,
                        is_drill=True,
                        drill_id=drill.id,
                    )
                )
                await s.flush()
                await audit.record_event(
                    s,
                    now,
                    SYSTEM,
                    "create",
                    "diary_entry",
                    cid,
                    patient_id=drill.patient_id,
                    encounter_id=drill.encounter_id,
                    detail="drill",
                )
                alerts = await detect_in_diary(s, drill.patient_id, now, now=now, drill_id=drill.id)
                queued = [a.id for a in alerts]
                payload = event_payload(recorded)
        except IntegrityError:
            return  # played at the same moment elsewhere: stored once there
        await self._push_room(drill, payload, "hosts")
        if queued:
            await self.app[ALERTS].announce(queued, page_tier=True)

    async def _play_prompt(self, drill: Drill, event: PromptEvent, now: dt.datetime) -> None:
        try:
            async with self._db.begin() as s:
                recorded = await add_event(
                    s,
                    drill,
                    "prompt",
                    {"event_id": event.event_id, "text": event.text},
                    at=now,
                    role="simulator",
                    key=event.event_id,
                )
                if recorded is None:
                    return
                payload = event_payload(recorded)
        except IntegrityError:
            return
        # The family's page shows the prompt in its own language; a staff page reads the
        # drill back through the API, in the language that page is in.
        payload["texts"] = prompt_translations(drill.scenario_id, event.event_id)
        await self._push_room(drill, payload, "record")

    async def announce_event(self, drill: Drill, row: DrillEvent) -> None:
        """Tell the call about something a person recorded (a step, an answer, a note)."""
        await self._push_room(drill, event_payload(row), "record")


DRILLS = web.AppKey("drills", DrillService)

"""Storing device readings: one data-channel message in, an ack or a nack out.

The domain (``encounters.readings``) validates and decodes; this module stores each reading
once (a resend with the same id is acknowledged again and stored once), audits it, and says
what to push to the clinician: the stored readings and any band the patient's values cross.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.detection import samples_of, vital_crossings
from encounters.readings import (
    CLIENT_ID_CHARS,
    Reading,
    ReadingError,
    is_client_id,
    parse_message,
    reading_to_dict,
)
from server.core.clock import Clock
from server.core.storable import find_unstorable
from server.services import audit
from server.services.alerts import detect_after_readings
from server.services.careplans import current_plan
from server.services.escalation import ALERTS
from server.services.live import LIVE
from server.store.db import Database
from server.store.drills import drill_of
from server.store.models import Encounter
from server.store.models import Reading as ReadingRow
from signaling import events as ev

MAX_MESSAGE_BYTES = 4096  # a message over 4 KiB is nacked unread (docs/api.md)
# Readings taken a little before the booked start (the family joined early) still belong to
# the visit; anything earlier is refused as not of this visit.
EARLY_MARGIN = dt.timedelta(hours=1)


@dataclass
class Outcome:
    reply: dict[str, Any]
    stored: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # alerts raised for the coordinator's queue


@dataclass(frozen=True)
class Enterer:
    user_id: int | None
    link_id: int | None
    role: str | None


def nack(client_id: object, code: str, message: str) -> Outcome:
    return Outcome(
        {"nack": client_id if isinstance(client_id, str) else None, "code": code, "error": message}
    )


def _same(row: ReadingRow, reading: Reading) -> bool:
    stored = (row.value, row.value2, row.unit, row.absent_reason, row.absent_reason2)
    return stored == (
        reading.value,
        reading.value2,
        reading.unit,
        reading.absent_reason,
        reading.absent_reason2,
    )


def row_to_dict(row: ReadingRow) -> dict[str, Any]:
    """A stored reading as the API sends it: the shape of ``reading_to_dict``, with where and
    when it was received, the drill mark and whether it is practice (a drill's, or the
    simulator's), never a real measurement."""
    value: Any = row.value
    extra: dict[str, Any] = {}
    if row.kind == "blood_pressure":
        has_value = row.value is not None or row.value2 is not None
        value = {"systolic": row.value, "diastolic": row.value2} if has_value else None
        reasons = (("systolic", row.absent_reason), ("diastolic", row.absent_reason2))
        extra["absent_reasons"] = {name: reason for name, reason in reasons if reason}
    return {
        "id": row.client_id,
        "kind": row.kind,
        "value": value,
        "unit": row.unit,
        "taken_at": row.taken_at.isoformat(),
        "received_at": row.received_at.isoformat(),
        "source": row.source,
        "time_source": row.time_source,
        "absent_reason": None if value is not None else row.absent_reason,
        **extra,
        "is_drill": row.is_drill,
        "is_practice": is_practice(row.source, row.is_drill),
        "loinc": row.loinc.split(","),
        "encounter_id": row.encounter_id,
        "details": row.details or {},
        "device": {"model": row.device_model, "id": row.device_id}
        if row.device_model or row.device_id
        else None,
    }


def is_practice(source: str, is_drill: bool) -> bool:
    """A simulator's or a drill's reading: practice, never a real measurement."""
    return source == "simulator" or is_drill


def device_of(obj: object) -> tuple[str | None, str | None]:
    """The device a page names beside a reading (model and id, from Web Bluetooth); optional,
    and never trusted for more than a label: at most 120 characters each."""
    device = obj.get("device") if isinstance(obj, dict) else None
    if not isinstance(device, dict):
        return None, None
    model, ident = device.get("model"), device.get("id")
    return (
        model[:120] if isinstance(model, str) and model else None,
        ident[:120] if isinstance(ident, str) and ident else None,
    )


async def _store(
    s: AsyncSession,
    encounter: Encounter,
    readings: list[Reading],
    who: Enterer,
    now: dt.datetime,
    device: tuple[str | None, str | None] = (None, None),
) -> list[Reading]:
    fresh = []
    for reading in readings:
        existing = await s.scalar(
            select(ReadingRow).where(
                ReadingRow.patient_id == encounter.patient_id,
                ReadingRow.client_id == reading.client_id,
                ReadingRow.kind == reading.kind,
            )
        )
        if existing is not None:
            if not _same(existing, reading):
                raise ReadingError(
                    "This id was already used for a different reading.",
                    code="id_reused",
                    client_id=reading.client_id,
                )
            continue
        details = reading_to_dict(reading)["details"]
        s.add(
            ReadingRow(
                patient_id=encounter.patient_id,
                encounter_id=encounter.id,
                client_id=reading.client_id,
                kind=reading.kind,
                value=reading.value,
                value2=reading.value2,
                unit=reading.unit,
                loinc=",".join(reading.loinc),
                absent_reason=reading.absent_reason,
                absent_reason2=reading.absent_reason2,
                source=reading.source,
                device_model=device[0],
                device_id=device[1],
                taken_at=reading.taken_at,
                received_at=now,
                time_source=reading.time_source,
                entered_by_user_id=who.user_id,
                entered_by_link_id=who.link_id,
                details=details or None,
                is_drill=encounter.is_drill,
            )
        )
        fresh.append(reading)
    if fresh:
        await audit.record_event(
            s,
            now,
            audit.Actor(who.user_id, who.link_id, who.role, None, None),
            "create",
            "reading",
            fresh[0].client_id,
            patient_id=encounter.patient_id,
            encounter_id=encounter.id,
        )
    return fresh


_SNIFFED_ID = re.compile(r'"id"\s*:\s*"(' + CLIENT_ID_CHARS + ')"')


def _sniff_id(text: str) -> str | None:
    """A message's id read from its text, for a message that cannot be parsed as a whole."""
    found = _SNIFFED_ID.search(text)
    return found.group(1) if found else None


def _usable_id(value: object) -> str | None:
    """An id that can be echoed in a nack: a short plain string, else none."""
    return value if is_client_id(value) else None


async def accept_message(
    db: Database, clock: Clock, *, encounter_id: int, who: Enterer, text: str
) -> Outcome:
    """Validate, store once and answer one message of the ``readings`` data channel."""
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        # Unread, but named when its id can be seen, so the page can drop it from its queue.
        return nack(_sniff_id(text), "too_large", "The message is over 4 KiB.")
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return nack(_sniff_id(text), "bad_message", "The message is not JSON.")
    except RecursionError:
        return nack(_sniff_id(text), "bad_message", "The message is nested too deeply.")
    client_id = _usable_id(obj.get("id")) if isinstance(obj, dict) else None
    problem = find_unstorable(obj)
    if problem is not None:  # a device name with a NUL, say: refused, as over HTTP
        if problem.code == "too_deep":
            return nack(client_id, "bad_message", problem.message)
        outcome = nack(client_id, problem.code, problem.message)
        if problem.field:
            outcome.reply["field"] = problem.field
        return outcome
    now = clock.now()
    for attempt in range(2):
        try:
            async with db.begin() as s:
                encounter = await s.get(Encounter, encounter_id)
                if encounter is None:
                    return nack(client_id, "no_visit", "This visit does not exist any more.")
                readings = parse_message(
                    obj, now=now, not_before=encounter.starts_at - EARLY_MARGIN
                )
                fresh = await _store(s, encounter, readings, who, now, device_of(obj))
                is_drill = encounter.is_drill
                queued = []
                drill_id = await drill_of(s, encounter)
                # A drill's readings raise that drill's alerts only; a visit marked as a drill
                # without a drill of its own (booked from a drill alert) raises none.
                if not is_drill or drill_id is not None:
                    queued = await detect_after_readings(
                        s,
                        encounter.patient_id,
                        [sample for r in fresh for sample in samples_of(r)],
                        now=now,
                        drill_id=drill_id,
                    )
                # The in-call check asks what the queue's detection asks: the patient's own
                # bands, the home defaults where the plan is silent, nothing when monitoring
                # is off.
                plan = await current_plan(s, encounter.patient_id)
            break
        except ReadingError as exc:
            return nack(exc.client_id or client_id, exc.code, exc.message)
        except IntegrityError:
            # The same message raced itself in on two paths: the second finds it stored.
            if attempt:
                raise
    outcome = Outcome(
        {"ack": readings[0].client_id if readings else client_id}, queued=[row.id for row in queued]
    )
    for reading in fresh:
        item = reading_to_dict(reading)
        item["encounter_id"] = encounter_id
        item["is_drill"] = is_drill
        item["is_practice"] = is_practice(reading.source, is_drill)
        outcome.stored.append(item)
        for crossing in vital_crossings(samples_of(reading), plan):
            outcome.alerts.append(
                {
                    "kind": "vital_out_of_band",
                    "severity": "high",
                    "reading_id": reading.client_id,
                    "parameter": crossing.sample.parameter,
                    "direction": crossing.direction,
                    "value": crossing.sample.value,
                    "unit": crossing.unit,
                    "summary": crossing.reason,
                    "encounter_id": encounter_id,
                    "is_drill": is_drill,
                }
            )
    return outcome


async def publish_readings(app: web.Application, encounter_id: int, outcome: Outcome) -> None:
    """Stored readings and in-call band alerts to the visit's room; alerts for the queue to
    the care team. One place, whether the reading came on the data channel, over HTTP or from
    a drill's script."""
    live = app[LIVE]
    for item in outcome.stored:
        await live.notify(encounter_id, ev.READING, item, group="admitted")
    for alert in outcome.alerts:
        await live.notify(encounter_id, ev.ALERT, alert, group="hosts")
    if outcome.queued:
        await app[ALERTS].announce(outcome.queued, page_tier=True)

"""Storing device readings: one data-channel message in, an ack or a nack out.

The domain (``encounters.readings``) validates and decodes; this module stores each reading
once (a resend with the same id is acknowledged again and stored once), audits it, and says
what to push to the clinician: the stored readings and any band the patient's values cross.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.call_roles import reaches_record
from encounters.detection import samples_of, vital_crossings
from encounters.readings import (
    CLIENT_ID_CHARS,
    Reading,
    ReadingError,
    check_not_before,
    is_client_id,
    parse_message,
    reading_to_dict,
)
from server.core.clock import Clock
from server.core.logs import request_id_var
from server.core.storable import find_unstorable
from server.services import audit
from server.services.alerts import detect_after_readings
from server.services.escalation import ALERTS
from server.services.live import LIVE
from server.services.visit_context import VisitContext, VisitContexts
from server.store.db import Database, is_item_fault
from server.store.group_commit import GroupCommit
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


def _row(context: VisitContext, reading: Reading, submission: _Submission) -> dict[str, Any]:
    details = reading_to_dict(reading)["details"]
    return {
        "patient_id": context.patient_id,
        "encounter_id": context.encounter_id,
        "client_id": reading.client_id,
        "kind": reading.kind,
        "value": reading.value,
        "value2": reading.value2,
        "unit": reading.unit,
        "loinc": ",".join(reading.loinc),
        "absent_reason": reading.absent_reason,
        "absent_reason2": reading.absent_reason2,
        "source": reading.source,
        "device_model": submission.device[0],
        "device_id": submission.device[1],
        "taken_at": reading.taken_at,
        "received_at": submission.now,
        "time_source": reading.time_source,
        "entered_by_user_id": submission.who.user_id,
        "entered_by_link_id": submission.who.link_id,
        "details": details or None,
        "is_drill": context.is_drill,
    }


@dataclass(frozen=True)
class _Submission:
    """One validated message waiting for its batch."""

    encounter_id: int
    who: Enterer
    readings: list[Reading]
    device: tuple[str | None, str | None]
    now: dt.datetime
    request_id: str | None


@dataclass
class _Accepted:
    """A submission the batch stores (or finds stored): what its outcome is built from."""

    submission: _Submission
    context: VisitContext
    fresh: list[Reading]
    queued: list[int] = field(default_factory=list)
    id_reused: bool = False


class ReadingsWriter:
    """Stores batches of readings (``GroupCommit``'s flush): per batch the visits' contexts
    from this process's cache (a query only for visits not cached, or changed), one query
    for readings already stored under the same ids, one INSERT of the new ones, one audit
    row per visit and enterer, and detection once per patient over all its new readings (a
    query only when a value is out of band). Per process, beside the database it writes to."""

    def __init__(self) -> None:
        self.contexts = VisitContexts()

    async def flush(
        self, s: AsyncSession, batch: Sequence[_Submission]
    ) -> list[Outcome | Exception]:
        contexts = await self.contexts.load(s, {sub.encounter_id for sub in batch})
        results: list[Outcome | Exception | _Accepted] = []
        for sub in batch:
            context = contexts.get(sub.encounter_id)
            if context is None:
                results.append(ReadingError("This visit does not exist any more.", code="no_visit"))
                continue
            try:
                check_not_before(sub.readings, context.starts_at - EARLY_MARGIN)
            except ReadingError as exc:
                results.append(exc)
                continue
            results.append(_Accepted(sub, context, []))
        accepted = [r for r in results if isinstance(r, _Accepted)]
        await self._store(s, accepted)
        await self._detect(s, accepted)
        return [self._outcome(r) if isinstance(r, _Accepted) else r for r in results]

    async def _store(self, s: AsyncSession, accepted: list[_Accepted]) -> None:
        """Each reading once per (patient, id, kind): a resend is acknowledged again and
        stored once, an id reused for a different reading refuses its whole message."""
        keys = {
            (a.context.patient_id, r.client_id, r.kind)
            for a in accepted
            for r in a.submission.readings
        }
        stored: dict[tuple[int, str, str], ReadingRow] = {}
        if keys:
            rows = await s.scalars(
                select(ReadingRow).where(
                    ReadingRow.patient_id.in_({k[0] for k in keys}),
                    ReadingRow.client_id.in_({k[1] for k in keys}),
                )
            )
            stored = {(r.patient_id, r.client_id, r.kind): r for r in rows}
        # Readings new in this batch, by key: a second message with the same id in the same
        # batch meets the first as it would meet a stored row.
        new: dict[tuple[int, str, str], Reading] = {}
        inserts: list[dict[str, Any]] = []
        for item in accepted:
            fresh = []
            for reading in item.submission.readings:
                key = (item.context.patient_id, reading.client_id, reading.kind)
                row, earlier = stored.get(key), new.get(key)
                if (
                    row is not None
                    and not _same(row, reading)
                    or (earlier is not None and not _same_reading(earlier, reading))
                ):
                    item.id_reused = True
                    break
                if row is None and earlier is None:
                    fresh.append(reading)
            else:
                item.fresh = fresh
                for reading in fresh:
                    new[(item.context.patient_id, reading.client_id, reading.kind)] = reading
                    inserts.append(_row(item.context, reading, item.submission))
        if inserts:
            await s.execute(insert(ReadingRow), inserts)
        await self._audit(s, [a for a in accepted if a.fresh])

    async def _audit(self, s: AsyncSession, stored: list[_Accepted]) -> None:
        """One audit row per visit and enterer for the batch, naming the first reading and
        how many were stored."""
        groups: dict[tuple[int, Enterer], list[_Accepted]] = {}
        for item in stored:
            groups.setdefault((item.context.encounter_id, item.submission.who), []).append(item)
        for (encounter_id, who), items in groups.items():
            first = items[0]
            count = sum(len(i.fresh) for i in items)
            token = request_id_var.set(first.submission.request_id)
            try:
                await audit.record_event(
                    s,
                    first.submission.now,
                    audit.Actor(who.user_id, who.link_id, who.role, None, None),
                    "create",
                    "reading",
                    first.fresh[0].client_id,
                    patient_id=first.context.patient_id,
                    encounter_id=encounter_id,
                    detail=f"{count} readings" if count > 1 else None,
                )
            finally:
                request_id_var.reset(token)

    async def _detect(self, s: AsyncSession, accepted: list[_Accepted]) -> None:
        """The queue's detection once per patient (and drill) over the batch's new readings:
        one alert per parameter and direction, as one reading after another would raise."""
        groups: dict[tuple[int, int | None], list[_Accepted]] = {}
        for item in accepted:
            if item.fresh and item.context.raises_alerts:
                key = (item.context.patient_id, item.context.drill_id)
                groups.setdefault(key, []).append(item)
        for (patient_id, drill_id), items in groups.items():
            samples = [sample for i in items for r in i.fresh for sample in samples_of(r)]
            raised = await detect_after_readings(
                s,
                patient_id,
                samples,
                now=max(i.submission.now for i in items),
                drill_id=drill_id,
                plan=items[0].context.plan,
            )
            # Announced once, with the message that carried the first reading it names.
            for alert in raised:
                evidence = set(alert.evidence)
                owner = next(
                    (i for i in items if any(r.client_id in evidence for r in i.fresh)), items[0]
                )
                owner.queued.append(alert.id)

    def _outcome(self, item: _Accepted) -> Outcome | Exception:
        if item.id_reused:
            return ReadingError(
                "This id was already used for a different reading.",
                code="id_reused",
                client_id=item.submission.readings[0].client_id,
            )
        sub, context = item.submission, item.context
        outcome = Outcome({"ack": sub.readings[0].client_id}, queued=item.queued)
        for reading in item.fresh:
            entry = reading_to_dict(reading)
            entry["encounter_id"] = context.encounter_id
            entry["is_drill"] = context.is_drill
            entry["is_practice"] = is_practice(reading.source, context.is_drill)
            outcome.stored.append(entry)
            # The in-call check asks what the queue's detection asks: the patient's own bands,
            # the home defaults where the plan is silent, nothing when monitoring is off.
            for crossing in vital_crossings(samples_of(reading), context.plan):
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
                        "encounter_id": context.encounter_id,
                        "is_drill": context.is_drill,
                    }
                )
        return outcome


def _same_reading(a: Reading, b: Reading) -> bool:
    fields = ("value", "value2", "unit", "absent_reason", "absent_reason2")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


def readings_batcher(db: Database) -> GroupCommit[_Submission, Outcome]:
    """The process's batcher of readings for ``db``."""

    def make() -> GroupCommit[_Submission, Outcome]:
        return GroupCommit(db.begin, ReadingsWriter().flush, retryable=is_item_fault)

    return db.batcher("readings", make)


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
    if who.link_id is not None and not reaches_record(who.role or ""):
        # An interpreter or a guest clinician is in the call only: nothing into the record.
        return nack(_sniff_id(text), "forbidden", "Only the family can send readings.")
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
    try:
        # Validated before it joins a batch: a bad message never reaches the others' batch.
        readings = parse_message(obj, now=now)
    except ReadingError as exc:
        return nack(exc.client_id or client_id, exc.code, exc.message)
    submission = _Submission(encounter_id, who, readings, device_of(obj), now, request_id_var.get())
    batcher = readings_batcher(db)
    try:
        try:
            return await batcher.submit(submission)
        except IntegrityError:
            # The same message raced itself in on two paths (or nodes): the second attempt
            # finds it stored.
            return await batcher.submit(submission)
    except ReadingError as exc:
        return nack(exc.client_id or client_id, exc.code, exc.message)


async def publish_readings(app: web.Application, encounter_id: int, outcome: Outcome) -> None:
    """Stored readings and in-call band alerts to the visit's room; alerts for the queue to
    the care team. One place, whether the reading came on the data channel, over HTTP or from
    a drill's script."""
    live = app[LIVE]
    for item in outcome.stored:
        await live.notify(encounter_id, ev.READING, item, group="record")
    for alert in outcome.alerts:
        await live.notify(encounter_id, ev.ALERT, alert, group="hosts")
    if outcome.queued:
        await app[ALERTS].announce(outcome.queued, page_tier=True)

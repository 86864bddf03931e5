"""Recording a visit with consent (issue 20): start, stop, withdraw, list, play, expire.

The rule (``encounters.recording``): only while the visit runs, with every consent step
completed with recording agreed, and no withdrawal since. The media worker that carries the
visit writes the files (media/recording.py), sealed under a key derived from the
deployment's recording key (media/sealed.py); the database knows the recording's token,
its parts and when its retention ends. Every start, stop, withdrawal, list, play and
deletion is audited; a play decrypts on the way out, never to disk.

The live part is declared here as ``RecordingMedia`` and supplied by ``server.realtime``
(``app[RECORDING_MEDIA]``), so this module never imports the realtime layer.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from encounters import recording as rule
from encounters.encounter_state import stored_state
from media.sealed import open_sealed
from server.core.crypto import recording_master_key
from server.core.settings import Settings
from server.services import audit
from server.services.access import encounter_for
from server.services.audit import Actor
from server.services.context import SERVICES
from server.services.errors import ApiError, not_found
from server.services.live import LIVE, Live
from server.services.sessions import Principal
from server.store.db import Database
from server.store.models import Encounter
from server.store.recordings import Recording, RecordingWithdrawal

logger = logging.getLogger(__name__)

SUFFIX = ".webm.sealed"
_PART_FILE = re.compile(r"^[0-9a-f]{32}-(\d{1,4})\.webm\.sealed$")
# The retention job's actor in the audit log.
SYSTEM = Actor(user_id=None, link_id=None, role="system", address=None, user_agent=None)
# Recordings the retention job deletes per round at most (the rest wait for the next).
DELETE_BATCH = 50
# No call runs this long: a recording still marked running after it was lost.
LOST_AFTER = dt.timedelta(hours=12)
EVENT = "recording"


class MediaRefused(Exception):
    """The media side could not start a recording (nobody in the call, already recording)."""


class RecordingMedia(Protocol):
    async def start(self, encounter_id: int, directory: str, name: str, key: bytes) -> None:
        """Record the visit's call into ``{directory}/{name}-{n}.webm.sealed``; raises
        MediaRefused when it cannot."""
        ...

    async def stop(self, encounter_id: int) -> list[dict[str, Any]] | None:
        """Finish the recording; its parts, each with the ``role`` of whose it is, or None
        when the call was not recording (or its worker is gone)."""
        ...

    def is_recording(self, encounter_id: int) -> bool: ...


RECORDING_MEDIA = web.AppKey("recording_media", RecordingMedia)


@dataclass(frozen=True)
class Part:
    index: int
    role: str
    kinds: tuple[str, ...]
    offset_ms: int
    duration_ms: int | None


@dataclass(frozen=True)
class RecordingView:
    recording_id: int
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    stop_reason: str | None
    running: bool
    delete_after: dt.datetime | None
    deleted: bool
    parts: tuple[Part, ...]


def _view(row: Recording) -> RecordingView:
    parts = tuple(
        Part(
            index=n,
            role=str(p.get("role") or "participant"),
            kinds=tuple(p.get("kinds") or ()),
            offset_ms=int(p.get("offset_ms") or 0),
            duration_ms=p.get("duration_ms"),
        )
        for n, p in enumerate(row.parts or [], start=1)
    )
    return RecordingView(
        recording_id=row.id,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        stop_reason=row.stop_reason,
        running=row.stopped_at is None,
        delete_after=row.delete_after,
        deleted=row.deleted_at is not None,
        parts=parts if row.deleted_at is None else (),
    )


def master_key(settings: Settings) -> bytes:
    key = recording_master_key(settings.recording_key, settings.secret_key)
    if key is None:
        raise ApiError(409, "recording_unavailable", "Recording is not set up on this server.")
    return key


async def _withdrawals(s: AsyncSession, encounter_id: int) -> list[dt.datetime]:
    rows = await s.scalars(
        select(RecordingWithdrawal.withdrawn_at).where(
            RecordingWithdrawal.encounter_id == encounter_id
        )
    )
    return list(rows.all())


async def _running(s: AsyncSession, encounter_id: int) -> Recording | None:
    return await s.scalar(
        select(Recording)
        .where(Recording.encounter_id == encounter_id, Recording.stopped_at.is_(None))
        .order_by(Recording.id.desc())
        .limit(1)
    )


def refusal_error(refused: rule.Refusal) -> ApiError:
    """The 409 for a start the consent rule refuses (each message a literal: translated)."""
    if refused is rule.Refusal.NOT_IN_PROGRESS:
        return ApiError(
            409, refused.value, "A recording can run only while the visit is in progress."
        )
    if refused is rule.Refusal.WITHDRAWN:
        return ApiError(
            409,
            refused.value,
            "Someone in the call withdrew their agreement to recording. Reopen the consent "
            "step and record their agreement again before recording.",
        )
    return ApiError(
        409,
        refused.value,
        "Nothing is recorded without consent: complete the consent step with everyone's "
        "agreement to recording first.",
    )


class Recordings:
    """The use cases, over the database, the settings, the call's media and the live room."""

    def __init__(self, app: web.Application) -> None:
        svc = app[SERVICES]
        self.db: Database = svc.db
        self.settings: Settings = svc.settings
        self.clock = svc.clock
        self.media: RecordingMedia = app[RECORDING_MEDIA]
        self.live: Live = app[LIVE]

    @property
    def directory(self) -> Path:
        return self.settings.recordings_path

    # -- start, stop, withdraw ------------------------------------------------------------

    async def start(self, request: web.Request, who: Principal, encounter_id: int) -> RecordingView:
        key = master_key(self.settings)
        async with self.db.begin() as s:
            encounter = await encounter_for(s, who, encounter_id, "recording.control")
            patient_id = encounter.patient_id
            state = stored_state(encounter.state)
            refused = (
                rule.Refusal.NOT_IN_PROGRESS
                if state is None
                else rule.refusal(state, await _withdrawals(s, encounter_id))
            )
        if refused is not None:
            await self._audit_refusal(request, who, encounter_id, patient_id, refused.value)
            raise refusal_error(refused)
        await self.reconcile(encounter_id)
        if self.media.is_recording(encounter_id):
            raise ApiError(409, "recording_running", "This visit is being recorded already.")
        token = secrets.token_hex(16)
        try:
            await self.media.start(encounter_id, str(self.directory), token, key)
        except MediaRefused:
            await self._audit_refusal(request, who, encounter_id, patient_id, "not_in_call")
            raise ApiError(
                409, "not_in_call", "Recording needs the call to be running: join the call first."
            ) from None
        try:
            async with self.db.begin() as s:
                row = Recording(
                    encounter_id=encounter_id,
                    token=token,
                    started_by=who.user_id,
                    started_at=self.clock.now(),
                    parts=[],
                )
                s.add(row)
                await s.flush()
                await audit.record(
                    s,
                    request,
                    who,
                    "recording.start",
                    "recording",
                    row.id,
                    patient_id=patient_id,
                    encounter_id=encounter_id,
                )
                view = _view(row)
        except BaseException:
            # No row, no recording: nothing may be kept that no retention would ever delete.
            await self.media.stop(encounter_id)
            for path in self.directory.glob(f"{token}-*{SUFFIX}"):
                path.unlink(missing_ok=True)
            raise
        await self.live.notify(encounter_id, EVENT, {"active": True}, group="admitted")
        return view

    async def stop_for(
        self, request: web.Request, who: Principal, encounter_id: int
    ) -> RecordingView | None:
        """The clinician stops the recording."""
        async with self.db.begin() as s:
            await encounter_for(s, who, encounter_id, "recording.control")
        return await self.stop(encounter_id, "clinician", audit.actor_of(request, who))

    async def withdraw(self, request: web.Request, who: Principal, encounter_id: int) -> bool:
        """A participant withdraws their agreement to recording: recorded, and any running
        recording stops at once. True if one was running."""
        now = self.clock.now()
        async with self.db.begin() as s:
            if who.kind == "staff":
                encounter = await encounter_for(s, who, encounter_id, "recording.control")
            else:
                # The family, or anyone else in the call on a link to this visit.
                encounter_row = await s.get(Encounter, encounter_id)
                if encounter_row is None or who.encounter_id != encounter_id:
                    raise not_found("That visit")
                encounter = encounter_row
            s.add(RecordingWithdrawal(encounter_id=encounter_id, withdrawn_at=now, role=who.role))
            await audit.record(
                s,
                request,
                who,
                "recording.withdraw",
                "encounter",
                encounter_id,
                patient_id=encounter.patient_id,
                encounter_id=encounter_id,
            )
        stopped = await self.stop(encounter_id, "withdrawn", audit.actor_of(request, who))
        if stopped is None:
            # Nothing ran: the others still hear that recording is not allowed now.
            await self.live.notify(
                encounter_id, EVENT, {"active": False, "reason": "withdrawn"}, group="admitted"
            )
        return stopped is not None

    async def stop(self, encounter_id: int, reason: str, actor: Actor) -> RecordingView | None:
        """Stop the visit's recording (if one runs) and store what it wrote; None if none."""
        parts = await self.media.stop(encounter_id)
        now = self.clock.now()
        async with self.db.begin() as s:
            row = await _running(s, encounter_id)
            if row is None:
                return None
            if parts is None:
                parts = _parts_on_disk(self.directory, row.token)
            row.parts = [_stored_part(p) for p in parts if _PART_FILE.match(str(p.get("file")))]
            row.stopped_at = now
            row.stop_reason = reason
            row.delete_after = rule.delete_after(
                row.started_at, now, self.settings.recording_retention_days
            )
            encounter = await s.get(Encounter, encounter_id)
            await audit.record_event(
                s,
                now,
                actor,
                "recording.stop",
                "recording",
                row.id,
                patient_id=encounter.patient_id if encounter else None,
                encounter_id=encounter_id,
                detail=reason,
            )
            view = _view(row)
        await self.live.notify(
            encounter_id, EVENT, {"active": False, "reason": reason}, group="admitted"
        )
        return view

    async def reconcile(self, encounter_id: int) -> None:
        """A recording the database says runs but the call does not (the call ended, or its
        worker was lost) is closed as ``call_ended``."""
        if self.media.is_recording(encounter_id):
            return
        async with self.db.begin() as s:
            if await _running(s, encounter_id) is None:
                return
        await self.stop(encounter_id, "call_ended", SYSTEM)

    def is_recording(self, encounter_id: int) -> bool:
        return self.media.is_recording(encounter_id)

    async def status(self, who: Principal, encounter_id: int) -> bool:
        """Whether the visit's call is being recorded, for anyone in it (the banner)."""
        async with self.db.begin() as s:
            if who.kind == "staff":
                await encounter_for(s, who, encounter_id, "encounter.read")
            elif who.encounter_id != encounter_id or await s.get(Encounter, encounter_id) is None:
                raise not_found("That visit")
        return self.media.is_recording(encounter_id)

    # -- the care team's list and player ----------------------------------------------------

    async def list_for(
        self, request: web.Request, who: Principal, encounter_id: int
    ) -> list[RecordingView]:
        async with self.db.begin() as s:
            await encounter_for(s, who, encounter_id, "recording.read")
        await self.reconcile(encounter_id)
        async with self.db.begin() as s:
            encounter = await encounter_for(s, who, encounter_id, "recording.read")
            rows = (
                await s.scalars(
                    select(Recording)
                    .where(Recording.encounter_id == encounter_id)
                    .order_by(Recording.started_at, Recording.id)
                )
            ).all()
            await audit.record(
                s,
                request,
                who,
                "recording.list",
                "encounter",
                encounter_id,
                patient_id=encounter.patient_id,
                encounter_id=encounter_id,
            )
            return [_view(row) for row in rows]

    async def open_part(
        self, request: web.Request, who: Principal, recording_id: int, index: int
    ) -> Iterator[bytes]:
        """The decrypted bytes of one part, chunk by chunk, after the access check; the play
        is audited. 404 for a recording the caller may not reach, or one deleted."""
        key = master_key(self.settings)
        async with self.db.begin() as s:
            row = await s.get(Recording, recording_id)
            if row is None:
                raise not_found("That recording")
            encounter = await encounter_for(s, who, row.encounter_id, "recording.read")
            parts = row.parts or []
            if row.deleted_at is not None or not 1 <= index <= len(parts):
                raise not_found("That recording")
            name = str(parts[index - 1]["file"])
            path = self.directory / name
            if not _PART_FILE.match(name) or not path.is_file():
                raise not_found("That recording")
            await audit.record(
                s,
                request,
                who,
                "recording.play",
                "recording",
                recording_id,
                patient_id=encounter.patient_id,
                encounter_id=encounter.id,
                detail=f"part {index}",
            )
        return open_sealed(path, key)

    # -- retention --------------------------------------------------------------------------

    async def close_lost(self) -> int:
        """Recordings still marked running long after any call could have ended (their node
        stopped, say) are closed as ``lost``, so their retention starts; how many."""
        cutoff = self.clock.now() - LOST_AFTER
        async with self.db.begin() as s:
            stale = (
                await s.scalars(
                    select(Recording.encounter_id)
                    .where(Recording.stopped_at.is_(None), Recording.started_at < cutoff)
                    .distinct()
                )
            ).all()
        closed = 0
        for encounter_id in stale:
            if not self.media.is_recording(encounter_id):
                closed += await self.stop(encounter_id, "lost", SYSTEM) is not None
        return closed

    async def retention_round(self) -> None:
        await self.close_lost()
        await self.delete_expired()

    async def delete_expired(self) -> int:
        """Delete every recording whose retention has ended (files, then the row's mark), each
        audited; how many. Compare-and-set: two nodes delete each once."""
        now = self.clock.now()
        async with self.db.begin() as s:
            due = (
                await s.execute(
                    select(Recording.id, Recording.token, Recording.encounter_id)
                    .where(Recording.deleted_at.is_(None), Recording.delete_after <= now)
                    .order_by(Recording.delete_after)
                    .limit(DELETE_BATCH)
                )
            ).all()
        deleted = 0
        for recording_id, token, encounter_id in due:
            async with self.db.begin() as s:
                claimed = await s.execute(
                    update(Recording)
                    .where(Recording.id == recording_id, Recording.deleted_at.is_(None))
                    .values(deleted_at=now, parts=[])
                )
                if not claimed.rowcount:  # type: ignore[attr-defined]
                    continue
                for path in self.directory.glob(f"{token}-*{SUFFIX}"):
                    path.unlink(missing_ok=True)
                encounter = await s.get(Encounter, encounter_id)
                await audit.record_event(
                    s,
                    now,
                    SYSTEM,
                    "recording.delete",
                    "recording",
                    recording_id,
                    patient_id=encounter.patient_id if encounter else None,
                    encounter_id=encounter_id,
                    detail="retention ended",
                )
            deleted += 1
        return deleted

    async def _audit_refusal(
        self, request: web.Request, who: Principal, encounter_id: int, patient_id: int, code: str
    ) -> None:
        # In a transaction of its own: the work it refused did not happen.
        async with self.db.begin() as s:
            await audit.record(
                s,
                request,
                who,
                "recording.start",
                "encounter",
                encounter_id,
                patient_id=patient_id,
                encounter_id=encounter_id,
                outcome="denied",
                detail=code,
            )


def _stored_part(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": str(p["file"]),
        "role": str(p.get("role") or "participant"),
        "kinds": [str(k) for k in p.get("kinds") or []],
        "offset_ms": int(p.get("offset_ms") or 0),
        "duration_ms": p.get("duration_ms"),
        "bytes": int(p.get("bytes") or 0),
    }


def _parts_on_disk(directory: Path, token: str) -> list[dict[str, Any]]:
    found = []
    for path in directory.glob(f"{token}-*{SUFFIX}"):
        match = _PART_FILE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [{"file": path.name, "role": "participant"} for _, path in sorted(found)]

"""The audit log: who read or changed which record, from where, with what outcome.

Rows carry ids and actions only, never clinical values or free text: the trail must not
become a second copy of the record.
Reads and changes are recorded in the same transaction as the work they describe, so an
audited change can't commit without its row; refusals are recorded in a transaction of
their own, since the work they refused is rolled back.

Rows are queued on the session and written when it commits, chained to the rows before them
by a keyed hash (``server/store/audit_chain.py``), so ``hearth audit verify`` can tell when a
row has been edited, deleted or forged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.logs import request_id_var
from server.core.storable import storable_text
from server.services.context import services
from server.services.errors import ApiError
from server.services.sessions import Principal
from server.store import audit_chain


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    link_id: int | None
    role: str | None
    address: str | None
    user_agent: str | None


def actor_of(request: web.Request, who: Principal | None) -> Actor:
    return Actor(
        user_id=who.user_id if who else None,
        link_id=who.link_id if who else None,
        role=who.role if who else None,
        address=request.remote,
        # A header byte that is not UTF-8 arrives as a lone surrogate, which PostgreSQL
        # refuses: recorded as U+FFFD, rather than failing the request it describes.
        user_agent=storable_text(request.headers.get("User-Agent") or "")[:200] or None,
    )


# Unknown tokens. A page or call with a join or diary token that matches no link is refused
# and audited with detail "unknown". Such a refusal is anonymous and names no record: anyone
# can cause as many as they like, and one row each would let them grow the audit log (and
# queue on its chain lock) without bound. So ``ProbeTally`` lets through one row per address
# per window, and at most ``PROBE_ROWS_PER_WINDOW`` for all addresses together; the rest are
# counted, and an address's next row says how many of its own went unrecorded. The link
# throttle still counts every one of them where it applies (``POST /api/join`` and
# ``POST /api/diary``), and the counts are in /metrics.
UNKNOWN_TOKEN = "unknown"
PROBE_WINDOW = dt.timedelta(minutes=10)
PROBE_ROWS_PER_WINDOW = 100
# Addresses remembered at once: the oldest are forgotten first (their unrecorded counts stay
# in the totals).
PROBE_ADDRESSES = 100_000


def _unknown_token(actor: Actor, outcome: str, detail: str | None) -> bool:
    return (
        actor.user_id is None
        and actor.link_id is None
        and outcome == "denied"
        and detail == UNKNOWN_TOKEN
    )


# A sign-in refused because its address or account is over the attempt limit is the same kind
# of refusal: anonymous, naming no record, and as many as a guesser cares to send (it is
# refused before any password is checked). It is let through by its own tally, the same way.
RATE_LIMITED = "rate_limited"


def _throttled(actor: Actor, outcome: str) -> bool:
    return actor.user_id is None and actor.link_id is None and outcome == RATE_LIMITED


@dataclass
class _Since:
    start: dt.datetime
    unrecorded: int = 0


class ProbeTally:
    """Which refusals of unknown tokens get an audit row; in this process's memory, so with
    several nodes each lets its own share through."""

    def __init__(
        self,
        window: dt.timedelta = PROBE_WINDOW,
        rows_per_window: int = PROBE_ROWS_PER_WINDOW,
        max_addresses: int = PROBE_ADDRESSES,
    ) -> None:
        self._window, self._rows_per_window = window, rows_per_window
        self._max_addresses = max_addresses
        # Oldest window first: every change re-inserts its address at the end.
        self._addresses: dict[str, _Since] = {}
        self._window_start: dt.datetime | None = None
        self._rows_in_window = 0
        self.recorded = 0
        self.unrecorded = 0

    def admit(self, address: str | None, now: dt.datetime) -> int | None:
        """None: count this one and write no row. Else write its row, which notes this many
        earlier ones from the address that got none."""
        key = address or "-"
        since = self._addresses.pop(key, None)
        if since is not None and now - since.start < self._window:
            since.unrecorded += 1
            self.unrecorded += 1
            self._addresses[key] = since
            return None
        if self._window_start is None or now - self._window_start >= self._window:
            self._window_start, self._rows_in_window = now, 0
        earlier = since.unrecorded if since is not None else 0
        if len(self._addresses) >= self._max_addresses:
            self._addresses.pop(next(iter(self._addresses)))
        if self._rows_in_window >= self._rows_per_window:
            self._addresses[key] = _Since(now, earlier + 1)
            self.unrecorded += 1
            return None
        self._addresses[key] = _Since(now)
        self._rows_in_window += 1
        self.recorded += 1
        return earlier

    def totals(self) -> dict[str, int]:
        return {"recorded": self.recorded, "unrecorded": self.unrecorded}


PROBES = web.AppKey("audit_probes", ProbeTally)
THROTTLED = web.AppKey("audit_throttled", ProbeTally)


def _tally_for(actor: Actor, outcome: str, detail: str | None) -> web.AppKey[ProbeTally] | None:
    """The tally that bounds this anonymous refusal's rows, None for any other row."""
    if _unknown_token(actor, outcome, detail):
        return PROBES
    if _throttled(actor, outcome):
        return THROTTLED
    return None


def _values(
    at: dt.datetime,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object | None,
    *,
    patient_id: int | None,
    encounter_id: int | None,
    outcome: str,
    detail: str | None,
) -> dict[str, Any]:
    """One audit row's columns."""
    return {
        "at": at,
        "actor_id": actor.user_id,
        "actor_link_id": actor.link_id,
        "role": actor.role,
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id),
        "patient_id": patient_id,
        "encounter_id": encounter_id,
        "address": actor.address,
        "user_agent": actor.user_agent,
        "outcome": outcome,
        "request_id": request_id_var.get(),
        "detail": detail,
    }


async def record_event(
    s: AsyncSession,
    at: dt.datetime,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    patient_id: int | None = None,
    encounter_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> None:
    """An audit row for work that did not come in as an HTTP request (a socket event)."""
    audit_chain.queue(
        s,
        [
            _values(
                at,
                actor,
                action,
                resource_type,
                resource_id,
                patient_id=patient_id,
                encounter_id=encounter_id,
                outcome=outcome,
                detail=detail,
            )
        ],
    )


async def record(
    s: AsyncSession,
    request: web.Request,
    who: Principal | Actor | None,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    patient_id: int | None = None,
    encounter_id: int | None = None,
    outcome: str = "success",
    detail: str | None = None,
) -> None:
    actor = who if isinstance(who, Actor) else actor_of(request, who)
    now = services(request).clock.now()
    tally = _tally_for(actor, outcome, detail)
    if tally is not None:
        earlier = request.app[tally].admit(actor.address, now)
        if earlier is None:
            return
        if earlier:
            note = f"{earlier} earlier from this address not recorded singly"
            detail = f"{detail}; {note}" if detail else note
    await record_event(
        s,
        now,
        actor,
        action,
        resource_type,
        resource_id,
        patient_id=patient_id,
        encounter_id=encounter_id,
        outcome=outcome,
        detail=detail,
    )


@dataclass(frozen=True)
class Target:
    """One record a list showed: its id, and the patient and visit it belongs to."""

    resource_id: object | None
    patient_id: int | None = None
    encounter_id: int | None = None


async def record_many(
    s: AsyncSession,
    request: web.Request,
    who: Principal | Actor | None,
    action: str,
    resource_type: str,
    targets: Iterable[Target],
) -> None:
    """One audit row per record a list showed, exactly as ``record`` would write each, but
    in one multi-row INSERT: a page of 200 visits is one statement, not 200.

    Like every audit row they are queued and written at commit, with the transaction's
    other audit rows, by one multi-row INSERT (``audit_chain.append``), not by the ORM, which
    sends a flush's rows one INSERT each wherever it must read every new id back (SQLite).
    """
    actor = who if isinstance(who, Actor) else actor_of(request, who)
    at = services(request).clock.now()
    rows = [
        _values(
            at,
            actor,
            action,
            resource_type,
            t.resource_id,
            patient_id=t.patient_id,
            encounter_id=t.encounter_id,
            outcome="success",
            detail=None,
        )
        for t in targets
    ]
    audit_chain.queue(s, rows)


class Denied(ApiError):
    """A refusal worth auditing: the middleware records it, then answers as ApiError."""

    def __init__(
        self,
        base: ApiError,
        *,
        action: str,
        resource_type: str,
        resource_id: object | None,
        patient_id: int | None = None,
        encounter_id: int | None = None,
    ) -> None:
        super().__init__(base.status, base.code, base.message, headers=base.headers)
        self.action = action
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.patient_id = patient_id
        self.encounter_id = encounter_id


def denial_middleware(principal_key: web.RequestKey[Principal | None]):  # type: ignore[no-untyped-def]
    @web.middleware
    async def middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
        try:
            return await handler(request)
        except Denied as exc:
            async with services(request).db.begin() as s:
                await record(
                    s,
                    request,
                    request.get(principal_key),
                    exc.action,
                    exc.resource_type,
                    exc.resource_id,
                    patient_id=exc.patient_id,
                    encounter_id=exc.encounter_id,
                    outcome="denied",
                )
            raise

    return middleware

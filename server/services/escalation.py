"""The escalation runner and the people-facing alert actions, with their notifications.

``AlertService.run_due(now)`` is the timer: it reads every open alert whose stored deadline
has passed, asks ``encounters.escalation`` what is owed, and stores it with a compare-and-set,
so a restarted server (or a second node) applies each escalation once and only once. Only
after the change is committed is anybody told: in-app (Socket.IO) always, email and SMS when
configured. A failed email never undoes or repeats an escalation; it is logged and dropped,
because the in-app alert and the next tier's timer already carry the alert on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select

from encounters.detection import CHECKIN_GRACE_MIN, CHECKIN_INTERVAL_H, detect_missed_checkin
from encounters.errors import ConflictError
from encounters.escalation import (
    AlertState,
    acknowledge,
    apply_escalation,
    escalation_due,
    reassign,
    resolve,
)
from server.services import audit
from server.services.alerts import (
    Push,
    alert_to_dict,
    care_team_users,
    ladder_of,
    raise_alerts,
    roles_for,
    state_of,
    write_state,
)
from server.services.careplans import current_plan
from server.services.diary import row_to_entry
from server.services.notify import Message, Notifier
from server.store.between_visits import Alert, DiaryEntry, DiaryLink
from server.store.db import Database
from server.store.drills import Drill
from server.store.models import Patient, User
from signaling import events as ev

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
SYSTEM = audit.Actor(None, None, "system", None, None)
# Two tries: a compare-and-set that lost to a concurrent change reloads and decides again.
CAS_ATTEMPTS = 2


class AlertService:
    def __init__(
        self,
        db: Database,
        push: Push | None,
        notifiers: Mapping[str, Notifier],
        *,
        base_url: str = "",
    ) -> None:
        self.db, self.push, self.notifiers, self.base_url = db, push, notifiers, base_url
        self._sending: set[asyncio.Task[None]] = set()

    # -- telling people ---------------------------------------------------------------------
    async def announce(self, alert_ids: list[int], *, page_tier: bool) -> None:
        """Push each alert to its patient's care team; ``page_tier`` also emails and texts
        the people on its current tier (a new alert, an escalation)."""
        for alert_id in alert_ids:
            async with self.db.begin() as s:
                row = await s.get(Alert, alert_id)
                if row is None:
                    continue
                patient = await s.get(Patient, row.patient_id)
                users = await care_team_users(s, row.patient_id)
                if row.drill_id is not None:
                    # A drill tells only the people taking part in it.
                    drill = await s.get(Drill, row.drill_id)
                    people = {drill.created_by, drill.clinician_id} if drill else set()
                    users = [u for u in users if u.id in people]
                plan = await current_plan(s, row.patient_id)
                data = alert_to_dict(row, patient.name if patient else None)
                tier = ladder_of(row).tier(row.tier)
                on_tier = [
                    u
                    for u in users
                    if tier is not None and tier.is_member(str(u.id), roles_for(plan, u))
                ]
            if self.push is not None:
                try:
                    await self.push(ev.ALERT, data, [u.id for u in users])
                except Exception:  # noqa: BLE001 - a failed push must not stop the others
                    logger.exception("alert %s push failed", alert_id)
            if page_tier and not data["is_drill"]:
                for user in on_tier:
                    self._page(user, data)

    def _page(self, user: User, data: dict[str, Any]) -> None:
        # Only the severity and a link: an email or a text is not a place for clinical detail.
        subject = f"Hearth alert ({data['severity']}) needs acknowledging"
        text = (
            f"A {data['severity']} alert for one of your patients is waiting on tier "
            f"{data['tier']}.\nOpen the alert queue: {self.base_url}/alerts"
        )
        for channel, address in (("email", user.email), ("sms", user.phone)):
            notifier = self.notifiers.get(channel)
            if notifier is None or not address:
                continue
            task = asyncio.create_task(
                self._send(notifier, Message(address, subject, text), data["id"], channel)
            )
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(
        self, notifier: Notifier, message: Message, alert_id: int, channel: str
    ) -> None:
        try:
            await notifier.send(message)
            logger.info("alert %s paged by %s", alert_id, channel)
        except Exception as exc:  # noqa: BLE001 - logged; the in-app alert still stands
            logger.warning("alert %s not paged by %s: %s", alert_id, channel, type(exc).__name__)

    async def drain(self) -> None:
        """Wait for pages in flight (tests, shutdown)."""
        if self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    # -- the timer ----------------------------------------------------------------------------
    async def run_due(self, now: dt.datetime) -> int:
        """Apply every escalation due at ``now``; returns how many this call applied."""
        async with self.db.begin() as s:
            due = (
                await s.scalars(
                    select(Alert.id)
                    .where(
                        Alert.status == "open",
                        Alert.next_deadline <= now,
                        # A drill's alerts climb only while the drill runs.
                        or_(
                            Alert.drill_id.is_(None),
                            Alert.drill_id.in_(select(Drill.id).where(Drill.status == "running")),
                        ),
                    )
                    .order_by(Alert.next_deadline, Alert.id)
                    .limit(BATCH_SIZE)
                )
            ).all()
        applied: list[int] = []
        for alert_id in due:
            if await self._escalate(alert_id, now):
                applied.append(alert_id)
        await self.announce(applied, page_tier=True)
        return len(applied)

    async def _escalate(self, alert_id: int, now: dt.datetime) -> bool:
        async with self.db.begin() as s:
            row = await s.get(Alert, alert_id)
            if row is None:
                return False
            state = state_of(row)
            owed = escalation_due(state, ladder_of(row), now)
            if owed is None:
                return False
            try:
                new = apply_escalation(state, owed)
            except ConflictError:
                return False
            if not await write_state(s, row, new):
                logger.info("alert %s escalation already applied elsewhere", alert_id)
                return False
            await audit.record_event(
                s,
                now,
                SYSTEM,
                "escalate",
                "alert",
                alert_id,
                patient_id=row.patient_id,
                detail=f"tier {owed.from_tier}->{owed.to_tier}"
                + (" exhausted" if owed.exhausts else ""),
            )
        logger.info("alert %s escalated to tier %s", alert_id, owed.to_tier)
        return True

    # -- silence ----------------------------------------------------------------------------
    async def sweep_missed_checkins(self, now: dt.datetime) -> int:
        """Raise a missed check-in for each patient with a working diary link whose newest
        entry is older than the check-in interval and grace; once per silence, even after
        that alert is resolved (its key names the last entry). Returns how many it raised."""
        silent_since = now - dt.timedelta(hours=CHECKIN_INTERVAL_H, minutes=CHECKIN_GRACE_MIN)
        async with self.db.begin() as s:
            newest = (
                select(DiaryEntry.patient_id, func.max(DiaryEntry.recorded_at).label("last"))
                .join(DiaryLink, DiaryLink.patient_id == DiaryEntry.patient_id)
                .where(
                    DiaryLink.revoked_at.is_(None),
                    DiaryLink.expires_at > now,
                    DiaryEntry.drill_id.is_(None),  # a drill's script is not a check-in
                )
                .group_by(DiaryEntry.patient_id)
                .subquery()
            )
            silent = (
                await s.execute(
                    select(newest.c.patient_id, newest.c.last).where(newest.c.last < silent_since)
                )
            ).all()
        raised: list[int] = []
        for patient_id, last in silent:
            async with self.db.begin() as s:
                latest = await s.scalar(
                    select(DiaryEntry)
                    .where(
                        DiaryEntry.patient_id == patient_id,
                        DiaryEntry.recorded_at == last,
                        DiaryEntry.drill_id.is_(None),
                    )
                    .order_by(DiaryEntry.client_id.desc())
                    .limit(1)
                )
                if latest is None:
                    continue
                found = detect_missed_checkin([row_to_entry(latest)], now=now)
                keys = set(
                    (
                        await s.scalars(
                            select(Alert.dedup_key).where(
                                Alert.patient_id == patient_id,
                                Alert.dedup_key.in_([c.dedup_key for c in found]),
                            )
                        )
                    ).all()
                )
                fresh = [c for c in found if c.dedup_key not in keys]
                if fresh:
                    plan = await current_plan(s, patient_id)
                    rows = await raise_alerts(s, patient_id, fresh, plan, now=now)
                    raised.extend(r.id for r in rows)
        await self.announce(raised, page_tier=True)
        return len(raised)

    # -- people's actions ---------------------------------------------------------------------
    async def act(
        self,
        alert_id: int,
        action: str,
        *,
        user: User,
        actor: audit.Actor,
        now: dt.datetime,
        outcome: str | None = None,
        note: str | None = None,
        to_user_id: int | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Acknowledge, resolve or reassign; the caller has checked the patient is theirs."""
        for attempt in range(CAS_ATTEMPTS):
            async with self.db.begin() as s:
                row = await s.get(Alert, alert_id, populate_existing=True)
                assert row is not None
                plan = await current_plan(s, row.patient_id)
                new = self._apply(
                    state_of(row),
                    row,
                    action,
                    user,
                    roles_for(plan, user),
                    now,
                    outcome=outcome,
                    note=note,
                    to_user_id=to_user_id,
                    reason=reason,
                )
                if not await write_state(s, row, new):
                    if attempt + 1 < CAS_ATTEMPTS:
                        continue
                    raise ConflictError(
                        "The alert changed while you were acting on it; reload and try again.",
                        code="alert_changed",
                    )
                await audit.record_event(
                    s, now, actor, action, "alert", alert_id, patient_id=row.patient_id
                )
                await s.refresh(row)
                patient = await s.get(Patient, row.patient_id)
                data = alert_to_dict(row, patient.name if patient else None)
            break
        await self.announce([alert_id], page_tier=False)
        return data

    @staticmethod
    def _apply(
        state: AlertState,
        row: Alert,
        action: str,
        user: User,
        roles: set[str],
        now: dt.datetime,
        *,
        outcome: str | None,
        note: str | None,
        to_user_id: int | None,
        reason: str,
    ) -> AlertState:
        ladder = ladder_of(row)
        if action == "acknowledge":
            return acknowledge(state, ladder, user_id=str(user.id), user_roles=roles, now=now)
        if action == "resolve":
            return resolve(
                state,
                ladder,
                user_id=str(user.id),
                user_roles=roles,
                outcome=outcome or "",
                now=now,
                note=note,
            )
        return reassign(
            state,
            ladder,
            by_user_id=str(user.id),
            to_user_id=str(to_user_id) if to_user_id else "",
            reason=reason,
            now=now,
        )


ALERTS = web.AppKey("alerts", AlertService)

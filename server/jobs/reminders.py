"""The reminder runner: sends due reminder jobs, each at most once, across restarts and nodes.

A job is claimed by ``UPDATE ... SET status='sending' WHERE id=? AND status='pending'``: of
two nodes (or a node and its restarted self) only one sees a row change, so only one sends.
A job left in ``sending`` by a crash in the seconds between the mail server's acceptance
and the ``sent`` mark is released after ``CLAIM_LEASE``: Hearth prefers a rare duplicate
reminder to a family that silently never hears about the visit.

Each reminder carries a fresh family link, issued when it is sent: only the hashes of links
are stored, so the link shown at booking cannot be read back. The link issued for a send
that fails is revoked again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.i18n import format_moment, pick_language, translations
from server.core.periodic import every
from server.core.settings import Settings
from server.services import audit
from server.services.calendars import CalendarEvent, event_uid, render_calendar
from server.services.context import SERVICES
from server.services.links import issue_link, link_url
from server.services.notify import Message, Notifier, notifiers_from
from server.store.db import Database
from server.store.models import Encounter, FamilyMember, JoinLink, Patient, User
from server.store.scheduling import ReminderJob

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 30.0
BATCH_SIZE = 50
MAX_ATTEMPTS = 5
# A failed send waits this long before its next try; a day-before reminder has hours to spare.
RETRY_DELAY = dt.timedelta(minutes=5)
CLAIM_LEASE = dt.timedelta(minutes=15)
SYSTEM = audit.Actor(None, None, "system", None, None)


class ReminderRunner:
    def __init__(self, db: Database, settings: Settings, notifiers: Mapping[str, Notifier]) -> None:
        self.db, self.settings, self.notifiers = db, settings, notifiers

    async def run_due(self, now: dt.datetime) -> int:
        """Send every reminder due at ``now``; returns how many went out."""
        await self._release_stale(now)
        async with self.db.begin() as s:
            due = (
                await s.scalars(
                    select(ReminderJob.id)
                    .where(ReminderJob.status == "pending", ReminderJob.due_at <= now)
                    .order_by(ReminderJob.due_at, ReminderJob.id)
                    .limit(BATCH_SIZE)
                )
            ).all()
        sent = 0
        for job_id in due:
            if await self._claim(job_id, now):
                sent += await self._deliver(job_id, now)
        return sent

    async def _release_stale(self, now: dt.datetime) -> None:
        async with self.db.begin() as s:
            await s.execute(
                update(ReminderJob)
                .where(ReminderJob.status == "sending", ReminderJob.claimed_at < now - CLAIM_LEASE)
                .values(status="pending")
            )

    async def _claim(self, job_id: int, now: dt.datetime) -> bool:
        async with self.db.begin() as s:
            result = await s.execute(
                update(ReminderJob)
                .where(
                    ReminderJob.id == job_id,
                    ReminderJob.status == "pending",
                    ReminderJob.due_at <= now,
                )
                .values(status="sending", claimed_at=now, attempts=ReminderJob.attempts + 1)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def _deliver(self, job_id: int, now: dt.datetime) -> int:
        async with self.db.begin() as s:
            job = await s.get(ReminderJob, job_id)
            assert job is not None
            encounter = await s.get(Encounter, job.encounter_id)
            member = await s.get(FamilyMember, job.family_member_id)
            notifier = self.notifiers.get(job.channel)
            skip = None
            if encounter is None or member is None or encounter.status != "planned":
                skip = "visit_not_planned"
            elif now >= encounter.starts_at:
                skip = "too_late"
            elif notifier is None:
                skip = "channel_not_configured"
            if skip is not None:
                job.status, job.last_error = "skipped", skip
                logger.info("reminder %s skipped: %s", job_id, skip)
                return 0
            assert encounter is not None and member is not None and notifier is not None
            token, link = await issue_link(
                s, self.settings, encounter, created_by=None, now=now, family_member=member
            )
            message = await self._compose(
                s, job, encounter, member, link_url(self.settings, token), now
            )
            await audit.record_event(
                s,
                now,
                SYSTEM,
                "send",
                "reminder",
                job.id,
                patient_id=encounter.patient_id,
                encounter_id=encounter.id,
                detail=f"{job.which} {job.channel}",
            )
            link_id, attempts = link.id, job.attempts
        try:
            await notifier.send(message)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the job to be retried
            await self._failed(job_id, link_id, attempts, now, type(exc).__name__)
            return 0
        async with self.db.begin() as s:
            await s.execute(
                update(ReminderJob)
                .where(ReminderJob.id == job_id, ReminderJob.status == "sending")
                .values(status="sent", sent_at=now, last_error=None)
            )
        logger.info("reminder %s sent", job_id)
        return 1

    async def _failed(
        self, job_id: int, link_id: int, attempts: int, now: dt.datetime, error: str
    ) -> None:
        logger.warning("reminder %s not sent (attempt %s): %s", job_id, attempts, error)
        async with self.db.begin() as s:
            await s.execute(
                update(JoinLink)
                .where(JoinLink.id == link_id, JoinLink.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await s.execute(
                update(ReminderJob)
                .where(ReminderJob.id == job_id, ReminderJob.status == "sending")
                .values(
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                    due_at=now + RETRY_DELAY,
                    last_error=error[:80],
                )
            )

    async def _compose(
        self,
        s: AsyncSession,
        job: ReminderJob,
        encounter: Encounter,
        member: FamilyMember,
        url: str,
        now: dt.datetime,
    ) -> Message:
        patient = await s.get(Patient, encounter.patient_id)
        clinician = await s.get(User, encounter.clinician_id)
        zone = patient.time_zone if patient else "UTC"
        # The family member's own language, else the patient's, else English.
        language = pick_language(None, member.language, patient.language if patient else None)
        _ = translations(language).gettext
        when = format_moment(encounter.starts_at, zone, language)
        clinic = self.settings.clinic_name or "Hearth"
        who = clinician.name if clinician else clinic
        subject = (
            _("Reminder: video visit tomorrow, %(when)s")
            if job.which == "day_before"
            else _("Reminder: video visit in one hour, %(when)s")
        ) % {"when": when}
        lines = [
            _("Hello %(name)s,") % {"name": member.name},
            "",
            _("Your video visit with %(who)s is on %(when)s (%(zone)s).")
            % {"who": who, "when": when, "zone": zone},
            "",
            _("Join the visit: %(url)s") % {"url": url},
            _("Check your camera and sound first: %(url)s") % {"url": url + "#check"},
        ]
        if self.settings.clinic_phone:
            lines += ["", _("Questions? Call %(phone)s.") % {"phone": self.settings.clinic_phone}]
        lines += ["", clinic]
        text = "\n".join(lines)
        if job.channel == "sms":
            # An SMS must stay short: the time and the link are what the family needs.
            text = _("%(clinic)s: video visit %(when)s. Join: %(url)s") % {
                "clinic": clinic,
                "when": when,
                "url": url,
            }
        event = CalendarEvent(
            uid=event_uid(self.settings, encounter.id),
            starts_at=encounter.starts_at,
            ends_at=encounter.ends_at,
            summary=_("Video visit with %(who)s") % {"who": who},
            description=_("Join the visit: %(url)s") % {"url": url},
            url=url,
        )
        calendar = render_calendar([event], name=clinic, now=now, method="PUBLISH")
        return Message(
            to=_address(member, job.channel),
            subject=subject,
            text=text,
            calendar=calendar,
            language=language,
        )


def _address(member: FamilyMember, channel: str) -> str:
    address = member.email if channel == "email" else member.phone
    assert address is not None
    return address


JOBS = web.AppKey("jobs", ReminderRunner)


async def reminder_jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs the reminder runner every ``POLL_INTERVAL_S`` for as long as the app runs."""
    svc = app[SERVICES]
    runner = ReminderRunner(svc.db, svc.settings, notifiers_from(svc.settings))
    app[JOBS] = runner

    async with every(POLL_INTERVAL_S, lambda: runner.run_due(svc.clock.now()), "reminder"):
        yield

"""Reminders through a real local SMTP server, and iCalendar feeds parsed with icalendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import socket
from collections.abc import Iterator
from email.message import Message as EmailMessage
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from server.core.settings import Settings
from server.jobs.reminders import JOBS, ReminderRunner
from server.services.context import SERVICES
from server.services.notify import notifiers_from
from server.store.scheduling import ReminderJob
from tests.integration.test_scheduling_api import set_hours, visit

DAY_BEFORE = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
HOUR_BEFORE = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_from="Care Team <visits@hearth.test>",
        clinic_name="Riverside Palliative Care",
    )


async def _book(world: Any, starts_at: str = "2026-03-04T10:00:00Z") -> dict[str, Any]:
    scheduler = await world.agent("sched")
    await set_hours(scheduler, world)
    status, booked = await scheduler.call("POST", "/api/encounters", visit(world, starts_at))
    assert status == 201, booked
    return booked


def _parts(message: EmailMessage) -> tuple[str, str | None]:
    text, calendar = "", None
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()
        elif part.get_content_type() == "text/calendar":
            calendar = part.get_payload(decode=True).decode()
    return text, calendar


async def test_reminders_go_out_once_each_and_survive_a_restart(client, world, mailbox) -> None:
    booked = await _book(world)
    runner = client.app[JOBS]
    assert await runner.run_due(DAY_BEFORE - dt.timedelta(minutes=1)) == 0
    assert await runner.run_due(DAY_BEFORE) == 1
    assert await runner.run_due(DAY_BEFORE) == 0
    # A restart is a new runner on the same database: nothing is sent again.
    restarted = ReminderRunner(
        client.app[SERVICES].db,
        client.app[SERVICES].settings,
        notifiers_from(client.app[SERVICES].settings),
    )
    assert await restarted.run_due(DAY_BEFORE + dt.timedelta(minutes=5)) == 0
    assert len(mailbox.messages) == 1 and mailbox.recipients == [["fama@hearth.test"]]
    message = mailbox.messages[0]
    assert "tomorrow" in message["Subject"] and "GMT" in message["Subject"]
    text, calendar = _parts(message)
    assert "Patient A" not in text
    link = next(w for w in text.split() if "/join/" in w and "#" not in w)
    assert f"{link}#check" in text and link != booked["family_link"]
    # The reminder's own link lets the family in.
    family = await world.agent()
    await family.join(link.rsplit("/", 1)[1])
    event = icalendar.Calendar.from_ical(calendar).walk("VEVENT")[0]
    assert event.decoded("dtstart") == dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)
    assert str(event["url"]) == link

    assert await restarted.run_due(HOUR_BEFORE) == 1
    assert await runner.run_due(HOUR_BEFORE) == 0
    assert len(mailbox.messages) == 2 and "one hour" in mailbox.messages[1]["Subject"]


async def test_a_cancelled_visit_sends_no_reminders(client, world, db, mailbox) -> None:
    booked = await _book(world)
    scheduler = await world.agent("sched")
    status, _ = await scheduler.call(
        "POST", f"/api/encounters/{booked['id']}/cancel", {"reason": "Family request"}
    )
    assert status == 200
    assert await client.app[JOBS].run_due(HOUR_BEFORE) == 0
    assert mailbox.messages == []
    async with db.begin() as s:
        statuses = set(await s.scalars(select(ReminderJob.status)))
    assert statuses == {"cancelled"}


async def test_a_failed_send_is_retried_later_and_its_link_revoked(client, world, db) -> None:
    await _book(world)
    svc = client.app[SERVICES]
    closed_port = _free_port()
    broken = ReminderRunner(
        svc.db,
        svc.settings,
        notifiers_from(dataclasses.replace(svc.settings, smtp_port=closed_port)),
    )
    assert await broken.run_due(DAY_BEFORE) == 0
    async with db.begin() as s:
        job = await s.scalar(select(ReminderJob).where(ReminderJob.which == "day_before"))
    assert job is not None
    assert (job.status, job.attempts) == ("pending", 1)
    assert job.last_error and job.due_at > DAY_BEFORE
    assert await client.app[JOBS].run_due(job.due_at) == 1


async def test_a_clinicians_feed_shows_initials_only_and_can_be_revoked(client, world) -> None:
    await _book(world)
    clinician = await world.agent("clin_a")
    cid = world.users["clin_a"].id
    status, feed = await clinician.call("POST", f"/api/clinicians/{cid}/calendar-feed")
    assert status == 201 and feed["url"].endswith(".ics")
    path = feed["url"].removeprefix("http://hearth.test")
    response = await client.get(path)
    assert response.status == 200 and response.content_type == "text/calendar"
    text = await response.text()
    assert "Patient A" not in text and "1940" not in text
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert sorted(str(e["summary"]) for e in events) == ["Video visit · P.A."] * 2
    assert {e.decoded("dtstart") for e in events} >= {dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC)}

    outsider = await world.agent("clin_b")
    assert (await outsider.call("POST", f"/api/clinicians/{cid}/calendar-feed"))[0] == 403
    status, again = await clinician.call("POST", f"/api/clinicians/{cid}/calendar-feed")
    assert (await client.get(path)).status == 404  # a new URL retires the old one
    assert (await clinician.call("DELETE", f"/api/clinicians/{cid}/calendar-feed"))[0] == 204
    assert (await client.get(again["url"].removeprefix("http://hearth.test"))).status == 404
    assert (await client.get("/calendar/not-a-token.ics")).status == 404


async def test_the_family_downloads_their_visit_as_ics(client, world) -> None:
    family = await world.agent("family_a")
    eid = world.encounters["a"].id
    status, text = await family.call("GET", f"/api/encounters/{eid}/ics")
    assert status == 200
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["summary"]) == "Video visit with Staff clin_a"
    assert event.decoded("dtstart") == world.encounters["a"].starts_at
    status, _ = await family.call("GET", f"/api/encounters/{world.encounters['b'].id}/ics")
    assert status == 404


async def test_the_sms_webhook_receives_the_number_and_text(aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    from server.services.notify import Message, SmsWebhookNotifier

    received: list[Any] = []

    async def gateway(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"queued": True})

    app = web.Application()
    app.router.add_post("/sms", gateway)
    server = await aiohttp_server(app)
    notifier = SmsWebhookNotifier(str(server.make_url("/sms")))
    await notifier.send(Message(to="+44 7700 900123", subject="ignored", text="Visit at 10:00"))
    assert received == [{"to": "+44 7700 900123", "text": "Visit at 10:00", "language": "en"}]

"""Each booking in a list says which reminders go out to the family, when, and whether they
went: the staff see it beside the visit instead of wondering."""

from __future__ import annotations

from server.jobs.reminders import JOBS
from tests.integration.test_reminders_and_calendars import (  # noqa: F401 - fixtures
    DAY_BEFORE,
    Mailbox,
    _book,
    mailbox,
    settings,
)


async def test_a_booked_visits_reminders_are_listed_with_when_and_whether_sent(
    client,
    world,
    mailbox,  # noqa: F811 - the fixture imported above
) -> None:
    booked = await _book(world)
    scheduler = await world.agent("sched")
    span = "from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z"
    status, listed = await scheduler.call("GET", f"/api/encounters?{span}")
    assert status == 200, listed
    (visit,) = [v for v in listed["items"] if v["id"] == booked["id"]]
    assert [(r["which"], r["status"]) for r in visit["reminders"]] == [
        ("day_before", "pending"),
        ("hour_before", "pending"),
    ]
    assert visit["reminders"][0]["due_at"].startswith("2026-03-03T10:00")
    assert await client.app[JOBS].run_due(DAY_BEFORE) == 1
    status, listed = await scheduler.call("GET", f"/api/encounters?{span}")
    (visit,) = [v for v in listed["items"] if v["id"] == booked["id"]]
    first = visit["reminders"][0]
    assert first["status"] == "sent" and first["sent_at"] is not None

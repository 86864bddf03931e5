"""iCalendar (RFC 5545) files: a clinician's secret feed and a family's one-visit file.

A feed is read by calendar programs that keep copies and sync them to phones, so its events
carry the visit kind, the time and the patient's initials only, never a name, a diagnosis
or a note. The text is written here rather than by a library: the few properties used are
simple, and escaping and line folding are the only rules that matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.core.crypto import keyed_hash, new_token
from server.core.settings import Settings
from server.store.scheduling import CalendarFeed

KIND_NAMES = {
    "video_visit": "Video visit",
    "in_person": "In-person assessment",
    "pharmacy_review": "Pharmacy medication review",
    "social_work": "Social work consultation",
}
# RFC 5545 §3.1: lines are folded at 75 octets.
_MAX_LINE_OCTETS = 75


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    summary: str
    description: str | None = None
    url: str | None = None
    cancelled: bool = False


def initials(name: str) -> str:
    """ "Mary Ann O'Neil" -> "M.A.O."; at most three letters, so a long name says no more."""
    parts = [p for p in name.replace("-", " ").split() if p[:1].isalpha()]
    return "".join(p[0].upper() + "." for p in parts[:3]) or "?"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    out: list[str] = []
    current, size = "", 0
    for ch in line:
        width = len(ch.encode())
        if size + width > _MAX_LINE_OCTETS:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def render_calendar(
    events: Iterable[CalendarEvent], *, name: str, now: dt.datetime, method: str | None = None
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Hearth//Scheduling//EN",
        "CALSCALE:GREGORIAN",
    ]
    if method:
        lines.append(f"METHOD:{method}")
    lines.append(f"X-WR-CALNAME:{_escape(name)}")
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(event.starts_at)}",
            f"DTEND:{_stamp(event.ends_at)}",
            f"SUMMARY:{_escape(event.summary)}",
            f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}",
        ]
        if event.description:
            lines.append(f"DESCRIPTION:{_escape(event.description)}")
        if event.url:
            lines.append(f"URL:{event.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def event_uid(settings: Settings, encounter_id: int) -> str:
    host = urlsplit(settings.base_url).hostname or "hearth"
    return f"encounter-{encounter_id}@{host}"


def feed_token_hash(settings: Settings, token: str) -> str:
    assert settings.secret_key
    return keyed_hash(settings.secret_key, "calendar:" + token)


def feed_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/calendar/{token}.ics"


async def issue_feed(
    s: AsyncSession, settings: Settings, clinician_id: int, *, by: int | None, now: dt.datetime
) -> tuple[str, CalendarFeed]:
    """A new secret feed URL for the clinician; any earlier one stops working."""
    await revoke_feeds(s, clinician_id, by=by, now=now)
    token = new_token()
    feed = CalendarFeed(
        clinician_id=clinician_id,
        token_hash=feed_token_hash(settings, token),
        created_at=now,
        created_by=by,
    )
    s.add(feed)
    await s.flush()
    return token, feed


async def revoke_feeds(
    s: AsyncSession, clinician_id: int, *, by: int | None, now: dt.datetime
) -> int:
    feeds = (
        await s.scalars(
            select(CalendarFeed).where(
                CalendarFeed.clinician_id == clinician_id, CalendarFeed.revoked_at.is_(None)
            )
        )
    ).all()
    for feed in feeds:
        feed.revoked_at, feed.revoked_by = now, by
    return len(feeds)


async def find_feed(s: AsyncSession, settings: Settings, token: str) -> CalendarFeed | None:
    if not token or len(token) > 200:
        return None
    feed = await s.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == feed_token_hash(settings, token))
    )
    return feed if feed is not None and feed.revoked_at is None else None


async def active_feed(s: AsyncSession, clinician_id: int) -> CalendarFeed | None:
    """The clinician's working feed, if they have one (issuing a new one revokes the rest)."""
    return await s.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.clinician_id == clinician_id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc())
        .limit(1)
    )

"""Messages between a family and the care team (issue 18): writing, reading, read receipts.

The family writes with its diary link's token (diary page) or its visit session (family
page); the care team reads and answers from the patient's page and the alert console. Each
message is stored once per (patient, client id), so the family's offline queue may send it
again. A family's message with red-flag words, or one that arrives outside the team's hours
(``HEARTH_TEAM_HOURS``), raises an alert that climbs the patient's ladder like any other
(``encounters.family_messages``). Every write, every read of the thread and every read
receipt is audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from encounters.detection import Rule, is_covered
from encounters.family_messages import TeamHours, message_alert, red_flags, within_hours
from server.core.settings import Settings, parse_team_hours
from server.services import audit
from server.services.alerts import open_keys, raise_alerts
from server.services.careplans import current_plan
from server.services.errors import ApiError
from server.store.between_visits import Alert
from server.store.family_messages import FamilyMessage
from server.store.models import Patient, User

Side = Literal["family", "team"]
FAMILY: Side = "family"
TEAM: Side = "team"
# The newest messages a thread shows; older ones stay stored (and in the audit log).
THREAD_LIMIT = 200
# A device's clock may be a little ahead; a message "written" later than this is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)
# The offline queue keeps a message for days at most; older is a wrong clock.
OLDEST_WRITTEN = dt.timedelta(days=30)
MESSAGE_RULE = Rule.FAMILY_MESSAGE.value


@dataclass(frozen=True)
class FamilyAuthor:
    """The family member writing: through a diary link, or a visit link's session."""

    patient_id: int
    diary_link_id: int | None = None
    join_link_id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Posted:
    row: FamilyMessage
    created: bool
    alert_ids: list[int]


def team_hours(settings: Settings) -> TeamHours:
    return TeamHours(*parse_team_hours(settings.team_hours))


def _written_at(written_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if written_at is None:
        return now
    if written_at > now + CLOCK_SKEW or written_at < now - OLDEST_WRITTEN:
        raise ApiError(
            422,
            "invalid_time",
            "The message's time is not possible. Please check the device's clock.",
            field="written_at",
        )
    return min(written_at, now)


async def _existing(
    s: AsyncSession, patient_id: int, client_id: str, sender: Side, text: str
) -> FamilyMessage | None:
    """A stored message with this client id (a resend); the same id with other content or
    from the other side is refused: nothing is overwritten."""
    row = await s.scalar(
        select(FamilyMessage).where(
            FamilyMessage.patient_id == patient_id, FamilyMessage.client_id == client_id
        )
    )
    if row is not None and (row.sender != sender or row.body != text):
        raise ApiError(
            409,
            "id_reused",
            "This client_id was already used for a different message.",
            field="client_id",
        )
    return row


async def _store_once(s: AsyncSession, row: FamilyMessage) -> FamilyMessage | None:
    """Insert ``row``; None if a message with its client id got in first (a resend that
    raced the original): the caller answers with the stored one."""
    try:
        async with s.begin_nested():
            s.add(row)
            await s.flush()
    except IntegrityError:
        return None
    return row


async def post_from_family(
    s: AsyncSession,
    author: FamilyAuthor,
    *,
    client_id: str,
    text: str,
    written_at: dt.datetime | None,
    language: str | None,
    now: dt.datetime,
    settings: Settings,
    actor: audit.Actor,
) -> Posted:
    """Store the family's message once and raise its alert, if it calls for one."""
    existing = await _existing(s, author.patient_id, client_id, FAMILY, text)
    if existing is not None:
        return Posted(existing, False, [])
    patient = await s.get(Patient, author.patient_id)
    assert patient is not None
    flags = red_flags(text, language or patient.language)
    zone = settings.team_time_zone or patient.time_zone
    after_hours = not within_hours(now, team_hours(settings), zone)
    row = FamilyMessage(
        patient_id=author.patient_id,
        client_id=client_id,
        sender=FAMILY,
        diary_link_id=author.diary_link_id,
        join_link_id=author.join_link_id,
        author_name=author.name,
        body=text,
        language=language,
        written_at=_written_at(written_at, now),
        received_at=now,
        red_flags=list(flags),
        after_hours=after_hours,
    )
    if await _store_once(s, row) is None:
        raced = await _existing(s, author.patient_id, client_id, FAMILY, text)
        assert raced is not None
        return Posted(raced, False, [])
    await audit.record_event(
        s,
        now,
        actor,
        "create",
        "family_message",
        row.id,
        patient_id=author.patient_id,
        detail="red flag" if flags else ("after hours" if after_hours else None),
    )
    alert_ids: list[int] = []
    candidate = message_alert(client_id, flags, after_hours=after_hours)
    if candidate is not None and not is_covered(candidate, await open_keys(s, author.patient_id)):
        plan = await current_plan(s, author.patient_id)
        raised = await raise_alerts(s, author.patient_id, [candidate], plan, now=now)
        alert_ids = [a.id for a in raised]
        row.alert_id = alert_ids[0] if alert_ids else None
    return Posted(row, True, alert_ids)


async def post_from_team(
    s: AsyncSession,
    patient_id: int,
    user_id: int,
    *,
    client_id: str,
    text: str,
    now: dt.datetime,
    actor: audit.Actor,
) -> Posted:
    """Store a care-team member's answer once."""
    existing = await _existing(s, patient_id, client_id, TEAM, text)
    if existing is not None:
        return Posted(existing, False, [])
    row = FamilyMessage(
        patient_id=patient_id,
        client_id=client_id,
        sender=TEAM,
        author_user_id=user_id,
        body=text,
        written_at=now,
        received_at=now,
        red_flags=[],
        after_hours=False,
    )
    if await _store_once(s, row) is None:
        raced = await _existing(s, patient_id, client_id, TEAM, text)
        assert raced is not None
        return Posted(raced, False, [])
    await audit.record_event(
        s, now, actor, "create", "family_message", row.id, patient_id=patient_id
    )
    return Posted(row, True, [])


async def read_thread(
    s: AsyncSession,
    patient_id: int,
    reader: Side,
    *,
    now: dt.datetime,
    actor: audit.Actor,
) -> tuple[list[FamilyMessage], list[int]]:
    """The thread's newest messages, oldest first; audited as one read of the thread. The
    family's read marks the team's messages read (they are on the family's screen); the team
    marks the family's read explicitly (``mark_read``), when a person has the thread open.
    Returns the messages and the ids this read marked read."""
    rows = list(
        (
            await s.scalars(
                select(FamilyMessage)
                .where(FamilyMessage.patient_id == patient_id)
                .order_by(FamilyMessage.received_at.desc(), FamilyMessage.id.desc())
                .limit(THREAD_LIMIT)
            )
        ).all()
    )
    rows.reverse()
    await audit.record_event(
        s,
        now,
        actor,
        "read",
        "family_message_thread",
        patient_id,
        patient_id=patient_id,
        detail=f"{len(rows)} messages",
    )
    marked: list[int] = []
    if reader == FAMILY:
        marked = await mark_read(s, patient_id, FAMILY, up_to_id=None, now=now, actor=actor)
        # The rows on screen say so too (their read_at was set by an UPDATE).
        for row in rows:
            if row.id in marked:
                row.read_at = now
    return rows, marked


async def mark_read(
    s: AsyncSession,
    patient_id: int,
    reader: Side,
    *,
    up_to_id: int | None,
    now: dt.datetime,
    actor: audit.Actor,
    user_id: int | None = None,
) -> list[int]:
    """Mark the other side's unread messages (up to ``up_to_id``) read by ``reader``; one
    audit row per message marked. Returns their ids."""
    other = TEAM if reader == FAMILY else FAMILY
    query = select(FamilyMessage.id).where(
        FamilyMessage.patient_id == patient_id,
        FamilyMessage.sender == other,
        FamilyMessage.read_at.is_(None),
    )
    if up_to_id is not None:
        query = query.where(FamilyMessage.id <= up_to_id)
    ids = list((await s.scalars(query)).all())
    if not ids:
        return []
    await s.execute(
        update(FamilyMessage)
        .where(FamilyMessage.id.in_(ids), FamilyMessage.read_at.is_(None))
        .values(read_at=now, read_by=user_id)
        .execution_options(synchronize_session=False)
    )
    for message_id in ids:
        await audit.record_event(
            s,
            now,
            actor,
            "mark_read",
            "family_message",
            message_id,
            patient_id=patient_id,
            detail=f"read by the {reader}",
        )
    return ids


async def unread_by_team(s: AsyncSession, patient_ids: Collection[int]) -> list[dict[str, Any]]:
    """Per patient with family messages the team has not read: how many, and the newest."""
    if not patient_ids:
        return []
    rows = await s.execute(
        select(
            FamilyMessage.patient_id,
            Patient.name,
            func.count(FamilyMessage.id),
            func.max(FamilyMessage.received_at),
        )
        .join(Patient, Patient.id == FamilyMessage.patient_id)
        .where(
            FamilyMessage.patient_id.in_(patient_ids),
            FamilyMessage.sender == FAMILY,
            FamilyMessage.read_at.is_(None),
        )
        .group_by(FamilyMessage.patient_id, Patient.name)
    )
    found = [
        {"patient_id": pid, "patient_name": name, "unread": int(n), "newest_at": newest}
        for pid, name, n, newest in rows
    ]
    return sorted(found, key=lambda r: r["newest_at"], reverse=True)


async def staff_names(s: AsyncSession, rows: Collection[FamilyMessage]) -> dict[int, str]:
    ids = {r.author_user_id for r in rows if r.author_user_id} | {
        r.read_by for r in rows if r.read_by
    }
    if not ids:
        return {}
    return {u.id: u.name for u in (await s.scalars(select(User).where(User.id.in_(ids)))).all()}


def family_view(row: FamilyMessage) -> dict[str, Any]:
    """What the family sees: who wrote (the team, or the family member's name), the text,
    when, and for its own messages whether the team has read them."""
    return {
        "id": row.id,
        "client_id": row.client_id,
        "sender": row.sender,
        "author": row.author_name if row.sender == FAMILY else None,
        "text": row.body,
        "written_at": row.written_at,
        "received_at": row.received_at,
        "read_at": row.read_at,
    }


def team_view(row: FamilyMessage, names: dict[int, str]) -> dict[str, Any]:
    """What the team sees besides: which member answered, who read it, and why it went on
    the ladder (the red-flag words, out of hours, the alert)."""
    return family_view(row) | {
        "author": (names.get(row.author_user_id or 0) if row.sender == TEAM else row.author_name),
        "read_by": names.get(row.read_by or 0),
        "red_flags": list(row.red_flags or []),
        "after_hours": row.after_hours,
        "alert_id": row.alert_id,
        "via": "diary" if row.diary_link_id else ("visit" if row.join_link_id else None),
    }


async def message_evidence(
    s: AsyncSession, alerts: Collection[Alert]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The family messages message alerts quote, by (patient, client id), in one query: the
    evidence in words (what the family wrote, when, and the red-flag words found)."""
    wanted = {(a.patient_id, c) for a in alerts if a.rule_id == MESSAGE_RULE for c in a.evidence}
    if not wanted:
        return {}
    found = (
        await s.scalars(
            select(FamilyMessage).where(
                FamilyMessage.patient_id.in_({p for p, _ in wanted}),
                FamilyMessage.client_id.in_({c for _, c in wanted}),
            )
        )
    ).all()
    return {
        (m.patient_id, m.client_id): {
            "text": m.body,
            "received_at": m.received_at.isoformat(),
            "red_flags": list(m.red_flags or []),
            "after_hours": m.after_hours,
        }
        for m in found
        if (m.patient_id, m.client_id) in wanted
    }

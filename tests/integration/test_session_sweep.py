"""The socket sweep's session check (``VisitGate.ended_sessions``): it reads every connected
socket's session beside the writer, and writes only for the sessions that ended or that an
ongoing call keeps alive, with the same rules as a request's check."""

from __future__ import annotations

from sqlalchemy import select, update

from server.realtime.gate import VisitGate
from server.store.models import JoinLink
from server.store.models import Session as SessionRow


async def _sessions(db, world) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        rows = (await s.scalars(select(SessionRow))).all()
    staff = next(r.id_hash for r in rows if r.user_id == world.users["clin_a"].id)
    family = next(r.id_hash for r in rows if r.kind != "staff")
    return staff, family


async def _last_seen(db, key: str):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        row = await s.get(SessionRow, key)
        return None if row is None else row.last_seen_at


async def test_the_sweep_ends_what_a_request_would_end_and_touches_live_calls(
    client, world, db, clock
) -> None:
    await world.agent("clin_a")
    await world.agent("family_a")
    staff, family = await _sessions(db, world)
    gate = VisitGate(client.server.app)
    started = await _last_seen(db, staff)

    # Fresh sessions stand; nothing is written.
    assert await gate.ended_sessions({staff: True, family: True}) == set()
    assert await _last_seen(db, staff) == started

    # A minute on, the clinician in a live call counts as active: touched, not ended.
    clock.advance(seconds=61)
    assert await gate.ended_sessions({staff: True, family: False}) == set()
    assert await _last_seen(db, staff) == clock.now()
    assert await _last_seen(db, family) == started

    # Idle past the limit and not in a call: the staff session ends, the family's stands.
    clock.advance(minutes=15, seconds=1)
    assert await gate.ended_sessions({staff: False, family: False}) == {staff}
    assert await _last_seen(db, staff) is None

    # A revoked link ends the family's session; a session gone already counts as ended.
    async with db.begin() as s:
        await s.execute(update(JoinLink).values(revoked_at=clock.now()))
    assert await gate.ended_sessions({family: True, staff: True}) == {family, staff}
    assert await _last_seen(db, family) is None

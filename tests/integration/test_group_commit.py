"""Readings and diary entries that arrive together share one transaction (group commit), and
each is still answered on its own: a bad message is nacked alone, an ack means the reading
is stored, a care-plan change counts from the next reading, and parallel diary entries on
SQLite queue for the writer instead of failing with a 503."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import event, func, select

from server.core.crypto import audit_chain_key
from server.services.readings import Enterer, Outcome, accept_message, readings_batcher
from server.services.visit_context import loads_in_process
from server.store import audit_chain
from server.store.between_visits import DiaryEntry
from server.store.db import Database
from server.store.models import AuditEvent, Reading
from tests.builders import World
from tests.integration.test_between_visits import diary_token, entry, ladder_plan


def spo2(value: float, at: str, rid: str | None = None) -> dict[str, Any]:
    return {
        "id": rid or str(uuid.uuid4()),
        "kind": "spo2",
        "value": value,
        "unit": "%",
        "taken_at": at,
        "source": "manual",
    }


async def send(db: Database, clock: Any, world: World, message: dict[str, Any]) -> Outcome:
    return await accept_message(
        db,
        clock,
        encounter_id=world.encounters["a"].id,
        who=Enterer(world.users["clin_a"].id, None, "clinician"),
        text=json.dumps(message),
    )


async def stored_values(db: Database) -> dict[str, float | None]:
    async with db.begin() as s:
        rows = (await s.execute(select(Reading.client_id, Reading.value))).all()
    return {client_id: value for client_id, value in rows}


async def reading_audit_rows(db: Database) -> list[AuditEvent]:
    async with db.begin() as s:
        query = select(AuditEvent).where(
            AuditEvent.resource_type == "reading", AuditEvent.action == "create"
        )
        return list((await s.scalars(query)).all())


async def test_a_batch_with_one_bad_message_nacks_it_alone_and_stores_the_rest_once(
    client, world: World, clock, db: Database
) -> None:
    clock.set(world.encounters["a"].starts_at)
    at = clock.now().isoformat()
    first = spo2(96, at)
    assert (await send(db, clock, world, first)).reply == {"ack": first["id"]}
    good = [spo2(95, at) for _ in range(10)]
    reused = spo2(80, at, rid=first["id"])  # the same id for a different reading
    early = spo2(95, (world.encounters["a"].starts_at.replace(year=2000)).isoformat())
    batcher = readings_batcher(db)
    batches = batcher.batches
    # Sent together, so they meet in one batch; a message sent twice in it is stored once.
    messages = [*good[:5], reused, good[0], early, *good[5:]]
    outcomes = await asyncio.gather(*(send(db, clock, world, m) for m in messages))
    assert batcher.batches == batches + 1
    replies = [o.reply for o in outcomes]
    assert replies[5] == {
        "nack": first["id"],
        "code": "id_reused",
        "error": "This id was already used for a different reading.",
    }
    assert replies[7]["nack"] == early["id"] and replies[7]["code"] == "before_start"
    for message, reply in zip(messages, replies, strict=True):
        if message not in (reused, early):
            assert reply == {"ack": message["id"]}
    # Each good reading once; the first keeps its value; nothing of the refused ones.
    values = await stored_values(db)
    assert values == {first["id"]: 96, **{m["id"]: 95 for m in good}}
    # The resend within the batch was pushed once, by the message that stored it.
    assert sum(len(o.stored) for o in outcomes) == len(good)
    # One audit row for the batch (one visit, one enterer), naming how many it stored.
    rows = await reading_audit_rows(db)
    assert len(rows) == 2
    assert rows[-1].detail == f"{len(good)} readings"
    assert rows[-1].encounter_id == world.encounters["a"].id


async def test_a_reading_is_acked_only_once_its_batch_committed(
    client, world: World, clock, db: Database, settings
) -> None:
    clock.set(world.encounters["a"].starts_at)
    at = clock.now().isoformat()
    waves = [[spo2(95, at) for _ in range(8)] for _ in range(3)]
    # The commit of whichever transaction inserted the second wave's readings fails (how
    # the waves split into batches depends on timing; each batch is its own transaction).
    doomed = [m["id"] for m in waves[1]]

    def note_the_second_wave(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any):
        if statement.lstrip().upper().startswith("INSERT") and any(
            i in repr(parameters) for i in doomed
        ):
            conn.info["doomed"] = True

    def fail_its_commit(conn: Any) -> None:
        if conn.info.pop("doomed", False):
            raise RuntimeError("the disk is full")

    def forget(conn: Any) -> None:
        conn.info.pop("doomed", None)

    engine = db.engine.sync_engine
    hooks = [
        ("before_cursor_execute", note_the_second_wave),
        ("commit", fail_its_commit),
        ("rollback", forget),
    ]
    outcomes: list[list[Outcome | BaseException]] = []
    for name, hook in hooks:
        event.listen(engine, name, hook)
    try:
        for wave in waves:
            outcomes.append(
                await asyncio.gather(
                    *(send(db, clock, world, m) for m in wave), return_exceptions=True
                )
            )
    finally:
        for name, hook in hooks:
            event.remove(engine, name, hook)
    values = await stored_values(db)
    acked = {
        o.reply["ack"]
        for wave in outcomes
        for o in wave
        if isinstance(o, Outcome) and "ack" in o.reply
    }
    failed = [o for o in outcomes[1] if isinstance(o, BaseException)]
    assert len(failed) == len(waves[1]), "the batch whose commit failed acked nothing"
    assert acked == {m["id"] for m in waves[0] + waves[2]}
    assert set(values) == acked

    # The app stopping mid-stream: whatever is in flight is written, then answered.
    other = Database(db.url)
    key = audit_chain_key(settings.audit_key, settings.secret_key)
    assert key is not None
    audit_chain.use_key(other.sessionmaker, key)
    late = [spo2(94, at) for _ in range(40)]
    sending = [asyncio.ensure_future(send(other, clock, world, m)) for m in late]
    await asyncio.sleep(0)
    await other.dispose()
    answered = await asyncio.gather(*sending)
    assert [o.reply for o in answered] == [{"ack": m["id"]} for m in late]
    assert set(await stored_values(db)) >= {m["id"] for m in late}


async def test_a_care_plan_change_counts_from_the_next_reading(client, world: World, clock) -> None:
    clock.set(world.encounters["a"].starts_at)
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    encounter_id = world.encounters["a"].id

    async def post_spo2(value: float) -> None:
        status, body = await clin.call(
            "POST", f"/api/encounters/{encounter_id}/readings", spo2(value, clock.now().isoformat())
        )
        assert status == 201, body

    async def open_vital_alerts() -> int:
        coord = await world.agent("coord_a")
        status, body = await coord.call("GET", "/api/alerts")
        assert status == 200, body
        return sum(1 for a in body["items"] if a["rule_id"] == "vital_out_of_band")

    status, body = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": ladder_plan(world)}
    )
    assert status == 200, body
    # 92 % is inside the home default band (>= 90): no alert.
    await post_spo2(92)
    assert await open_vital_alerts() == 0
    # The visit's context (plan included) is kept: more readings ask nothing about the visit.
    loads = loads_in_process()
    await post_spo2(93)
    await post_spo2(92)
    assert loads_in_process() == loads
    plan = ladder_plan(world) | {"vital_bands": {"spo2": {"unit": "%", "low": 94}}}
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    # The same value, the very next reading: the saved plan dropped the kept context, and
    # the reading is now under this patient's own limit.
    await post_spo2(92)
    assert loads_in_process() == loads + 1
    assert await open_vital_alerts() == 1


async def test_parallel_diary_entries_and_writes_never_meet_a_503(
    client, world: World, clock, db: Database
) -> None:
    clock.set(world.encounters["a"].starts_at)
    token = await diary_token(world)
    clin = await world.agent("clin_a")
    family = await world.agent()
    patient_id = world.patients["a"].id
    now = clock.now()

    # Up to the link throttle's burst in flight at once (it counts requests in flight).
    in_flight = asyncio.Semaphore(8)

    async def diary(n: int) -> int:
        async with in_flight:
            status, body = await family.call(
                "POST", "/api/diary", {"token": token, "entry": entry(f"e{n}", now, pain=n % 4)}
            )
        assert status in (200, 201), body
        return status

    async def read_and_write(n: int) -> int:
        # A request that reads first and then writes (an audited read, then a reading).
        status, body = await clin.call("GET", f"/api/patients/{patient_id}/readings")
        assert status == 200, body
        status, body = await clin.call(
            "POST",
            f"/api/encounters/{world.encounters['a'].id}/readings",
            spo2(95, now.isoformat()),
        )
        assert status == 201, body
        return status

    statuses = await asyncio.gather(
        *(diary(n) for n in range(60)), *(read_and_write(n) for n in range(20))
    )
    assert 503 not in statuses
    async with db.begin() as s:
        stored = await s.scalar(
            select(func.count()).select_from(DiaryEntry).where(DiaryEntry.patient_id == patient_id)
        )
    assert stored == 60

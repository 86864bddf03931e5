"""Device readings on the data channel: stored once, pushed live to the clinician, refused
with a clear nack when bad, and nothing lost or doubled across a reconnect."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import func, select

from server.store.models import Reading
from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")
STAMP = "2026-03-02T09:00:00+00:00"


@pytest.fixture
async def call(world, clock):  # type: ignore[no-untyped-def]
    """A clinician and an admitted family member in visit A, both connected with the readings
    channel open (cameras off: the readings travel beside the call, and encoding pictures for
    every test here would only load the shared cores)."""
    # Readings are dated by the server's (fake) clock: the visit starts an hour from it.
    global STAMP
    STAMP = clock.now().isoformat()
    encounter = world.encounters["a"]
    nurse = VisitClient(await world.agent("clin_a"))
    family = VisitClient(await world.agent("family_a"))
    for person in (nurse, family):
        await person.connect()
        await person.join(encounter.id)
    await nurse.call("admit", {"participant_id": family.participant_id})
    await nurse.publish(media=False)
    await family.publish(media=False)
    yield nurse, family
    for person in (nurse, family):
        await person.close()


def simulated(kind: str, value: object, unit: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "value": value,
        "unit": unit,
        "taken_at": STAMP,
        "source": "simulator",
    }


def gatt(hex_bytes: str, characteristic: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "source": "ble",
        "gatt": characteristic,
        "data": base64.b64encode(bytes.fromhex(hex_bytes)).decode(),
        "taken_at": STAMP,
    }


async def _count(db) -> int:  # type: ignore[no-untyped-def]
    async with db.begin() as s:
        return await s.scalar(select(func.count()).select_from(Reading))


async def test_readings_are_acked_stored_and_reach_the_clinician(call, db) -> None:
    nurse, family = call
    message = simulated("spo2", 95, "%")
    assert await family.send_reading(message) == {"ack": message["id"]}
    # A pulse oximeter's spot check: SpO2 97 % and pulse 72 from one characteristic value.
    oximeter = gatt("0061004800", "2a5e")
    assert await family.send_reading(oximeter) == {"ack": oximeter["id"]}
    cuff = gatt("04780050005D004800", "2a35") | {"device": {"model": "UA-651BLE", "id": "dev-1"}}
    assert await family.send_reading(cuff) == {"ack": cuff["id"]}
    await nurse.wait_for(lambda: len(nurse.events["reading"]) == 5)

    def value(r: dict) -> object:  # type: ignore[type-arg]
        v = r["value"]
        return (v["systolic"], v["diastolic"]) if isinstance(v, dict) else float(v)

    got = sorted((r["kind"], value(r)) for r in nurse.events["reading"])
    assert got == [
        ("blood_pressure", (120.0, 80.0)),
        ("heart_rate", 72.0),
        ("heart_rate", 72.0),
        ("spo2", 95.0),
        ("spo2", 97.0),
    ]
    assert await _count(db) == 5
    async with db.begin() as s:
        models = set((await s.scalars(select(Reading.device_model))).all())
    assert models == {None, "UA-651BLE"}


async def test_a_resend_is_acked_again_and_stored_once(call, db) -> None:
    nurse, family = call
    message = simulated("temperature", 37.2, "Cel")
    for _ in range(3):
        assert await family.send_reading(message) == {"ack": message["id"]}
    assert await _count(db) == 1
    changed = {**message, "value": 39.0}
    reply = await family.send_reading(changed)
    assert reply["nack"] == message["id"] and reply["code"] == "id_reused"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (gatt("00", "2a5e"), "bad_gatt"),
        (gatt("0861004800", "2a5e"), "bad_gatt"),  # flags promise a PAI that is absent
        (gatt("0061004800", "2a99"), "unknown_characteristic"),
        (
            {
                "kind": "spo2",
                "value": 95,
                "unit": "%",
                "source": "manual",
                "taken_at": "2026-01-01T00:00:00Z",
            },
            "missing_id",
        ),
        (simulated("spo2", 130, "%"), "out_of_range"),
        (simulated("temperature", 5, "Cel"), "out_of_range"),
        (simulated("spo2", 95, "kg"), "wrong_unit"),
        ("{not json", "bad_message"),
        ({"id": "x", "pad": "y" * 5000}, "too_large"),
    ],
)
async def test_bad_messages_get_a_nack_and_store_nothing(call, db, message, code) -> None:
    nurse, family = call
    reply = await family.send_reading(message)
    assert reply["code"] == code and "nack" in reply and reply["error"]
    assert await _count(db) == 0
    good = simulated("heart_rate", 70, "/min")
    assert await family.send_reading(good) == {"ack": good["id"]}  # the channel stays open


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"id": "big-1", "pad": "' + "y" * 5000 + '"}', "too_large"),
        ('{"id": "deep-1", "x": ' + "[" * 1500 + "]" * 1500 + "}", "bad_message"),
        ('{"id": "cut-1", "kind": "spo2", ', "bad_message"),
    ],
)
async def test_a_message_that_cannot_be_read_is_nacked_by_its_id(call, db, text, code) -> None:
    # The page keeps unacknowledged readings to resend them; a nack naming the id lets it
    # drop one that can never be stored instead of resending it for ever.
    nurse, family = call
    reply = await family.send_reading(text)
    assert reply["code"] == code and reply["nack"] == text.split('"')[3]
    assert await _count(db) == 0


async def test_a_reading_out_of_the_home_band_alerts_the_clinician(call, world) -> None:
    nurse, family = call
    message = simulated("spo2", 86, "%")
    message_id = message["id"]
    await family.send_reading(message)
    await nurse.wait_for(lambda: nurse.events["alert"])
    alert = next(a for a in nurse.events["alert"] if a.get("parameter"))
    assert alert["parameter"] == "spo2" and alert["direction"] == "low"
    assert "below" in alert["summary"]
    # It also joins the coordinator's queue, to climb the ladder if nobody acknowledges it.
    coordinator = await world.agent("coord_a")
    status, queue = await coordinator.call("GET", "/api/alerts")
    assert status == 200
    vitals = [a for a in queue["items"] if a["rule_id"].startswith("vital")]
    assert len(vitals) == 1 and vitals[0]["patient_id"] == world.patients["a"].id
    assert vitals[0]["evidence"] == [message_id]


async def test_a_reconnect_mid_stream_loses_nothing_and_doubles_nothing(call, db, world) -> None:
    nurse, family = call
    sent = [simulated("heart_rate", 60 + i, "/min") for i in range(20)]
    for message in sent[:10]:
        await family.send_reading(message)
    # The connection drops; the page reconnects and resends what it had not seen acked.
    await family.close()
    again = VisitClient(family.agent)
    await again.connect()
    await again.join(world.encounters["a"].id)
    await again.publish(media=False)
    for message in sent[5:]:
        assert await again.send_reading(message) == {"ack": message["id"]}
    await again.close()
    async with db.begin() as s:
        stored = sorted((await s.scalars(select(Reading.client_id))).all())
    assert stored == sorted(m["id"] for m in sent)


async def test_the_api_lists_a_patients_readings_for_the_care_team(call, world) -> None:
    nurse, family = call
    await family.send_reading(simulated("weight", 61.5, "kg"))
    agent = nurse.agent
    status, body = await agent.call(
        "GET", f"/api/patients/{world.patients['a'].id}/readings?kind=weight"
    )
    assert status == 200 and [r["value"] for r in body["items"]] == [61.5]
    outsider = await world.agent("clin_b")
    status, _ = await outsider.call("GET", f"/api/patients/{world.patients['a'].id}/readings")
    assert status == 404
    scheduler = await world.agent("sched")
    status, _ = await scheduler.call("GET", f"/api/patients/{world.patients['a'].id}/readings")
    assert status == 403


async def test_a_clinician_records_breaths_counted_on_video(call, world) -> None:
    nurse, family = call
    message = simulated("respiratory_rate", 18, "/min") | {"source": "manual"}
    status, body = await nurse.agent.call(
        "POST", f"/api/encounters/{world.encounters['a'].id}/readings", message
    )
    assert status == 201 and body == {"ack": message["id"]}
    await nurse.wait_for(
        lambda: any(r["kind"] == "respiratory_rate" for r in nurse.events["reading"])
    )

"""Every kind of reading, walked through the data channel against the patient's own bands: a
value outside the care plan's band (inside the default) raises the in-call and the queued
alert; with monitoring off it raises neither; the visit page's chart data carries the
patient's bands. Blood pressure keeps each component on its own, a glucose meter's value
arrives with its context, and practice readings never reach the FHIR export as real ones."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from encounters.readings import KINDS
from tests.integration import test_visit_readings
from tests.integration.test_between_visits import ladder_plan
from tests.visit_clients import VisitClient

pytestmark = pytest.mark.usefixtures("loopback_ice")
# A clinician and an admitted family member in visit A, both publishing.
visit_call = test_visit_readings.call

# The patient's own bands, each tighter than the home default (or where there is none).
PLAN_BANDS = {
    "spo2": {"unit": "%", "low": 94},
    "heart_rate": {"unit": "/min", "high": 100},
    "respiratory_rate": {"unit": "/min", "high": 20},
    "systolic_bp": {"unit": "mm[Hg]", "low": 100},
    "temperature": {"unit": "Cel", "high": 37.5},
    "weight": {"unit": "kg", "low": 50},
    "glucose": {"unit": "mmol/L", "low": 5, "high": 12},
}
# Per kind: a value outside the plan's band but inside the default, and the parameter it crosses.
OUTSIDE_PLAN_ONLY: dict[str, tuple[object, str, str]] = {
    "spo2": (92, "%", "spo2"),
    "heart_rate": (110, "/min", "heart_rate"),
    "respiratory_rate": (22, "/min", "respiratory_rate"),
    "blood_pressure": ({"systolic": 95, "diastolic": 60}, "mm[Hg]", "systolic_bp"),
    "temperature": (37.8, "Cel", "temperature"),
    "weight": (45, "kg", "weight"),
    "glucose": (4.5, "mmol/L", "glucose"),
}


def message(kind: str, value: object, unit: str, taken_at: str, source: str = "manual") -> dict:  # type: ignore[type-arg]
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "value": value,
        "unit": unit,
        "taken_at": taken_at,
        "source": source,
    }


def gatt(hex_bytes: str, characteristic: str, taken_at: str, **extra: str) -> dict:  # type: ignore[type-arg]
    return {
        "id": str(uuid.uuid4()),
        "source": "ble",
        "gatt": characteristic,
        "data": base64.b64encode(bytes.fromhex(hex_bytes.replace(" ", ""))).decode(),
        "taken_at": taken_at,
        **extra,
    }


async def set_plan(world: Any, **changes: object) -> None:
    clin = await world.agent("clin_a")
    plan = ladder_plan(world) | {"vital_bands": PLAN_BANDS} | changes
    patient_id = world.patients["a"].id
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body


async def fhir_bundle(agent: Any, world: Any) -> dict[str, Any]:
    status, text = await agent.call("GET", f"/api/encounters/{world.encounters['a'].id}/fhir")
    assert status == 200
    bundle: dict[str, Any] = json.loads(text)  # served as application/fhir+json
    return bundle


async def queued_vitals(world: Any) -> list[dict[str, Any]]:
    coordinator = await world.agent("coord_a")
    status, queue = await coordinator.call("GET", "/api/alerts")
    assert status == 200
    return [a for a in queue["items"] if a["rule_id"] == "vital_out_of_band"]


async def send_every_kind(nurse: VisitClient, family: VisitClient, stamp: str) -> list[str]:
    """One reading of each kind outside the plan's band; then a reading inside every band, so
    that once it has arrived every alert of the ones before it has too."""
    ids = []
    for kind, (value, unit, _) in OUTSIDE_PLAN_ONLY.items():
        sent = message(kind, value, unit, stamp)
        assert await family.send_reading(sent) == {"ack": sent["id"]}
        ids.append(sent["id"])
    last = message("heart_rate", 80, "/min", stamp)
    assert await family.send_reading(last) == {"ack": last["id"]}
    await nurse.wait_for(lambda: any(r["id"] == last["id"] for r in nurse.events["reading"]))
    return ids


def test_the_walk_covers_every_reading_kind() -> None:
    assert set(OUTSIDE_PLAN_ONLY) == set(KINDS)


async def test_every_kind_outside_the_patients_own_band_alerts_in_the_call_and_the_queue(
    visit_call, world, clock
) -> None:
    nurse, family = visit_call
    await set_plan(world)
    sent = await send_every_kind(nurse, family, clock.now().isoformat())
    in_call = {a["parameter"] for a in nurse.events["alert"] if a.get("parameter")}
    assert in_call == {parameter for _, _, parameter in OUTSIDE_PLAN_ONLY.values()}
    queued = await queued_vitals(world)
    assert len(queued) == len(KINDS)  # one alert per parameter crossed
    assert sorted(e for a in queued for e in a["evidence"]) == sorted(sent)


async def test_with_monitoring_off_no_kind_raises_an_alert(visit_call, world, clock) -> None:
    nurse, family = visit_call
    await set_plan(world, monitoring_enabled=False)
    await send_every_kind(nurse, family, clock.now().isoformat())
    assert [a for a in nurse.events["alert"] if a.get("parameter")] == []
    assert await queued_vitals(world) == []


async def test_the_visit_page_shades_the_patients_own_bands(world) -> None:
    await set_plan(world)
    clin = await world.agent("clin_a")
    status, html = await clin.call("GET", f"/visit/{world.encounters['a'].id}")
    assert status == 200
    block = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert block is not None
    bands = json.loads(block.group(1))["bands"]
    assert bands["spo2"] == {"low": 94, "high": None, "unit": "%"}
    assert bands["glucose"] == {"low": 5, "high": 12, "unit": "mmol/L"}
    assert "diastolic_bp" not in bands  # neither the plan nor the defaults set one
    # With monitoring off nothing is checked, so nothing is shaded.
    await set_plan(world, monitoring_enabled=False)
    status, html = await clin.call("GET", f"/visit/{world.encounters['a'].id}")
    block = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert block is not None and json.loads(block.group(1))["bands"] == {}


# Blood pressure components -----------------------------------------------------------------


async def test_a_cuffs_nan_systolic_keeps_its_diastolic_in_storage_the_api_and_fhir(
    visit_call, world, clock
) -> None:
    nurse, family = visit_call
    stamp = clock.now().isoformat()
    # Systolic NaN (0x07FF), diastolic 80, mean 93 mmHg.
    cuff = gatt("00 FF07 5000 5D00", "2a35", stamp)
    assert await family.send_reading(cuff) == {"ack": cuff["id"]}
    await nurse.wait_for(lambda: nurse.events["reading"])
    [live] = nurse.events["reading"]
    assert live["value"] == {"systolic": None, "diastolic": 80.0}
    assert live["absent_reasons"] == {"systolic": "not-a-number"}
    clin = await world.agent("clin_a")
    status, listed = await clin.call("GET", f"/api/patients/{world.patients['a'].id}/readings")
    assert status == 200
    [stored] = listed["items"]
    assert (stored["value"], stored["absent_reasons"]) == (live["value"], live["absent_reasons"])
    bundle = await fhir_bundle(clin, world)
    [bp] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "85354-9"
    ]
    parts = {c["code"]["coding"][0]["code"]: c for c in bp["component"]}
    assert parts["8480-6"]["dataAbsentReason"]["coding"][0]["code"] == "not-a-number"
    assert "valueQuantity" not in parts["8480-6"]
    assert parts["8462-4"]["valueQuantity"]["value"] == 80
    assert "dataAbsentReason" not in parts["8462-4"]
    assert parts["8478-0"]["valueQuantity"]["value"] == 93


# Glucose meters -----------------------------------------------------------------------------

# Record 5, base time 2026-03-02 08:55:00, 54 mg/dL (SFLOAT 54 x 10^-5 kg/L), capillary whole
# blood from a finger, and "a context follows". Its context: record 5, before a meal.
GLUCOSE_54_MG_DL = "12 0500 EA07 03 02 08 37 00 36B0 11"
CONTEXT_PREPRANDIAL = "02 0500 01"


async def test_a_glucose_meters_value_and_context_are_stored_checked_and_exported(
    visit_call, world, clock
) -> None:
    nurse, family = visit_call
    await set_plan(world)
    stamp = clock.now().isoformat()
    meter = gatt(
        GLUCOSE_54_MG_DL,
        "2a18",
        stamp,
        context=base64.b64encode(bytes.fromhex(CONTEXT_PREPRANDIAL.replace(" ", ""))).decode(),
    )
    assert await family.send_reading(meter) == {"ack": meter["id"]}
    await nurse.wait_for(lambda: nurse.events["reading"] and nurse.events["alert"])
    [live] = nurse.events["reading"]
    assert (live["kind"], live["value"], live["unit"]) == ("glucose", 54.0, "mg/dL")
    assert live["loinc"] == ["41653-7"]
    assert live["details"]["meal"] == "preprandial"
    assert live["details"]["sample_location"] == "finger"
    [alert] = [a for a in nurse.events["alert"] if a.get("parameter")]
    assert (alert["parameter"], alert["direction"]) == ("glucose", "low")
    clin = await world.agent("clin_a")
    bundle = await fhir_bundle(clin, world)
    [glucose] = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "41653-7"
    ]
    assert glucose["valueQuantity"] == {
        "value": 54,
        "unit": "mg/dL",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
    }
    assert glucose["category"][0]["coding"][0]["code"] == "laboratory"


@pytest.mark.parametrize(
    ("context", "code"),
    [("02 0600 01", "context_mismatch"), ("02 0500", "bad_gatt")],
)
async def test_a_glucose_context_of_another_record_or_malformed_is_nacked(
    visit_call, clock, context: str, code: str
) -> None:
    nurse, family = visit_call
    encoded = base64.b64encode(bytes.fromhex(context.replace(" ", ""))).decode()
    meter = gatt(GLUCOSE_54_MG_DL, "2a18", clock.now().isoformat(), context=encoded)
    reply = await family.send_reading(meter)
    assert reply["nack"] == meter["id"] and reply["code"] == code and reply["error"]


# Practice readings ----------------------------------------------------------------------------


async def test_simulator_readings_are_marked_practice_and_never_exported_as_real(
    visit_call, world, clock
) -> None:
    nurse, family = visit_call
    stamp = clock.now().isoformat()
    practice = message("spo2", 95, "%", stamp, source="simulator")
    real = message("heart_rate", 72, "/min", stamp)
    for sent in (practice, real):
        assert await family.send_reading(sent) == {"ack": sent["id"]}
    await nurse.wait_for(lambda: len(nurse.events["reading"]) == 2)
    marks = {r["kind"]: r["is_practice"] for r in nurse.events["reading"]}
    assert marks == {"spo2": True, "heart_rate": False}
    clin = await world.agent("clin_a")
    bundle = await fhir_bundle(clin, world)
    observed = [
        e["resource"]["code"]["coding"][0]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert observed == ["8867-4"]  # the real pulse only; no SpO2 at all
    assert bundle["meta"]["tag"][0]["code"] == "practice-readings-left-out"

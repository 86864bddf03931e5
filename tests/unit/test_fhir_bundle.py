"""A finished visit as a FHIR R4 transaction Bundle, parsed whole by fhir.resources' models.

fhir.resources has no FHIR R4 (4.0.1) models that run on pydantic 2 (6.4.0 was the last
R4 release, on pydantic 1); its R4B (4.3.0) models are used, and R4B left every resource
used here as R4 has it. What the models cannot check (invariants, codes) is checked below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from encounters.templates import Role, load_template
from encounters.workflow import (
    EncounterState,
    Event,
    EventType,
    StepStatus,
    apply,
    initial_state,
)
from server.services.fhir import build_bundle

TEMPLATE = load_template()
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CLINICIAN_ACTOR, FAMILY_ACTOR = "user:7", "link:3"
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"

ENCOUNTER = {
    "id": 42, "patient_id": 5, "clinician_id": 7, "kind": "video_visit",
    "template": "home_palliative_visit", "status": "finished", "is_drill": False,
    "starts_at": T0, "ends_at": T0 + timedelta(minutes=45),
}  # fmt: skip
PATIENT = {"id": 5, "name": "Edith Example", "birth_date": "1941-07-14",
           "time_zone": "Europe/London", "language": "en"}  # fmt: skip
CLINICIAN = {"id": 7, "name": "Nurse Rowan Example", "role": "clinician"}
FAMILY = [{"id": 11, "name": "Ann Example", "relationship": "daughter"}]
STEPS: list[tuple[str, str | None, dict[str, Any], str]] = [
    ("start", None, {}, CLINICIAN_ACTOR),
    ("complete", "identity", {"name_confirmed": True, "birth_date_confirmed": True,
                              "method": "known_to_clinician", "location": "Home, front room"},
     CLINICIAN_ACTOR),
    ("complete", "consent", {"video_visit": True, "form": "verbal", "consenter": "surrogate",
                             "surrogate_name": "Ann Example", "relationship": "daughter",
                             "recording": False, "share_with_family": True,
                             "shared_with": ["Ann Example", "Tom Example"],
                             "privacy_explained": True}, CLINICIAN_ACTOR),
    ("complete", "assessment", {
        "answered_by": "family",
        "esas": {"pain": 5, "tiredness": 6, "drowsiness": 2, "nausea": 0, "appetite": 7,
                 "shortness_of_breath": 3, "depression": 1, "anxiety": 4, "wellbeing": 6},
        "borg": {"score": 0.5},
        "caregiver": {"coping": 4, "sleep": "poorly", "support_needed": True,
                      "worries": "Nights"},
    }, FAMILY_ACTOR),
    ("complete", "crisis_rehearsal", {"scenario": "breakthrough_pain", "teach_back": [
        {"item": "Call the hospice line first", "result": "correct", "safety_critical": True},
        {"item": "Rescue dose", "result": "partly"}]}, CLINICIAN_ACTOR),
    ("complete", "wrap_up", {"plan": "Review in two days."}, CLINICIAN_ACTOR),
    ("finish", None, {}, CLINICIAN_ACTOR),
]  # fmt: skip


def reading(kind: str, value: Any, unit: str, loinc: list[str], **extra: Any) -> dict[str, Any]:
    """A stored reading as ``server.services.readings.row_to_dict`` gives it."""
    return {"id": f"r-{kind}", "kind": kind, "value": value, "unit": unit,
            "taken_at": (T0 + timedelta(minutes=20)).isoformat(), "received_at": T0.isoformat(),
            "source": "ble", "time_source": "received", "absent_reason": None, "loinc": loinc,
            "encounter_id": 42, "details": {}, **extra}  # fmt: skip


READINGS = [
    reading("spo2", 93.0, "%", ["2708-6", "59408-5"]),
    reading("heart_rate", 88.0, "/min", ["8867-4"]),
    reading("blood_pressure", {"systolic": 112.0, "diastolic": 68.0}, "mm[Hg]", ["85354-9"]),
    reading("temperature", None, "Cel", ["8310-5"], absent_reason="not-a-number"),
    {**reading("heart_rate", 140.0, "/min", ["8867-4"]), "id": "drill-1", "is_drill": True},
]


def finished_state() -> EncounterState:
    state = initial_state(TEMPLATE)
    for minute, (kind, step, answers, actor) in enumerate(STEPS):
        role = Role.FAMILY if actor == FAMILY_ACTOR else Role.CLINICIAN
        at = T0 + timedelta(minutes=5 * minute)
        event = Event(EventType(kind), role, actor, at, step=step, answers=answers)
        state = apply(TEMPLATE, state, event)
    return state


def make_bundle(**changes: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "encounter": ENCOUNTER, "patient": PATIENT, "clinician": CLINICIAN,
        "state": finished_state(), "readings": READINGS, "family": FAMILY,
        "bundle_id": "visit-42", "now": T0 + timedelta(hours=1), **changes,
    }  # fmt: skip
    return build_bundle(**given)


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return make_bundle()


def resources(bundle: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def by_url(bundle: Mapping[str, Any], url: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == url)


def vital(bundle: Mapping[str, Any], code: str) -> dict[str, Any]:
    found = [o for o in resources(bundle, "Observation")
             if code in [c["code"] for c in o["code"]["coding"]]]  # fmt: skip
    assert len(found) == 1
    return found[0]


def references(value: object) -> Iterator[str]:
    if isinstance(value, Mapping):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_the_whole_bundle_parses_as_a_fhir_transaction(bundle: dict[str, Any]) -> None:
    parsed = Bundle.model_validate(json.loads(json.dumps(bundle)))
    assert parsed.type == "transaction"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("QuestionnaireResponse") == 3  # ESAS-r, Borg, caregiver check
    assert kinds.count("Consent") == 1 and kinds.count("Encounter") == 1
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        assert entry["fullUrl"].startswith("urn:uuid:")
        assert entry["request"]["method"] == "POST" and entry["request"]["url"] == kind
        assert entry["request"]["ifNoneExist"].startswith("identifier=")


def test_every_reference_resolves_to_an_entry_of_the_bundle(bundle: dict[str, Any]) -> None:
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"])
    found = list(references(bundle))
    assert found and set(found) <= full_urls


def test_same_visit_gives_the_same_bundle_and_full_urls() -> None:
    assert make_bundle() == make_bundle()
    other = make_bundle(encounter={**ENCOUNTER, "id": 43})
    assert resources(other, "Encounter")[0]["identifier"][0]["value"] == "43"
    first, second = make_bundle()["entry"], other["entry"]
    assert first[0]["fullUrl"] == second[0]["fullUrl"]  # the same patient, the same reading
    assert first[-1]["fullUrl"] == second[-1]["fullUrl"]

    def visit_urls(entries: list[dict[str, Any]]) -> set[str]:
        kinds = ("Encounter", "Consent", "QuestionnaireResponse")
        return {e["fullUrl"] for e in entries if e["resource"]["resourceType"] in kinds}

    assert len(visit_urls(first)) == 5 and visit_urls(first).isdisjoint(visit_urls(second))


def test_encounter_is_a_virtual_r4_encounter_with_its_people(bundle: dict[str, Any]) -> None:
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "VR",
        "display": "virtual",
    }
    assert encounter["status"] == "finished"
    assert encounter["period"]["start"] == T0.isoformat()
    people = [by_url(bundle, p["individual"]["reference"]) for p in encounter["participant"]]
    assert [p["resourceType"] for p in people] == ["Practitioner", "RelatedPerson"]
    assert people[1]["relationship"][0]["coding"][0]["code"] == "DAU"


@pytest.mark.parametrize(
    ("ours", "fhir"),
    [("planned", "planned"), ("in_progress", "in-progress"), ("cancelled", "cancelled")],
)
def test_encounter_status_is_spelt_as_r4_spells_it(ours: str, fhir: str) -> None:
    (encounter,) = resources(make_bundle(encounter={**ENCOUNTER, "status": ours}), "Encounter")
    assert encounter["status"] == fhir


def test_consent_meets_the_r4_invariants_and_names_the_surrogate(bundle: dict[str, Any]) -> None:
    (consent,) = resources(bundle, "Consent")
    assert consent.get("policy") or consent.get("policyRule")  # ppc-1
    assert consent["scope"]["coding"][0]["code"] == "treatment"
    assert consent["patient"]["reference"] == bundle["entry"][0]["fullUrl"]  # ppc-2..5
    (category,) = consent["category"]
    assert {"system": LOINC, "code": "59284-0"}.items() <= category["coding"][0].items()
    (performer,) = consent["performer"]
    assert by_url(bundle, performer["reference"])["name"] == [{"text": "Ann Example"}]
    recording, sharing = consent["provision"]["provision"]
    assert recording["type"] == "deny" and sharing["type"] == "permit"
    shared = [by_url(bundle, a["reference"]["reference"])["name"][0]["text"]
              for a in sharing["actor"]]  # fmt: skip
    assert shared == ["Ann Example", "Tom Example"]


def test_no_consent_resource_while_the_consent_step_is_open() -> None:
    state = finished_state()
    consent = replace(state.steps[1], status=StepStatus.OPEN)
    state = replace(state, steps=(state.steps[0], consent, *state.steps[2:]))
    assert resources(make_bundle(state=state), "Consent") == []


def test_questionnaire_responses_say_who_answered(bundle: dict[str, Any]) -> None:
    responses = resources(bundle, "QuestionnaireResponse")
    esas = next(qr for qr in responses if qr["questionnaire"].endswith("/esas_r"))
    assert esas["status"] == "completed"
    assert by_url(bundle, esas["source"]["reference"])["resourceType"] == "RelatedPerson"
    assert esas["author"] == esas["source"]  # entered on the family's own phone
    assert [i["linkId"] for i in esas["item"]][:2] == ["pain", "tiredness"]
    assert esas["item"][0]["answer"] == [{"valueInteger": 5}]


def test_instrument_totals_are_survey_observations_from_their_response(
    bundle: dict[str, Any],
) -> None:
    totals = [o for o in resources(bundle, "Observation")
              if o["category"][0]["coding"][0]["code"] == "survey"]  # fmt: skip
    assert len(totals) == 2  # the caregiver check has no total
    esas, borg = totals
    assert esas["valueQuantity"]["value"] == 34 and borg["valueQuantity"]["value"] == 0.5
    assert all(c["system"] != LOINC for o in totals for c in o["code"]["coding"])
    assert by_url(bundle, esas["derivedFrom"][0]["reference"])["questionnaire"].endswith("esas_r")
    assert [c["valueQuantity"]["value"] for c in esas["component"]] == [29, 5]


def test_spo2_carries_both_loinc_codes_and_ucum_percent(bundle: dict[str, Any]) -> None:
    spo2 = vital(bundle, "2708-6")
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]
    assert spo2["category"][0]["coding"][0]["code"] == "vital-signs"
    assert spo2["valueQuantity"] == {"value": 93.0, "unit": "%", "system": UCUM, "code": "%"}
    assert spo2["effectiveDateTime"] == READINGS[0]["taken_at"]


def test_blood_pressure_is_a_panel_of_components_without_a_value(bundle: dict[str, Any]) -> None:
    panel = vital(bundle, "85354-9")
    assert not any(key.startswith("value") for key in panel)
    parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in panel["component"]}
    assert parts["8480-6"]["value"] == 112.0 and parts["8462-4"]["value"] == 68.0
    assert {p["code"] for p in parts.values()} == {"mm[Hg]"}


def test_an_absent_device_value_has_a_data_absent_reason_and_no_value(
    bundle: dict[str, Any],
) -> None:
    temperature = vital(bundle, "8310-5")
    assert not any(key.startswith("value") for key in temperature)
    assert temperature["dataAbsentReason"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
        "code": "not-a-number",
    }


def test_drill_readings_are_left_out(bundle: dict[str, Any]) -> None:
    heart = vital(bundle, "8867-4")  # one, not the drill's as well
    assert heart["valueQuantity"]["value"] == 88.0
    drill_visit = make_bundle(encounter={**ENCOUNTER, "is_drill": True})
    assert [o for o in resources(drill_visit, "Observation") if "effectiveDateTime" in o
            and o["category"][0]["coding"][0]["code"] == "vital-signs"] == []  # fmt: skip

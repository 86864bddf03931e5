"""A visit as a FHIR R4 (4.0.1) ``transaction`` Bundle: a pure mapping, no database, no I/O.

In R4, Encounter.class is one Coding (VR); Consent has ``policyRule`` (ppc-1) and
``patient`` (ppc-2..5); instrument totals are ``survey`` Observations derived from their
QuestionnaireResponse; vital signs keep their stored LOINC codes and UCUM units, the BP panel
has components only, and a device's special value becomes ``dataAbsentReason``. fullUrls are
uuid5 of what each entry stands for (same visit, same Bundle), and each entry is a conditional
create on its Hearth identifier. No shipped instrument has a LOINC code for that very
instrument (72514-3 is the pain NRS, not ESAS-r pain): Hearth codes are used.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from encounters.instruments import Instrument, Item, ItemKind
from encounters.templates import Template
from server.services.templates import templates

JsonDict = dict[str, Any]

# Hearth's own code systems, Questionnaires and extensions share one base in every
# deployment, so that a code means the same everywhere; identifiers are per deployment.
CANONICAL_BASE = "http://hearth.example/fhir"
DEFAULT_ID_BASE = f"{CANONICAL_BASE}/id"
HEARTH_CS = f"{CANONICAL_BASE}/CodeSystem"
HEARTH_SD = f"{CANONICAL_BASE}/StructureDefinition"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_THO = "http://terminology.hl7.org/CodeSystem"
ACT_CODE, ROLE_CODE = f"{_THO}/v3-ActCode", f"{_THO}/v3-RoleCode"
PARTICIPATION = f"{_THO}/v3-ParticipationType"
OBSERVATION_CATEGORY = f"{_THO}/observation-category"
CONSENT_SCOPE, CONSENT_ACTION = f"{_THO}/consentscope", f"{_THO}/consentaction"
DATA_ABSENT = f"{_THO}/data-absent-reason"

OUR_STATUSES = ("planned", "in_progress", "finished", "cancelled")  # R4's, spelt with "-"
# VR: patient and practitioner are not in the same place; an in-person visit at home is HH.
VIRTUAL_CLASS = {"system": ACT_CODE, "code": "VR", "display": "virtual"}
ENCOUNTER_CLASS = {"in_person": {"system": ACT_CODE, "code": "HH", "display": "home health"}}
LOINC_DISPLAY = {
    "2708-6": "Oxygen saturation in Arterial blood",
    "59408-5": "Oxygen saturation in Arterial blood by Pulse oximetry",
    "8867-4": "Heart rate",
    "9279-1": "Respiratory rate",
    "85354-9": "Blood pressure panel with all children optional",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8478-0": "Mean blood pressure",
    "8310-5": "Body temperature",
    "29463-7": "Body weight",
}
BP_COMPONENTS = (("systolic", "8480-6"), ("diastolic", "8462-4"))
UNIT_DISPLAY = {"mm[Hg]": "mmHg", "Cel": "°C"}
# Relationships are free text in Hearth; the common ones also get their v3 RoleCode.
RELATIONSHIP_CODES = {
    "wife": "WIFE",
    "husband": "HUSB",
    "spouse": "SPS",
    "partner": "SIGOTHR",
    "daughter": "DAU",
    "son": "SON",
    "mother": "MTH",
    "father": "FTH",
    "sister": "SIS",
    "brother": "BRO",
    "friend": "FRND",
}
SCORE_UNIT = "{score}"


def _iso(value: object) -> str:
    """FHIR dateTime / date text of a datetime, a date or an ISO text (kept as given)."""
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError("A FHIR dateTime with a time needs its UTC offset.")
    return value.isoformat() if isinstance(value, date) else str(value)


def _number(value: object) -> int | float:
    # Totals come as int or as exact decimal text ("0.5"); Borg's halves are exact in binary.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _coding(system: str, code: str, display: object = None) -> JsonDict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _cc(system: str, code: str, display: object = None, text: object = None) -> JsonDict:
    return {"coding": [_coding(system, code, display)], **({"text": text} if text else {})}


def _ref(full_url: str) -> JsonDict:
    return {"reference": full_url}


def _quantity(value: object, unit: str) -> JsonDict:
    shown = UNIT_DISPLAY.get(unit, unit)
    return {"value": _number(value), "unit": shown, "system": UCUM, "code": unit}


def _score_value(value: object) -> JsonDict:
    return _quantity(value, SCORE_UNIT)


def _key(name: str) -> str:
    return name.strip().casefold()


class _Builder:
    """The Bundle's entries, and the people of the visit as entries to refer to."""

    def __init__(self, id_base: str, encounter_id: object, patient: Any, clinician: Any) -> None:
        self.id_base, self.encounter_id = id_base.rstrip("/"), encounter_id
        self.entries: list[JsonDict] = []
        self.resources: dict[str, JsonDict] = {}
        self.family: dict[str, str] = {}  # a known person's name (casefolded) -> fullUrl
        self.participants: list[str] = []  # family on the call, a surrogate who consented
        resource: JsonDict = {"name": [{"text": patient["name"]}]}
        resource["birthDate"] = _iso(patient["birth_date"])
        if patient.get("language"):
            language = _cc("urn:ietf:bcp:47", str(patient["language"]))
            resource["communication"] = [{"language": language, "preferred": True}]
        self.patient = self.add("Patient", str(patient["id"]), resource)
        name = [{"text": clinician["name"]}]
        self.practitioner = self.add("Practitioner", str(clinician["id"]), {"name": name})
        self.clinician_actor = f"user:{clinician['id']}"

    def add(self, kind: str, key: str, resource: JsonDict) -> str:
        full_url = f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"
        if full_url not in self.resources:
            system = f"{self.id_base}/{kind.lower()}"
            ident = {"system": system, "value": key}
            # R4: QuestionnaireResponse.identifier is 0..1, everywhere else 0..*.
            ident_field = ident if kind == "QuestionnaireResponse" else [ident]
            resource = {"resourceType": kind, "identifier": ident_field, **resource}
            request = {"method": "POST", "url": kind, "ifNoneExist": f"identifier={system}|{key}"}
            self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
            self.resources[full_url] = resource
        return full_url

    def related_person(self, key: str, name: str, relationship: object = None) -> str:
        resource: JsonDict = {"active": True, "patient": _ref(self.patient)}
        resource["name"] = [{"text": name}]
        if isinstance(relationship, str) and relationship.strip():
            code = RELATIONSHIP_CODES.get(_key(relationship))
            concept = _cc(ROLE_CODE, code, text=relationship) if code else {"text": relationship}
            resource["relationship"] = [concept]
        url = self.add("RelatedPerson", key, resource)
        self.family.setdefault(_key(name), url)
        return url

    def person_named(self, name: str, relationship: object = None) -> str:
        """A known family member by name, else a new RelatedPerson for this visit."""
        if _key(name) in self.family:
            return self.family[_key(name)]
        key = f"{self.encounter_id}-{uuid.uuid5(_NAMESPACE, _key(name))}"
        return self.related_person(key, name, relationship)


def _encounter(b: _Builder, encounter: Mapping[str, Any], state: Mapping[str, Any]) -> JsonDict:
    start, end = state.get("started_at"), state.get("finished_at")
    if not start:  # not started: the booked time
        start, end = encounter["starts_at"], encounter["ends_at"]
    period = {"start": _iso(start), **({"end": _iso(end)} if end else {})}
    performer = [_cc(PARTICIPATION, "PPRF", "primary performer")]
    participants = [{"type": performer, "individual": _ref(b.practitioner)}]
    part = [_cc(PARTICIPATION, "PART", "Participation")]
    participants += [{"type": part, "individual": _ref(u)} for u in dict.fromkeys(b.participants)]
    kind, status = str(encounter.get("kind") or "video_visit"), str(encounter.get("status"))
    return {
        "status": status.replace("_", "-") if status in OUR_STATUSES else "unknown",
        "class": ENCOUNTER_CLASS.get(kind, VIRTUAL_CLASS),
        "type": [_cc(f"{HEARTH_CS}/encounter-kind", kind)],
        "subject": _ref(b.patient),
        "participant": participants,
        "period": period,
    }


def _provision(code: str, text: str, given: bool, action: str, actors: list[str]) -> JsonDict:
    provision: JsonDict = {
        "type": "permit" if given else "deny",
        "action": [_cc(CONSENT_ACTION, action, action.capitalize())],
        "code": [_cc(f"{HEARTH_CS}/consent-provision", code, text)],
    }
    recipient = _cc(PARTICIPATION, "IRCP", "information recipient")
    if actors:
        provision["actor"] = [{"role": recipient, "reference": _ref(url)} for url in actors]
    return provision


def _consent(b: _Builder, encounter_url: str, step: Mapping[str, Any]) -> JsonDict:
    answers = step["answers"]
    performer = b.patient
    if answers.get("consenter") == "surrogate":
        performer = b.person_named(answers["surrogate_name"], answers.get("relationship"))
        b.participants.append(performer)
    shared = answers.get("share_with_family") is True
    shared_with = [b.person_named(n) for n in answers.get("shared_with", [])] if shared else []
    recording = answers.get("recording") is True
    # ppc-1: the rule consented to is Hearth's consent to a video visit (template step).
    policy = _cc(f"{HEARTH_CS}/consent-policy", "video-visit", "Consent to a Hearth video visit")
    policy["text"] = f"Consent to a video visit ({answers.get('form', 'form not recorded')})"
    return {
        "status": "active",
        "scope": _cc(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_cc(LOINC, "59284-0", "Patient Consent")],
        "patient": _ref(b.patient),
        "dateTime": _iso(step["done_at"]),
        "performer": [_ref(performer)],
        "policyRule": policy,
        "provision": {
            "type": "permit",
            "data": [{"meaning": "related", "reference": _ref(encounter_url)}],
            "provision": [
                _provision("recording", "Recording the visit", recording, "collect", []),
                _provision("sharing", "Sharing with family", shared, "disclose", shared_with),
            ],
        },
    }


def _answer(instrument: Instrument, item: Item, value: object) -> JsonDict:
    if item.kind is ItemKind.BOOLEAN:
        return {"valueBoolean": bool(value)}
    if item.kind is ItemKind.INTEGER:
        return {"valueInteger": int(str(value))}
    if item.kind is ItemKind.DECIMAL:
        return {"valueDecimal": _number(value)}
    if item.kind is ItemKind.CHOICE:
        option = item.option(str(value))
        system = f"{HEARTH_CS}/{instrument.instrument_id}-{item.item_id}"
        return {"valueCoding": _coding(system, str(value), option.label if option else None)}
    return {"valueString": str(value)}


def _response(
    b: _Builder, encounter_url: str, step: Mapping[str, Any], instrument: Instrument, given: Any
) -> JsonDict:
    answered_by = str(step["answers"].get("answered_by", ""))
    # Who answered (patient or proxy, the ESAS-r form's "completed by") is the source.
    sources = {"patient": b.patient, "caregiver_assisted": b.patient}
    family = set(b.participants)  # "family" names a RelatedPerson only if one was on the call
    sources.update(clinician=b.practitioner, family=family.pop() if len(family) == 1 else "")
    source = sources.get(answered_by) or None
    done_by = step.get("done_by") or {}
    by_clinician = done_by.get("id") == b.clinician_actor
    author = b.practitioner if by_clinician else (source if answered_by == "family" else None)
    items = [
        {"linkId": item.item_id, "text": item.text, "answer": [_answer(instrument, item, value)]}
        for item in instrument.items
        if (value := given.get(item.item_id)) is not None
    ]
    return {
        "extension": [{"url": f"{HEARTH_SD}/answered-by", "valueCode": answered_by}],
        "questionnaire": f"{CANONICAL_BASE}/Questionnaire/{instrument.instrument_id}",
        "status": "completed",
        "subject": _ref(b.patient),
        "encounter": _ref(encounter_url),
        "authored": _iso(step.get("answered_at") or step["done_at"]),
        **({"author": _ref(author)} if author else {}),
        **({"source": _ref(source)} if source else {}),
        "item": items,
    }


def _score(
    b: _Builder, encounter_url: str, step: Mapping[str, Any], instrument: Instrument, score: Any
) -> JsonDict:
    label = instrument.scoring.total_label or f"{instrument.short_name} total"
    labels = {s.subscore_id: s.label for s in instrument.scoring.subscores}
    system, prefix = f"{HEARTH_CS}/instrument-score", instrument.instrument_id
    resource: JsonDict = {
        "status": "final",
        "category": [_cc(OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": _cc(system, f"{prefix}.total", label, text=label),
        "subject": _ref(b.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": _iso(step["done_at"]),
        "performer": [_ref(b.practitioner)],
        "valueQuantity": _score_value(score["total"]),
    }
    if score.get("band"):
        band, band_label = str(score["band"]), score.get("band_label")
        band_system = f"{HEARTH_CS}/{prefix}-band"
        resource["interpretation"] = [_cc(band_system, band, band_label, band_label)]
    if subscores := (score.get("subscores") or {}).items():
        resource["component"] = [
            {"code": _cc(system, f"{prefix}.{k}", labels.get(k)), "valueQuantity": _score_value(v)}
            for k, v in subscores
        ]
    return resource


def _assessment(b: _Builder, encounter_url: str, template: Template, step: Any) -> None:
    definition = template.step(str(step["step"]))
    for use in definition.instruments if definition else ():
        given, score = step["answers"].get(use.key), (step.get("scores") or {}).get(use.key)
        if not isinstance(given, Mapping):
            continue
        key, instrument = f"{b.encounter_id}-{step['step']}-{use.key}", use.instrument
        response = _response(b, encounter_url, step, instrument, given)
        qr_url = b.add("QuestionnaireResponse", key, response)
        if isinstance(score, Mapping) and score.get("total") is not None:
            observation = _score(b, encounter_url, step, instrument, score)
            observation["derivedFrom"] = [_ref(qr_url)]
            b.add("Observation", f"{key}-total", observation)


def _vital(b: _Builder, encounter_url: str, reading: Mapping[str, Any]) -> JsonDict:
    codes = [str(code) for code in reading["loinc"]]
    time_source = str(reading.get("time_source") or "received")
    resource: JsonDict = {
        # A reader must know whether effectiveDateTime is the device's clock or the receipt time.
        "extension": [{"url": f"{HEARTH_SD}/time-source", "valueCode": time_source}],
        "status": "final",
        "category": [_cc(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
        "code": {
            "coding": [_coding(LOINC, code, LOINC_DISPLAY.get(code)) for code in codes],
            "text": LOINC_DISPLAY.get(codes[0], str(reading["kind"])),
        },
        "subject": _ref(b.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": _iso(reading["taken_at"]),
    }
    reason = str(reading.get("absent_reason") or "error")
    absent = _cc(DATA_ABSENT, reason)
    value, unit = reading.get("value"), str(reading["unit"])
    if reading["kind"] != "blood_pressure":
        if value is None:
            resource["dataAbsentReason"] = absent
        else:
            resource["valueQuantity"] = _quantity(value, unit)
        return resource
    # The BP panel (LOINC 85354-9) has no value of its own: each part is a component.
    values, parts = dict(value) if isinstance(value, Mapping) else {}, list(BP_COMPONENTS)
    mean = (reading.get("details") or {}).get("mean_arterial_pressure_mmhg")
    if mean is not None:
        values["mean"] = mean
        parts.append(("mean", "8478-0"))
    resource["component"] = []
    for name, code in parts:
        component: JsonDict = {"code": _cc(LOINC, code, LOINC_DISPLAY[code])}
        if values.get(name) is None:
            component["dataAbsentReason"] = absent
        else:
            component["valueQuantity"] = _quantity(values[name], unit)
        resource["component"].append(component)
    return resource


def build_bundle(
    *,
    encounter: Mapping[str, Any],
    patient: Mapping[str, Any],
    clinician: Mapping[str, Any],
    state: Mapping[str, Any],
    readings: Sequence[Mapping[str, Any]],
    bundle_id: str,
    now: datetime,
    family: Sequence[Mapping[str, Any]] = (),
    template: Template | None = None,
    id_base: str = DEFAULT_ID_BASE,
) -> JsonDict:
    """The visit as a FHIR R4 transaction Bundle. ``state``: ``workflow.state_to_dict``'s;
    ``readings``: ``server.services.readings.row_to_dict``'s (drills left out); ``family``:
    the family on the visit; ``template``: the state's by default; ``id_base``: for
    identifier systems.
    """
    if template is None:
        template = templates()[str(state.get("template") or encounter["template"])]
    b = _Builder(id_base, encounter["id"], patient, clinician)
    for member in family:
        b.participants.append(
            b.related_person(str(member["id"]), member["name"], member.get("relationship"))
        )
    encounter_url = b.add("Encounter", str(encounter["id"]), {})
    for step in state.get("steps", []):
        if step.get("status") == "completed" and step.get("kind") == "consent":
            consent = _consent(b, encounter_url, step)
            b.add("Consent", f"{encounter['id']}-{step['step']}", consent)
        elif step.get("status") == "completed" and step.get("kind") == "assessment":
            _assessment(b, encounter_url, template, step)
    # Filled in last: a surrogate who consented is one of the encounter's participants.
    b.resources[encounter_url].update(_encounter(b, encounter, state))
    for reading in readings:
        if not (encounter.get("is_drill") or reading.get("is_drill")):
            key = f"{patient['id']}-{reading['kind']}-{reading['id']}"
            b.add("Observation", key, _vital(b, encounter_url, reading))
    bundle = {"resourceType": "Bundle", "id": bundle_id, "type": "transaction"}
    return {**bundle, "timestamp": _iso(now), "entry": b.entries}

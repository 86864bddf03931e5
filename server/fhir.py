"""A visit as a FHIR R4 (4.0.1) ``transaction`` Bundle: a pure mapping, no database, no I/O.

clinical.md §4: Encounter.class is one Coding (VR, R4 — not R5's list); Consent needs
``policyRule`` (ppc-1) and ``patient`` (ppc-2..5); questionnaire totals are ``survey``
Observations derived from their QuestionnaireResponse; vital signs carry the LOINC codes
stored with each reading (SpO2 both 2708-6 and 59408-5), UCUM units, the BP panel only
components, and a device's special value a ``dataAbsentReason`` instead of a value.

Every ``fullUrl`` is a ``urn:uuid`` derived with uuid5 from what the entry stands for, so
the same visit always gives the same Bundle, and every entry is a conditional create on
its Hearth identifier, so sending the Bundle twice creates nothing twice.
No LOINC code is used for an instrument unless clinical.md names one for that very
instrument: none of the shipped ones has one (72514-3 is the pain NRS, not ESAS-r pain).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from encounters.instruments import Instrument, Item, ItemKind
from encounters.templates import Template
from server.templates import templates

JsonDict = dict[str, Any]

# Hearth's own code systems, Questionnaires and extensions: one base for every deployment,
# so that codes mean the same everywhere. Identifiers are per deployment (``id_base``).
CANONICAL_BASE = "http://hearth.example/fhir"
DEFAULT_ID_BASE = f"{CANONICAL_BASE}/id"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
HEARTH_CS = f"{CANONICAL_BASE}/CodeSystem"
HEARTH_SD = f"{CANONICAL_BASE}/StructureDefinition"

ENCOUNTER_STATUS = {
    "planned": "planned",
    "in_progress": "in-progress",
    "finished": "finished",
    "cancelled": "cancelled",
}
# VR: patient and practitioner not in the same place; an in-person visit at home is HH.
ENCOUNTER_CLASS = {
    "in_person": {"system": ACT_CODE, "code": "HH", "display": "home health"},
}
VIRTUAL_CLASS = {"system": ACT_CODE, "code": "VR", "display": "virtual"}
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
UNIT_DISPLAY = {"mm[Hg]": "mmHg", "Cel": "°C", "/min": "/min", "%": "%", "kg": "kg"}
ABSENT_DISPLAY = {
    "not-a-number": "Not a Number (NaN)",
    "positive-infinity": "Positive Infinity (PINF)",
    "negative-infinity": "Negative Infinity (NINF)",
    "error": "Error",
}
# Family relationships are free text in Hearth; the common ones also get a v3 RoleCode.
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
    "neighbour": "NBOR",
    "neighbor": "NBOR",
    "niece": "NIECE",
    "nephew": "NEPHEW",
    "grandchild": "GRNDCHILD",
}


def _urn(*parts: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(str(p) for p in parts))}"


def _iso(value: object) -> str:
    """FHIR dateTime / date text of a datetime, a date or an ISO text (kept as given)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("A FHIR dateTime with a time needs its UTC offset.")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _number(value: object) -> int | float:
    # Totals arrive as int or as exact decimal text ("0.5"); Borg steps are exact in binary.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def _cc(system: str, code: str, display: str | None = None, text: str | None = None) -> JsonDict:
    coding: JsonDict = {"system": system, "code": code}
    if display:
        coding["display"] = display
    concept: JsonDict = {"coding": [coding]}
    if text:
        concept["text"] = text
    return concept


def _ref(full_url: str) -> JsonDict:
    return {"reference": full_url}


def _category(code: str, display: str) -> list[JsonDict]:
    return [_cc(OBSERVATION_CATEGORY, code, display)]


class _Bundle:
    """Collects entries; each is a conditional create on its Hearth identifier."""

    def __init__(self, id_base: str) -> None:
        self.id_base = id_base.rstrip("/")
        self.entries: list[JsonDict] = []
        self.by_url: dict[str, JsonDict] = {}

    def add(self, kind: str, key: str, resource: JsonDict) -> str:
        full_url = _urn(kind, key)
        if full_url in self.by_url:
            return full_url
        system = f"{self.id_base}/{kind.lower()}"
        identifier = {"system": system, "value": key}
        # R4: QuestionnaireResponse.identifier is 0..1, everywhere else 0..*.
        resource = {
            "resourceType": kind,
            "identifier": identifier if kind == "QuestionnaireResponse" else [identifier],
            **resource,
        }
        entry = {
            "fullUrl": full_url,
            "resource": resource,
            "request": {"method": "POST", "url": kind, "ifNoneExist": f"identifier={system}|{key}"},
        }
        self.entries.append(entry)
        self.by_url[full_url] = resource
        return full_url


class _Visit:
    """The people of one visit as Bundle entries, and the finders the mappings need."""

    def __init__(
        self,
        bundle: _Bundle,
        encounter: Mapping[str, Any],
        patient: Mapping[str, Any],
        clinician: Mapping[str, Any],
        family: Sequence[Mapping[str, Any]],
    ) -> None:
        self.bundle, self.encounter_id = bundle, encounter["id"]
        self.patient = bundle.add("Patient", str(patient["id"]), _patient(patient))
        self.clinician_actor = f"user:{clinician['id']}"
        self.practitioner = bundle.add(
            "Practitioner", str(clinician["id"]), {"name": [{"text": clinician["name"]}]}
        )
        self.family: dict[str, str] = {}
        self.participants: list[str] = []  # family on the call, and a surrogate who consented
        for member in family:
            url = self.related_person(str(member["id"]), member["name"], member.get("relationship"))
            self.family[str(member["name"]).strip().casefold()] = url
            self.participants.append(url)

    def related_person(self, key: str, name: str, relationship: object) -> str:
        resource: JsonDict = {
            "active": True,
            "patient": _ref(self.patient),
            "name": [{"text": name}],
        }
        if isinstance(relationship, str) and relationship.strip():
            code = RELATIONSHIP_CODES.get(relationship.strip().casefold())
            concept = _cc(ROLE_CODE, code, text=relationship) if code else {"text": relationship}
            resource["relationship"] = [concept]
        return self.bundle.add("RelatedPerson", key, resource)

    def person_named(self, name: str, relationship: object = None) -> str:
        """A known family member by name, else a new RelatedPerson for this visit."""
        found = self.family.get(name.strip().casefold())
        if found is not None:
            return found
        key = f"{self.encounter_id}-{uuid.uuid5(_NAMESPACE, name.strip().casefold())}"
        url = self.related_person(key, name, relationship)
        self.family[name.strip().casefold()] = url
        return url

    def only_family_member(self) -> str | None:
        urls = set(self.family.values())
        return urls.pop() if len(urls) == 1 else None

    def actor(self, done_by: object) -> str | None:
        if isinstance(done_by, Mapping) and done_by.get("id") == self.clinician_actor:
            return self.practitioner
        return None


def _patient(patient: Mapping[str, Any]) -> JsonDict:
    resource: JsonDict = {
        "name": [{"text": patient["name"]}],
        "birthDate": _iso(patient["birth_date"]),
    }
    if patient.get("language"):
        resource["communication"] = [
            {"language": _cc("urn:ietf:bcp:47", str(patient["language"])), "preferred": True}
        ]
    return resource


def _encounter(visit: _Visit, encounter: Mapping[str, Any], state: Mapping[str, Any]) -> JsonDict:
    if state.get("started_at"):
        period = {"start": _iso(state["started_at"])}
        if state.get("finished_at"):
            period["end"] = _iso(state["finished_at"])
    else:
        period = {"start": _iso(encounter["starts_at"]), "end": _iso(encounter["ends_at"])}
    participants = [
        {
            "type": [_cc(PARTICIPATION, "PPRF", "primary performer")],
            "individual": _ref(visit.practitioner),
        }
    ]
    participants += [
        {"type": [_cc(PARTICIPATION, "PART", "Participation")], "individual": _ref(url)}
        for url in dict.fromkeys(visit.participants)
    ]
    return {
        "status": ENCOUNTER_STATUS.get(str(encounter.get("status")), "unknown"),
        "class": ENCOUNTER_CLASS.get(str(encounter.get("kind")), VIRTUAL_CLASS),
        "type": [_cc(f"{HEARTH_CS}/encounter-kind", str(encounter.get("kind", "video_visit")))],
        "subject": _ref(visit.patient),
        "participant": participants,
        "period": period,
    }


def _provision(code: str, display: str, given: bool, action: str, actors: list[str]) -> JsonDict:
    provision: JsonDict = {
        "type": "permit" if given else "deny",
        "action": [_cc(CONSENT_ACTION, action, action.capitalize())],
        "code": [_cc(f"{HEARTH_CS}/consent-provision", code, display)],
    }
    if actors:
        provision["actor"] = [
            {"role": _cc(PARTICIPATION, "IRCP", "information recipient"), "reference": _ref(url)}
            for url in actors
        ]
    return provision


def _consent(visit: _Visit, encounter_url: str, step: Mapping[str, Any]) -> JsonDict:
    answers = step["answers"]
    if answers.get("consenter") == "surrogate":
        performer = visit.person_named(answers["surrogate_name"], answers.get("relationship"))
        visit.participants.append(performer)
    else:
        performer = visit.patient
    shared = answers.get("share_with_family") is True
    shared_with = [visit.person_named(n) for n in answers.get("shared_with", [])] if shared else []
    return {
        "status": "active",
        "scope": _cc(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_cc(LOINC, "59284-0", "Patient Consent")],
        "patient": _ref(visit.patient),
        "dateTime": _iso(step["done_at"]),
        "performer": [_ref(performer)],
        # ppc-1: the rule consented to is Hearth's, stated in the visit template.
        "policyRule": _cc(
            f"{HEARTH_CS}/consent-policy",
            "video-visit",
            "Consent to a Hearth video visit",
            text=f"Consent form: {answers.get('form', 'verbal')}",
        ),
        "provision": {
            "type": "permit",
            "actor": [
                {
                    "role": _cc(PARTICIPATION, "PPRF", "primary performer"),
                    "reference": _ref(visit.practitioner),
                }
            ],
            "data": [{"meaning": "related", "reference": _ref(encounter_url)}],
            "provision": [
                _provision(
                    "recording",
                    "Recording of the video visit",
                    answers.get("recording") is True,
                    "collect",
                    [],
                ),
                _provision(
                    "share-with-family",
                    "Sharing the visit record with family",
                    shared,
                    "disclose",
                    shared_with,
                ),
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
        return {
            "valueCoding": _cc(system, str(value), option.label if option else None)["coding"][0]
        }
    return {"valueString": str(value)}


def _questionnaire_response(
    visit: _Visit,
    encounter_url: str,
    step: Mapping[str, Any],
    instrument: Instrument,
    given: Mapping[str, Any],
) -> JsonDict:
    answered_by = str(step["answers"].get("answered_by", ""))
    # clinical.md §1.1: who answered is QuestionnaireResponse.source (patient vs proxy).
    source = {
        "patient": visit.patient,
        "caregiver_assisted": visit.patient,
        "clinician": visit.practitioner,
        "family": visit.only_family_member(),
    }.get(answered_by)
    resource: JsonDict = {
        "extension": [{"url": f"{HEARTH_SD}/answered-by", "valueCode": answered_by}],
        "questionnaire": f"{CANONICAL_BASE}/Questionnaire/{instrument.instrument_id}",
        "status": "completed",
        "subject": _ref(visit.patient),
        "encounter": _ref(encounter_url),
        "authored": _iso(step.get("answered_at") or step["done_at"]),
        "item": [
            {
                "linkId": item.item_id,
                "text": item.text,
                "answer": [_answer(instrument, item, given[item.item_id])],
            }
            for item in instrument.items
            if given.get(item.item_id) is not None
        ],
    }
    author = visit.actor(step.get("done_by"))
    if author is None and answered_by == "family" and source is not None:
        author = source
    if author is not None:
        resource["author"] = _ref(author)
    if source is not None:
        resource["source"] = _ref(source)
    return resource


def _score_quantity(value: object) -> JsonDict:
    return {"value": _number(value), "unit": "{score}", "system": UCUM, "code": "{score}"}


def _score(
    visit: _Visit,
    encounter_url: str,
    step: Mapping[str, Any],
    instrument: Instrument,
    score: Mapping[str, Any],
    qr_url: str,
) -> JsonDict:
    label = instrument.scoring.total_label or f"{instrument.short_name} total"
    labels = {s.subscore_id: s.label for s in instrument.scoring.subscores}
    system = f"{HEARTH_CS}/instrument-score"
    resource: JsonDict = {
        "status": "final",
        "category": _category("survey", "Survey"),
        "code": _cc(system, f"{instrument.instrument_id}.total", label, text=label),
        "subject": _ref(visit.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": _iso(step["done_at"]),
        "performer": [_ref(visit.practitioner)],
        "valueQuantity": _score_quantity(score["total"]),
        "derivedFrom": [_ref(qr_url)],
    }
    if score.get("band"):
        band_system = f"{HEARTH_CS}/{instrument.instrument_id}-band"
        resource["interpretation"] = [
            _cc(band_system, str(score["band"]), score.get("band_label"), score.get("band_label"))
        ]
    subscores = score.get("subscores") or {}
    if subscores:
        resource["component"] = [
            {
                "code": _cc(system, f"{instrument.instrument_id}.{key}", labels.get(key)),
                "valueQuantity": _score_quantity(value),
            }
            for key, value in subscores.items()
        ]
    return resource


def _assessment(
    visit: _Visit, encounter_url: str, template: Template, step: Mapping[str, Any]
) -> None:
    definition = template.step(str(step["step"]))
    if definition is None:
        return
    scores = step.get("scores") or {}
    for use in definition.instruments:
        given = step["answers"].get(use.key)
        if not isinstance(given, Mapping):
            continue
        key = f"{visit.encounter_id}-{step['step']}-{use.key}"
        instrument = use.instrument
        qr_url = visit.bundle.add(
            "QuestionnaireResponse",
            key,
            _questionnaire_response(visit, encounter_url, step, instrument, given),
        )
        score = scores.get(use.key)
        if isinstance(score, Mapping) and score.get("total") is not None:
            visit.bundle.add(
                "Observation",
                f"{key}-total",
                _score(visit, encounter_url, step, instrument, score, qr_url),
            )


def _quantity(value: object, unit: str) -> JsonDict:
    return {
        "value": _number(value),
        "unit": UNIT_DISPLAY.get(unit, unit),
        "system": UCUM,
        "code": unit,
    }


def _absent(reason: str) -> JsonDict:
    return _cc(DATA_ABSENT, reason, ABSENT_DISPLAY.get(reason))


def _vital(visit: _Visit, encounter_url: str, reading: Mapping[str, Any]) -> JsonDict:
    codes = [str(code) for code in reading["loinc"]]
    resource: JsonDict = {
        "extension": [
            {
                "url": f"{HEARTH_SD}/time-source",
                "valueCode": str(reading.get("time_source") or "received"),
            }
        ],
        "status": "final",
        "category": _category("vital-signs", "Vital Signs"),
        "code": {
            "coding": [
                {
                    "system": LOINC,
                    "code": c,
                    **({"display": LOINC_DISPLAY[c]} if c in LOINC_DISPLAY else {}),
                }
                for c in codes
            ],
            "text": LOINC_DISPLAY.get(codes[0], str(reading["kind"])),
        },
        "subject": _ref(visit.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": _iso(reading["taken_at"]),
    }
    reason = str(reading.get("absent_reason") or "error")
    value, unit = reading.get("value"), str(reading["unit"])
    if reading["kind"] != "blood_pressure":
        if value is None:
            resource["dataAbsentReason"] = _absent(reason)
        else:
            resource["valueQuantity"] = _quantity(value, unit)
        return resource
    # The panel has no value of its own (clinical.md §4.6): each part is a component.
    values = dict(value) if isinstance(value, Mapping) else {}
    components = list(BP_COMPONENTS)
    mean = (reading.get("details") or {}).get("mean_arterial_pressure_mmhg")
    if mean is not None:
        values["mean"] = mean
        components.append(("mean", "8478-0"))
    resource["component"] = []
    for name, code in components:
        component: JsonDict = {"code": _cc(LOINC, code, LOINC_DISPLAY[code])}
        if values.get(name) is None:
            component["dataAbsentReason"] = _absent(reason)
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
    """The visit as a FHIR R4 ``transaction`` Bundle (see the module docstring).

    ``state`` is ``workflow.state_to_dict``'s; ``readings`` are stored readings
    (``server.readings.row_to_dict``) — drill readings are left out. ``template``
    defaults to the shipped template the state names; ``id_base`` is the deployment's
    base for identifier systems (its public URL, say).
    """
    if template is None:
        template = templates()[str(state.get("template") or encounter["template"])]
    bundle = _Bundle(id_base)
    visit = _Visit(bundle, encounter, patient, clinician, family)
    encounter_url = bundle.add("Encounter", str(encounter["id"]), {})
    steps = [s for s in state.get("steps", []) if s.get("status") == "completed"]
    for step in steps:
        if step.get("kind") == "consent":
            bundle.add(
                "Consent", f"{encounter['id']}-{step['step']}", _consent(visit, encounter_url, step)
            )
        elif step.get("kind") == "assessment":
            _assessment(visit, encounter_url, template, step)
    # After the consent step: a surrogate or a named family member becomes a participant.
    bundle.by_url[encounter_url].update(_encounter(visit, encounter, state))
    drill = bool(encounter.get("is_drill"))
    for reading in readings:
        if drill or reading.get("is_drill"):
            continue
        key = f"{patient['id']}-{reading['kind']}-{reading['id']}"
        bundle.add("Observation", key, _vital(visit, encounter_url, reading))
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "transaction",
        "timestamp": _iso(now),
        "entry": bundle.entries,
    }

"""A visit as a FHIR R4 (4.0.1) ``transaction`` Bundle: a pure mapping, no database, no I/O.

In R4, Encounter.class is one Coding (VR); Consent has ``policyRule`` (ppc-1) and
``patient`` (ppc-2..5); instrument totals are ``survey`` Observations derived from their
QuestionnaireResponse; vital signs keep their stored LOINC codes and UCUM units, the BP panel
has components only, and a device's special value becomes ``dataAbsentReason``. fullUrls are
uuid5 of what each entry stands for (same visit, same Bundle), and each entry is a conditional
create on its Hearth identifier. No shipped instrument has a LOINC code for that very
instrument (72514-3 is the pain NRS, not ESAS-r pain): Hearth codes are used.

The visit comes in typed: the booking and the people as the export handler read them
(:mod:`server.services.visit_record`), and the workflow state as the domain's
:class:`~encounters.encounter_state.EncounterState`, so scores keep their exact ``Decimal``
until they are written as JSON numbers here. Only the Bundle that goes out is plain JSON.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from encounters.answers import stored_instrument_answers
from encounters.encounter_state import Actor, EncounterState, JsonValue, StepState, StepStatus
from encounters.instruments import Answer, Instrument, InstrumentScore, Item, ItemKind, Number
from encounters.templates import InstrumentUse, StepKind, Template
from encounters.visit_note import EMPTY_NOTE, NoteRecord
from encounters.vital_signs import LOINC_DISPLAY, PARAMETERS, VITAL_SIGNS
from server.services.fhir_note import add_note
from server.services.templates import templates
from server.services.visit_record import (
    ClinicianFacts,
    EncounterFacts,
    FamilyMemberFacts,
    PatientFacts,
    StoredReading,
)

# A JSON object of the Bundle as it goes out (a resource, an entry, a coding, ...).
JsonObject = dict[str, object]

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
ACT_CODE = f"{_THO}/v3-ActCode"
ROLE_CODE = f"{_THO}/v3-RoleCode"
PARTICIPATION = f"{_THO}/v3-ParticipationType"
OBSERVATION_CATEGORY = f"{_THO}/observation-category"
CONSENT_SCOPE = f"{_THO}/consentscope"
CONSENT_ACTION = f"{_THO}/consentaction"
DATA_ABSENT = f"{_THO}/data-absent-reason"

OUR_STATUSES = ("planned", "in_progress", "finished", "cancelled")  # R4's, spelt with "-"
# VR: patient and practitioner are not in the same place; an in-person visit at home is HH.
VIRTUAL_CLASS = {"system": ACT_CODE, "code": "VR", "display": "virtual"}
ENCOUNTER_CLASS = {"in_person": {"system": ACT_CODE, "code": "HH", "display": "home health"}}
# A reading left out of the bundle because it is practice (a simulator's or a drill's).
PRACTICE_TAG = {
    "system": f"{HEARTH_CS}/bundle-tag",
    "code": "practice-readings-left-out",
    "display": "Practice readings (simulator or drill) are not real measurements: left out",
}
UNIT_DISPLAY = {"mm[Hg]": "mmHg", "Cel": "°C"}  # UCUM codes that are not what a person reads
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


# --- values ----------------------------------------------------------------------------


def _iso(value: datetime | date | str) -> str:
    """FHIR dateTime / date text of a datetime, a date or an ISO text (kept as given)."""
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError("A FHIR dateTime with a time needs its UTC offset.")
    return value.isoformat() if isinstance(value, date) else value


def _json_number(value: Number | float) -> int | float:
    """A JSON number: ints and floats as they are, a Decimal exactly (a whole one as an int).

    Borg's halves are exact in binary, and a float is written as its shortest text, so the
    number in the JSON is the decimal the instrument defines.
    """
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _reading_number(value: object) -> int | float | None:
    """A reading's stored number; anything else is no value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def _coding(system: str, code: str, display: str | None = None) -> JsonObject:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> JsonObject:
    """A CodeableConcept of one coding, with its text when there is one."""
    return {"coding": [_coding(system, code, display)], **({"text": text} if text else {})}


def _ref(full_url: str) -> JsonObject:
    return {"reference": full_url}


def _quantity(value: Number | float, unit: str) -> JsonObject:
    shown = UNIT_DISPLAY.get(unit, unit)
    return {"value": _json_number(value), "unit": shown, "system": UCUM, "code": unit}


def _score_quantity(value: Number) -> JsonObject:
    return _quantity(value, SCORE_UNIT)


def _name_key(name: str) -> str:
    """A person's name as compared: "Ann Example " and "ann example" are one person."""
    return name.strip().casefold()


def _answer_text(answers: Mapping[str, JsonValue], key: str) -> str | None:
    value = answers.get(key)
    return value if isinstance(value, str) else None


def _answer_texts(answers: Mapping[str, JsonValue], key: str) -> list[str]:
    value = answers.get(key)
    return [text for text in value if isinstance(text, str)] if isinstance(value, tuple) else []


def _done_at(step: StepState) -> datetime:
    # The workflow records when every completed step was done.
    if step.done_at is None:
        raise ValueError(f"Completed step '{step.step_id}' has no time it was done.")
    return step.done_at


# --- the Bundle and the people of the visit ---------------------------------------------

SINGLE_IDENTIFIER = ("QuestionnaireResponse", "Composition")


class _Bundle:
    """The Bundle's entries, each a conditional create on its Hearth identifier."""

    def __init__(self, id_base: str) -> None:
        self.id_base = id_base.rstrip("/")
        self.entries: list[JsonObject] = []
        self.resources: dict[str, JsonObject] = {}  # fullUrl -> its resource

    def add(self, kind: str, key: str, resource: JsonObject) -> str:
        """The fullUrl of the ``kind`` resource Hearth knows as ``key``; added once."""
        full_url = f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"
        if full_url in self.resources:
            return full_url
        system = f"{self.id_base}/{kind.lower()}"
        identifier = {"system": system, "value": key}
        # R4: QuestionnaireResponse.identifier and Composition.identifier are 0..1, everywhere
        # else 0..*.
        identifiers = identifier if kind in SINGLE_IDENTIFIER else [identifier]
        resource = {"resourceType": kind, "identifier": identifiers, **resource}
        request = {"method": "POST", "url": kind, "ifNoneExist": f"identifier={system}|{key}"}
        self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
        self.resources[full_url] = resource
        return full_url


class _People:
    """The people of one visit as Bundle entries, found by who they are in the visit."""

    def __init__(
        self,
        bundle: _Bundle,
        encounter_id: int,
        patient: PatientFacts,
        clinician: ClinicianFacts,
    ) -> None:
        self.bundle = bundle
        self.encounter_id = encounter_id
        self.known_family: dict[str, str] = {}  # a person's name key -> their fullUrl
        # The family on the call, and a surrogate who consented: the Encounter's participants.
        self.participants: list[str] = []
        self.patient = bundle.add("Patient", str(patient["id"]), _patient(patient))
        practitioner: JsonObject = {"name": [{"text": clinician["name"]}]}
        self.practitioner = bundle.add("Practitioner", str(clinician["id"]), practitioner)
        self.clinician_actor = f"user:{clinician['id']}"

    def related_person(self, key: str, name: str, relationship: str | None = None) -> str:
        resource: JsonObject = {"active": True, "patient": _ref(self.patient)}
        resource["name"] = [{"text": name}]
        if relationship is not None and relationship.strip():
            code = RELATIONSHIP_CODES.get(_name_key(relationship))
            concept = (
                _concept(ROLE_CODE, code, text=relationship) if code else {"text": relationship}
            )
            resource["relationship"] = [concept]
        full_url = self.bundle.add("RelatedPerson", key, resource)
        self.known_family.setdefault(_name_key(name), full_url)
        return full_url

    def join(self, member: FamilyMemberFacts) -> None:
        """A family member on the visit becomes one of its participants."""
        key = str(member["id"])
        self.participants.append(self.related_person(key, member["name"], member["relationship"]))

    def person_named(self, name: str, relationship: str | None = None) -> str:
        """A known family member by name, else a new RelatedPerson for this visit."""
        known = self.known_family.get(_name_key(name))
        if known is not None:
            return known
        key = f"{self.encounter_id}-{uuid.uuid5(_NAMESPACE, _name_key(name))}"
        return self.related_person(key, name, relationship)

    def only_participant(self) -> str | None:
        """The one family participant, when there is exactly one to name."""
        distinct = set(self.participants)
        return distinct.pop() if len(distinct) == 1 else None

    def is_the_clinician(self, actor: Actor | None) -> bool:
        return actor is not None and actor.actor_id == self.clinician_actor


def _patient(patient: PatientFacts) -> JsonObject:
    resource: JsonObject = {"name": [{"text": patient["name"]}]}
    resource["birthDate"] = _iso(patient["birth_date"])
    if patient["language"]:
        language = _concept("urn:ietf:bcp:47", patient["language"])
        resource["communication"] = [{"language": language, "preferred": True}]
    return resource


# --- the visit ---------------------------------------------------------------------------


def _encounter(
    people: _People, encounter: EncounterFacts, state: EncounterState | None
) -> JsonObject:
    if state is not None and state.started_at is not None:
        start, end = state.started_at, state.finished_at
    else:  # not started: the booked time
        start, end = encounter["starts_at"], encounter["ends_at"]
    period = {"start": _iso(start), **({"end": _iso(end)} if end else {})}
    performer = [_concept(PARTICIPATION, "PPRF", "primary performer")]
    participants = [{"type": performer, "individual": _ref(people.practitioner)}]
    part = [_concept(PARTICIPATION, "PART", "Participation")]
    participants += [
        {"type": part, "individual": _ref(url)} for url in dict.fromkeys(people.participants)
    ]
    kind, status = encounter["kind"] or "video_visit", encounter["status"]
    return {
        "status": status.replace("_", "-") if status in OUR_STATUSES else "unknown",
        "class": ENCOUNTER_CLASS.get(kind, VIRTUAL_CLASS),
        "type": [_concept(f"{HEARTH_CS}/encounter-kind", kind)],
        "subject": _ref(people.patient),
        "participant": participants,
        "period": period,
    }


def _provision(code: str, text: str, given: bool, action: str, actors: list[str]) -> JsonObject:
    provision: JsonObject = {
        "type": "permit" if given else "deny",
        "action": [_concept(CONSENT_ACTION, action, action.capitalize())],
        "code": [_concept(f"{HEARTH_CS}/consent-provision", code, text)],
    }
    recipient = _concept(PARTICIPATION, "IRCP", "information recipient")
    if actors:
        provision["actor"] = [{"role": recipient, "reference": _ref(url)} for url in actors]
    return provision


def _consent(people: _People, encounter_url: str, step: StepState) -> JsonObject:
    answers = step.answers
    performer = people.patient
    surrogate = _answer_text(answers, "surrogate_name")
    if answers.get("consenter") == "surrogate" and surrogate is not None:
        performer = people.person_named(surrogate, _answer_text(answers, "relationship"))
        people.participants.append(performer)
    shared = answers.get("share_with_family") is True
    shared_with = (
        [people.person_named(name) for name in _answer_texts(answers, "shared_with")]
        if shared
        else []
    )
    recording = answers.get("recording") is True
    form = _answer_text(answers, "form") or "form not recorded"
    # ppc-1: the rule consented to is Hearth's consent to a video visit (template step).
    policy = _concept(
        f"{HEARTH_CS}/consent-policy",
        "video-visit",
        "Consent to a Hearth video visit",
        text=f"Consent to a video visit ({form})",
    )
    return {
        "status": "active",
        "scope": _concept(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_concept(LOINC, "59284-0", "Patient Consent")],
        "patient": _ref(people.patient),
        "dateTime": _iso(_done_at(step)),
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


# --- instruments -------------------------------------------------------------------------


def _answer(instrument: Instrument, item: Item, answer: Answer) -> JsonObject:
    """One item's answer as a QuestionnaireResponse answer of the item's own type."""
    if item.kind is ItemKind.BOOLEAN:
        return {"valueBoolean": bool(answer)}
    if item.kind is ItemKind.INTEGER:
        return {"valueInteger": int(answer)}
    if item.kind is ItemKind.DECIMAL and isinstance(answer, int | Decimal):
        return {"valueDecimal": _json_number(answer)}
    if item.kind is ItemKind.CHOICE:
        code = str(answer)
        option = item.option(code)
        system = f"{HEARTH_CS}/{instrument.instrument_id}-{item.item_id}"
        return {"valueCoding": _coding(system, code, option.label if option else None)}
    return {"valueString": str(answer)}


def _questionnaire_response(
    people: _People,
    encounter_url: str,
    step: StepState,
    instrument: Instrument,
    answers: Mapping[str, Answer],
) -> JsonObject:
    answered_by = _answer_text(step.answers, "answered_by") or ""
    # Who answered (patient or proxy, the ESAS-r form's "completed by") is the source;
    # "family" names a RelatedPerson only when exactly one was on the call.
    sources = {
        "patient": people.patient,
        "caregiver_assisted": people.patient,
        "clinician": people.practitioner,
        "family": people.only_participant(),
    }
    source = sources.get(answered_by) or None
    if people.is_the_clinician(step.done_by):
        author: str | None = people.practitioner
    else:
        author = source if answered_by == "family" else None
    items = [
        {"linkId": item.item_id, "text": item.text, "answer": [_answer(instrument, item, answer)]}
        for item in instrument.items
        if (answer := answers.get(item.item_id)) is not None
    ]
    return {
        "extension": [{"url": f"{HEARTH_SD}/answered-by", "valueCode": answered_by}],
        "questionnaire": f"{CANONICAL_BASE}/Questionnaire/{instrument.instrument_id}",
        "status": "completed",
        "subject": _ref(people.patient),
        "encounter": _ref(encounter_url),
        "authored": _iso(step.answered_at or _done_at(step)),
        **({"author": _ref(author)} if author else {}),
        **({"source": _ref(source)} if source else {}),
        "item": items,
    }


def _score_observation(
    people: _People,
    encounter_url: str,
    step: StepState,
    instrument: Instrument,
    score: InstrumentScore,
    response_url: str,
) -> JsonObject | None:
    """The instrument's total as a survey Observation; None if it has none (caregiver check)."""
    if score.total is None:
        return None
    label = instrument.scoring.total_label or f"{instrument.short_name} total"
    labels = {subscore.subscore_id: subscore.label for subscore in instrument.scoring.subscores}
    system, prefix = f"{HEARTH_CS}/instrument-score", instrument.instrument_id
    resource: JsonObject = {
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "survey", "Survey")],
        "code": _concept(system, f"{prefix}.total", label, text=label),
        "subject": _ref(people.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": _iso(_done_at(step)),
        "performer": [_ref(people.practitioner)],
        "valueQuantity": _score_quantity(score.total),
    }
    if score.band:
        band_system = f"{HEARTH_CS}/{prefix}-band"
        band = _concept(band_system, score.band, score.band_label, score.band_label)
        resource["interpretation"] = [band]
    if score.subscores:
        resource["component"] = [
            {
                "code": _concept(system, f"{prefix}.{key}", labels.get(key)),
                "valueQuantity": _score_quantity(value),
            }
            for key, value in score.subscores.items()
        ]
    resource["derivedFrom"] = [_ref(response_url)]
    return resource


def _instrument(
    bundle: _Bundle,
    people: _People,
    encounter_url: str,
    step: StepState,
    use: InstrumentUse,
) -> None:
    """One answered instrument: its QuestionnaireResponse, and its total if it has one."""
    answers = stored_instrument_answers(use, step.answers)
    if answers is None:
        return
    instrument = use.instrument
    key = f"{people.encounter_id}-{step.step_id}-{use.key}"
    response = _questionnaire_response(people, encounter_url, step, instrument, answers)
    response_url = bundle.add("QuestionnaireResponse", key, response)
    score = step.scores.get(use.key)
    if score is None:
        return
    observation = _score_observation(people, encounter_url, step, instrument, score, response_url)
    if observation is not None:
        bundle.add("Observation", f"{key}-total", observation)


# --- vital signs -------------------------------------------------------------------------


def _vital(people: _People, encounter_url: str, reading: StoredReading) -> JsonObject:
    kind = str(reading["kind"])
    loinc = reading["loinc"]
    codes = [str(code) for code in loinc] if isinstance(loinc, list | tuple) else []
    time_source = str(reading.get("time_source") or "received")
    resource: JsonObject = {
        # A reader must know whether effectiveDateTime is the device's clock or the receipt time.
        "extension": [{"url": f"{HEARTH_SD}/time-source", "valueCode": time_source}],
        "status": "final",
        "category": [_observation_category(kind)],
        "code": {
            "coding": [_coding(LOINC, code, LOINC_DISPLAY.get(code)) for code in codes],
            "text": LOINC_DISPLAY.get(codes[0], kind),
        },
        "subject": _ref(people.patient),
        "encounter": _ref(encounter_url),
        "effectiveDateTime": str(reading["taken_at"]),  # stored as ISO text
    }
    absent = _concept(DATA_ABSENT, str(reading.get("absent_reason") or "error"))
    value, unit = reading.get("value"), str(reading["unit"])
    if kind != "blood_pressure":
        number = _reading_number(value)
        if number is None:
            resource["dataAbsentReason"] = absent
        else:
            resource["valueQuantity"] = _quantity(number, unit)
            comparator = _beyond_range(reading.get("details"))
            if comparator:
                resource["valueQuantity"] = {"comparator": comparator, **_quantity(number, unit)}
        return resource
    # The BP panel (LOINC 85354-9) has no value of its own: each part is a component, each
    # with its own value or its own dataAbsentReason.
    parts: dict[str, object] = dict(value) if isinstance(value, Mapping) else {}
    stored_reasons = reading.get("absent_reasons")
    reasons = dict(stored_reasons) if isinstance(stored_reasons, Mapping) else {}
    details = reading.get("details")
    details = details if isinstance(details, Mapping) else {}
    names = [("systolic", "systolic_bp"), ("diastolic", "diastolic_bp")]
    if "mean_arterial_pressure_mmhg" in details:
        parts["mean"] = details["mean_arterial_pressure_mmhg"]
    if "mean_arterial_absent_reason" in details:
        reasons["mean"] = details["mean_arterial_absent_reason"]
    if "mean" in parts or "mean" in reasons:
        names.append(("mean", "mean_arterial_bp"))
    components: list[JsonObject] = []
    for name, parameter in names:
        code = str(PARAMETERS[parameter].loinc)
        component: JsonObject = {"code": _concept(LOINC, code, LOINC_DISPLAY[code])}
        number = _reading_number(parts.get(name))
        if number is None:
            reason = reasons.get(name) or reading.get("absent_reason") or "error"
            component["dataAbsentReason"] = _concept(DATA_ABSENT, str(reason))
        else:
            component["valueQuantity"] = _quantity(number, unit)
        components.append(component)
    resource["component"] = components
    return resource


def _observation_category(kind: str) -> JsonObject:
    # A meter's blood glucose is a laboratory value (FHIR's vital-signs profile lists its codes).
    categories = {str(k): sign.fhir_category for k, sign in VITAL_SIGNS.items()}
    if categories.get(kind) == "laboratory":
        return _concept(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
    return _concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")


def _beyond_range(details: object) -> str | None:
    """A glucose meter's HI or LO: the value is its limit, the truth beyond it."""
    status = details.get("sensor_status") if isinstance(details, Mapping) else None
    if not isinstance(status, list | tuple):
        return None
    if "result_too_high" in status:
        return ">"
    return "<" if "result_too_low" in status else None


def is_practice(encounter: EncounterFacts, reading: StoredReading) -> bool:
    """A drill's or a simulator's reading: practice, never exported as a real observation."""
    return bool(
        encounter["is_drill"] or reading.get("is_drill") or reading.get("source") == "simulator"
    )


# --- the Bundle --------------------------------------------------------------------------


def build_bundle(
    *,
    encounter: EncounterFacts,
    patient: PatientFacts,
    clinician: ClinicianFacts,
    state: EncounterState | None,
    readings: Sequence[StoredReading],
    bundle_id: str,
    now: datetime,
    family: Sequence[FamilyMemberFacts] = (),
    template: Template | None = None,
    id_base: str = DEFAULT_ID_BASE,
    note: NoteRecord = EMPTY_NOTE,
    note_names: Mapping[int, str] | None = None,
) -> JsonObject:
    """The visit as a FHIR R4 transaction Bundle, ready for ``json.dumps``.

    ``state``: the visit's workflow state, ``None`` before it starts; ``readings``: stored
    readings (drills left out); ``family``: the family on the visit; ``template``: the
    state's by default; ``id_base``: the deployment's base for identifier systems;
    ``note``: the clinician's narrative, sign-off and addenda (``server.services.fhir_note``),
    naming people by user id (``note_names``); a drill's note is practice and left out.
    """
    bundle = _Bundle(id_base)
    people = _People(bundle, encounter["id"], patient, clinician)
    for member in family:
        people.join(member)
    encounter_url = bundle.add("Encounter", str(encounter["id"]), {})
    if state is not None:
        if template is None:
            template = templates()[state.template_id]
        for step in state.steps:
            if step.status is not StepStatus.COMPLETED:
                continue
            if step.kind is StepKind.CONSENT:
                consent = _consent(people, encounter_url, step)
                bundle.add("Consent", f"{encounter['id']}-{step.step_id}", consent)
            elif step.kind is StepKind.ASSESSMENT and (definition := template.step(step.step_id)):
                for use in definition.instruments:
                    _instrument(bundle, people, encounter_url, step, use)
    # Filled in last: a surrogate who consented is one of the encounter's participants.
    bundle.resources[encounter_url].update(_encounter(people, encounter, state))
    if not encounter["is_drill"]:
        add_note(
            bundle.add,
            note=note,
            names=note_names or {},
            encounter_id=encounter["id"],
            subject=people.patient,
            encounter=encounter_url,
            clinician=people.practitioner,
        )
    practice = 0
    for reading in readings:
        if is_practice(encounter, reading):
            practice += 1
            continue
        key = f"{patient['id']}-{reading['kind']}-{reading['id']}"
        bundle.add("Observation", key, _vital(people, encounter_url, reading))
    result: JsonObject = {"resourceType": "Bundle", "id": bundle_id}
    if practice:
        # Said, so a reader of the bundle knows readings were left out and why.
        result["meta"] = {"tag": [PRACTICE_TAG]}
    result.update({"type": "transaction", "timestamp": _iso(now), "entry": bundle.entries})
    return result

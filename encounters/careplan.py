"""The shared care plan: goals, limits of treatment, thresholds, escalation and crisis plan.

Fields follow the usual home crisis-plan checklist and per-patient monitoring (on or off,
target ranges and a ceiling of care); docs/clinical.md describes both. Thresholds and
bands hold only the care team's overrides; :func:`threshold_for` and :func:`band_for` fill
in the defaults. The API's JSON shape is read,
written and compared in :mod:`encounters.careplan_json`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import TypeAlias

from encounters.diary import DIARY_SCORE_ITEMS
from encounters.escalation import EscalationLadder, Tier
from encounters.instruments.model import Instrument, ItemKind, Thresholds
from encounters.vital_signs import BAND_UNITS, DEFAULT_HOME_BANDS, Band

# ESAS-r common bands: >=4 moderate-or-worse, >=7 severe (Selby et al. 2010).
DEFAULT_MODERATE_THRESHOLD = 4
DEFAULT_SEVERE_THRESHOLD = 7
SCORE_MIN, SCORE_MAX = 0, 10
# ESAS-r item ids as the API names them (docs/api.md, assessment step).
ESAS_ITEMS = frozenset(
    {"pain", "tiredness", "drowsiness", "nausea", "appetite", "shortness_of_breath"}
    | {"depression", "anxiety", "wellbeing", "other"}
)
SYMPTOM_ITEMS: frozenset[str] = DIARY_SCORE_ITEMS | ESAS_ITEMS
# The usual UCUM unit of each parameter a plan may set a band for (the vital-sign catalogue's).
VITAL_UNITS: Mapping[str, str] = MappingProxyType({p: units[0] for p, units in BAND_UNITS.items()})
SHORT_TEXT_MAX_CHARS = 200
LONG_TEXT_MAX_CHARS = 4000
LIST_MAX_ITEMS = 50
# A rescue dose every 30 minutes all day is already beyond any kit; more is a typing error.
DOSES_PER_24H_MAX = 48
# E.164 allows 15 digits; emergency numbers (911, 999, 112) have 3.
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 3, 15
PHONE_PATTERN = re.compile(r"\+?[0-9(][0-9 ().-]{0,22}[0-9]|[0-9]")
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
ROLE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


class Place(StrEnum):
    NOT_DISCUSSED = "not_discussed"
    HOME = "home"
    HOSPICE = "hospice"
    HOSPITAL = "hospital"
    CARE_HOME = "care_home"
    OTHER = "other"


class Resuscitation(StrEnum):
    NOT_RECORDED = "not_recorded"
    ATTEMPT_CPR = "attempt_cpr"
    DNR = "dnr"


class CeilingOfCare(StrEnum):
    """The ceiling of treatment: comfort only / selective / full treatment."""

    COMFORT_ONLY = "comfort_only"
    SELECTIVE = "selective"
    FULL = "full"


class CrisisType(StrEnum):
    """The crises a home plan prepares the family for."""

    PAIN = "pain"
    BREATHLESSNESS = "breathlessness"
    HAEMORRHAGE = "haemorrhage"
    SEIZURE = "seizure"
    DELIRIUM = "delirium"
    SPINAL_CORD_COMPRESSION = "spinal_cord_compression"
    HYPERCALCAEMIA = "hypercalcaemia"
    SVC_OBSTRUCTION = "svc_obstruction"
    EXPECTED_DEATH = "expected_death"
    OTHER = "other"


class Route(StrEnum):
    SUBCUTANEOUS = "subcutaneous"
    ORAL = "oral"
    SUBLINGUAL = "sublingual"
    BUCCAL = "buccal"
    RECTAL = "rectal"
    INTRANASAL = "intranasal"
    TRANSDERMAL = "transdermal"
    INTRAMUSCULAR = "intramuscular"
    INTRAVENOUS = "intravenous"


class GivenBy(StrEnum):
    NURSE = "nurse"
    FAMILY_OR_NURSE = "family_or_nurse"


class ContactKind(StrEnum):
    """Call-tree entries in the order a family calls them: the hospice line first."""

    HOSPICE_LINE = "hospice_line"
    COMMUNITY_NURSE = "community_nurse"
    PHYSICIAN = "physician"
    OUT_OF_HOURS = "out_of_hours"
    EMERGENCY_SERVICES = "emergency_services"
    FAMILY = "family"
    OTHER = "other"


@dataclass(frozen=True)
class SymptomThreshold:
    moderate: int = DEFAULT_MODERATE_THRESHOLD
    severe: int = DEFAULT_SEVERE_THRESHOLD


@dataclass(frozen=True)
class AdvanceCare:
    advance_directive_on_file: bool = False
    resuscitation: Resuscitation = Resuscitation.NOT_RECORDED
    polst_on_file: bool = False
    # EMS must see the paper form, so the plan says where in the home it is kept.
    form_location: str = ""


@dataclass(frozen=True)
class CrisisInstruction:
    crisis: CrisisType
    triggers: tuple[str, ...]
    first_steps: tuple[str, ...]


@dataclass(frozen=True)
class JustInCaseMedicine:
    drug: str
    dose: str
    route: Route
    indication: str
    min_interval_min: int
    max_doses_per_24h: int
    given_by: GivenBy
    location: str = ""
    expiry: date | None = None


@dataclass(frozen=True)
class PhoneContact:
    kind: ContactKind
    name: str
    phone: str
    hours: str = ""
    when: str = ""


@dataclass(frozen=True)
class CrisisPlan:
    instructions: tuple[CrisisInstruction, ...] = ()
    medicines: tuple[JustInCaseMedicine, ...] = ()
    call_tree: tuple[PhoneContact, ...] = ()


@dataclass(frozen=True)
class TeamContact:
    name: str
    role: str
    user_id: str | None = None
    phone: str | None = None
    email: str | None = None


# Defaults for a new plan, not a standard: the care team sets its own.
DEFAULT_LADDER = EscalationLadder(
    (
        Tier(1, "On-call nurse", 15, role="on_call_nurse"),
        Tier(2, "Palliative physician", 30, role="palliative_physician"),
        Tier(3, "Emergency guidance", 15, role="coordinator", is_emergency_services=True),
    )
)


def _empty() -> Mapping[str, SymptomThreshold]:
    return MappingProxyType({})


def _no_bands() -> Mapping[str, Band]:
    return MappingProxyType({})


@dataclass(frozen=True)
class CarePlan:
    goals_of_care: str = ""
    preferred_place_of_care: Place = Place.NOT_DISCUSSED
    preferred_place_of_death: Place = Place.NOT_DISCUSSED
    advance_care: AdvanceCare = AdvanceCare()
    ceiling_of_care: CeilingOfCare = CeilingOfCare.FULL
    # On by default: with no decision recorded, a missed deterioration costs more than an alert.
    monitoring_enabled: bool = True
    escalation_ladder: EscalationLadder = DEFAULT_LADDER
    symptom_thresholds: Mapping[str, SymptomThreshold] = field(default_factory=_empty)
    vital_bands: Mapping[str, Band] = field(default_factory=_no_bands)
    crisis_plan: CrisisPlan = CrisisPlan()
    care_team: tuple[TeamContact, ...] = ()


JSONValue: TypeAlias = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]


@dataclass(frozen=True)
class Change:
    path: str
    old: JSONValue
    new: JSONValue


def default_care_plan() -> CarePlan:
    return CarePlan()


def threshold_for(plan: CarePlan, item_id: str) -> SymptomThreshold:
    return plan.symptom_thresholds.get(item_id, SymptomThreshold())


def instrument_thresholds(plan: CarePlan, instrument: Instrument) -> dict[str, Thresholds]:
    """The patient's own cut points for an instrument's items, where the plan sets them: a
    plan threshold applies to a whole-number 0-10 item of the same name (the ESAS-r symptoms
    and the diary's), so a visit flags what the diary flags. Items the plan is silent on keep
    the instrument's defaults."""
    found: dict[str, Thresholds] = {}
    for item_id, limits in plan.symptom_thresholds.items():
        item = instrument.item(item_id)
        if item is None or item.kind is not ItemKind.INTEGER:
            continue
        if item.values and (item.values[0], item.values[-1]) == (SCORE_MIN, SCORE_MAX):
            found[item_id] = Thresholds(limits.moderate, limits.severe)
    return found


def band_for(plan: CarePlan, parameter: str) -> Band | None:
    return plan.vital_bands.get(parameter, DEFAULT_HOME_BANDS.get(parameter))


def bands_in_effect(plan: CarePlan) -> dict[str, Band]:
    """Every band readings are checked against for this patient: the plan's own, the home
    default where it is silent, none at all with monitoring off."""
    if not plan.monitoring_enabled:
        return {}
    found = {name: band_for(plan, name) for name in BAND_UNITS}
    return {name: band for name, band in found.items() if band is not None}


def has_dnr_on_file(plan: CarePlan) -> bool:
    return plan.advance_care.resuscitation is Resuscitation.DNR


def ladder_in_effect(plan: CarePlan) -> EscalationLadder:
    """The ladder capped by the ceiling of care (never advise 911 when the
    goals are comfort only and a DNR is on file): emergency-services tiers are left out, so an
    alert exhausts on the tier before them. Tier 1 is never such a tier (the hospice line comes
    first), so the capped ladder is never empty."""
    ladder = plan.escalation_ladder
    if plan.ceiling_of_care is CeilingOfCare.COMFORT_ONLY and has_dnr_on_file(plan):
        return EscalationLadder(tuple(t for t in ladder.tiers if not t.is_emergency_services))
    return ladder

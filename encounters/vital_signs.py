"""The one catalogue of the vital signs Hearth reads, and the one check against a band.

Per reading kind: the units it is stored in (UCUM), its label, its LOINC codes. Per
parameter (a number a reading carries: a blood pressure carries two): its label, the unit of
its band, its plausibility range and its default home band. Decoding and validation
(:mod:`encounters.readings`, :mod:`encounters.gatt_readings`), the in-call check and the
detection rules (:mod:`encounters.detection`), the charts (the visit page's data) and the
FHIR export read these tables, and nothing else keeps a copy.

Labels are English source strings marked with ``N_`` for the translation catalogue; the
server translates them where a person reads them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final, Literal, get_args

from encounters.errors import ValidationError

Kind = Literal[
    "spo2", "heart_rate", "blood_pressure", "temperature", "weight", "respiratory_rate", "glucose"
]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
Direction = Literal["low", "high"]


def N_(text: str) -> str:
    """Marks a label for translation; Babel extracts ``N_`` (babel.cfg), the server translates."""
    return text


# Glucose: 180.16 g/mol, so 1 mmol/L is 18.016 mg/dL. A meter shows mmol/L to 0.1, so a value
# in mg/dL is compared with a band in mmol/L at that resolution: 72 mg/dL is 4.0 mmol/L, not
# "below 4".
GLUCOSE_MG_DL_PER_MMOL_L: Final = Decimal("18.016")
_RESOLUTION: Final[Mapping[str, Decimal]] = {"mmol/L": Decimal("0.1"), "mg/dL": Decimal(1)}
# How a unit is written after a number where a person reads it.
UNIT_SHOWN: Final[Mapping[str, str]] = MappingProxyType(
    {"%": " %", "/min": "/min", "mm[Hg]": " mmHg", "Cel": " °C", "kg": " kg"}
    | {"mmol/L": " mmol/L", "mg/dL": " mg/dL"}
)


def convert(value: float, unit: str, to_unit: str) -> float:
    """``value`` in ``unit`` expressed in ``to_unit``, at ``to_unit``'s resolution when the
    units differ (only glucose has two)."""
    if unit == to_unit:
        return value
    number = Decimal(str(value)) if math.isfinite(value) else None
    if number is not None and (unit, to_unit) == ("mg/dL", "mmol/L"):
        exact = number / GLUCOSE_MG_DL_PER_MMOL_L
    elif number is not None and (unit, to_unit) == ("mmol/L", "mg/dL"):
        exact = number * GLUCOSE_MG_DL_PER_MMOL_L
    else:
        raise ValidationError(
            f"A value in '{unit}' cannot be compared with a band in '{to_unit}'.",
            code="unit_mismatch",
        )
    try:
        return float(exact.quantize(_RESOLUTION[to_unit], rounding=ROUND_HALF_UP))
    except InvalidOperation:  # too many digits to quantize: far beyond any meter's range
        return float(exact)


@dataclass(frozen=True)
class Band:
    """The care team's limits for one parameter of one patient (or the home default)."""

    parameter: str  # a key of PARAMETERS
    unit: str  # UCUM
    low: float | None = None  # out of band when value < low
    high: float | None = None  # out of band when value > high (>= high if high_inclusive)
    high_inclusive: bool = False

    def __post_init__(self) -> None:
        limits = [limit for limit in (self.low, self.high) if limit is not None]
        if not all(math.isfinite(limit) for limit in limits) or (
            len(limits) == 2 and limits[0] > limits[1]
        ):
            raise ValidationError(
                f"Band '{self.parameter}' needs finite limits with low at most high.",
                code="bad_band",
                field=self.parameter,
            )


def out_of_band(value: float, band: Band, unit: str | None = None) -> Direction | None:
    """Which side of ``band`` the value (in ``unit``, the band's by default) falls on, or
    None when it is inside."""
    if not math.isfinite(value):
        # A NaN compares as "inside" every band; refuse it rather than stay silent.
        raise ValidationError("A value checked against a band must be finite.", code="not_finite")
    value = convert(value, unit or band.unit, band.unit)
    if band.low is not None and value < band.low:
        return "low"
    if band.high is not None and (value >= band.high if band.high_inclusive else value > band.high):
        return "high"
    return None


@dataclass(frozen=True)
class Parameter:
    """One number a reading carries that has a plausibility range and may have a band."""

    name: str
    label: str
    units: tuple[str, ...]  # UCUM; the first is the default unit of its band
    # Physical plausibility (inclusive) in units[0]: outside it a value is a device or typing
    # error and is refused. Not a clinical band.
    plausible: tuple[float, float]
    default_band: Band | None = None
    loinc: str | None = None  # a component's own code (blood pressure)

    @property
    def unit(self) -> str:
        return self.units[0]


@dataclass(frozen=True)
class VitalSign:
    """One kind of reading."""

    kind: Kind
    label: str
    # The units a reading of this kind is stored in; the first is the usual one. Only glucose
    # has two: meters report by mass (mg/dL) or by substance (mmol/L), and both are kept.
    units: tuple[str, ...]
    loinc: Mapping[str, tuple[str, ...]]  # Observation.code codings by stored unit
    parameters: tuple[str, ...]  # the PARAMETERS its value carries, in order
    # FHIR Observation.category: blood glucose is a laboratory value, not a vital sign.
    fhir_category: Literal["vital-signs", "laboratory"] = "vital-signs"

    @property
    def unit(self) -> str:
        return self.units[0]


# Plausibility is wide on purpose: in the last days of life real values go far below hospital
# norms (SpO2 in the 50s, systolic in the 50s, pulse in the 20s, long apnoeic pauses), and such
# patients need individual targets, not refusals. Default bands are generic home bands, a common
# convention and not a standard: SpO2 < 90 %; RR > 24 or < 10 /min; HR > 120 or < 50 /min;
# SBP < 90 mmHg; temperature >= 38.0 °C; glucose < 4 mmol/L (hypoglycaemia) or > 15 mmol/L.
PARAMETERS: Final[Mapping[str, Parameter]] = MappingProxyType(
    {
        # 100 % is the ceiling. Oximeters show values below their 70-100 % accuracy range
        # (ISO 80601-2-61), and a dying patient's 40-60 % is real.
        "spo2": Parameter(
            "spo2", N_("Oxygen saturation"), ("%",), (20.0, 100.0), Band("spo2", "%", low=90.0)
        ),
        # Wider than oximeter and cuff display ranges (about 20-300 /min) at both ends.
        "heart_rate": Parameter(
            "heart_rate",
            N_("Pulse"),
            ("/min",),
            (10.0, 350.0),
            Band("heart_rate", "/min", low=50.0, high=120.0),
        ),
        # 0 is a real count over a 30-60 s window during Cheyne-Stokes apnoea.
        "respiratory_rate": Parameter(
            "respiratory_rate",
            N_("Breathing rate"),
            ("/min",),
            (0.0, 80.0),
            Band("respiratory_rate", "/min", low=10.0, high=24.0),
        ),
        # Home cuffs inflate to about 300 mmHg at most.
        "systolic_bp": Parameter(
            "systolic_bp",
            N_("Systolic blood pressure"),
            ("mm[Hg]",),
            (30.0, 300.0),
            Band("systolic_bp", "mm[Hg]", low=90.0),
            loinc="8480-6",
        ),
        "diastolic_bp": Parameter(
            "diastolic_bp",
            N_("Diastolic blood pressure"),
            ("mm[Hg]",),
            (10.0, 250.0),
            loinc="8462-4",
        ),
        "mean_arterial_bp": Parameter(
            "mean_arterial_bp",
            N_("Mean blood pressure"),
            ("mm[Hg]",),
            (10.0, 300.0),
            loinc="8478-0",
        ),
        # The low 30s °C are real peripherally at the end of life; outside 25-45 °C the
        # thermometer measured the room or a hot drink, not a living body.
        "temperature": Parameter(
            "temperature",
            N_("Temperature"),
            ("Cel",),
            (25.0, 45.0),
            Band("temperature", "Cel", high=38.0, high_inclusive=True),
        ),
        # Paediatric palliative care includes infants; no home scale reads 500 kg.
        "weight": Parameter("weight", N_("Weight"), ("kg",), (0.5, 500.0)),
        # Meters display about 0.6-33.3 mmol/L (10-600 mg/dL); beyond that they say LO or HI.
        # 0.5-60 mmol/L is wider at both ends; outside it the strip or the typing is wrong.
        "glucose": Parameter(
            "glucose",
            N_("Blood glucose"),
            ("mmol/L", "mg/dL"),
            (0.5, 60.0),
            Band("glucose", "mmol/L", low=4.0, high=15.0),
        ),
    }
)

# FHIR Observation.code codings (LOINC). US Core pulse oximetry needs both SpO2 codes; the BP
# panel has no value of its own, only its components (PARAMETERS' loinc). A glucose meter's
# reading is capillary blood by glucometer, by mass or by substance as the meter reports it;
# :func:`glucose_loinc` gives the codes of other samples.
VITAL_SIGNS: Final[Mapping[Kind, VitalSign]] = MappingProxyType(
    {
        "spo2": VitalSign(
            "spo2", N_("Oxygen saturation"), ("%",), {"%": ("2708-6", "59408-5")}, ("spo2",)
        ),
        "heart_rate": VitalSign(
            "heart_rate", N_("Pulse"), ("/min",), {"/min": ("8867-4",)}, ("heart_rate",)
        ),
        "respiratory_rate": VitalSign(
            "respiratory_rate",
            N_("Breathing rate"),
            ("/min",),
            {"/min": ("9279-1",)},
            ("respiratory_rate",),
        ),
        "blood_pressure": VitalSign(
            "blood_pressure",
            N_("Blood pressure"),
            ("mm[Hg]",),
            {"mm[Hg]": ("85354-9",)},
            ("systolic_bp", "diastolic_bp"),
        ),
        "temperature": VitalSign(
            "temperature", N_("Temperature"), ("Cel",), {"Cel": ("8310-5",)}, ("temperature",)
        ),
        "weight": VitalSign("weight", N_("Weight"), ("kg",), {"kg": ("29463-7",)}, ("weight",)),
        "glucose": VitalSign(
            "glucose",
            N_("Blood glucose"),
            ("mmol/L", "mg/dL"),
            {"mmol/L": ("14743-9",), "mg/dL": ("41653-7",)},
            ("glucose",),
            "laboratory",
        ),
    }
)

# The usual stored unit per kind (UCUM), part of the API (docs/api.md).
UNITS: Final[Mapping[Kind, str]] = MappingProxyType({k: s.unit for k, s in VITAL_SIGNS.items()})
LOINC: Final[Mapping[Kind, tuple[str, ...]]] = MappingProxyType(
    {k: s.loinc[s.unit] for k, s in VITAL_SIGNS.items()}
)
# The units a care plan's band may be set in, by parameter.
BAND_UNITS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {name: PARAMETERS[name].units for s in VITAL_SIGNS.values() for name in s.parameters}
)
DEFAULT_HOME_BANDS: Final[Mapping[str, Band]] = MappingProxyType(
    {name: p.default_band for name, p in PARAMETERS.items() if p.default_band is not None}
)
# LOINC of the sample types a glucose meter can name (GATT type nibble): capillary blood by
# glucometer, else whole blood, else serum or plasma.
_GLUCOSE_LOINC: Final[Mapping[tuple[str, str], str]] = {
    ("capillary", "mmol/L"): "14743-9",  # Glucose [Moles/volume] in Capillary blood by Glucometer
    ("capillary", "mg/dL"): "41653-7",  # Glucose [Mass/volume] in Capillary blood by Glucometer
    ("whole_blood", "mmol/L"): "15074-8",  # Glucose [Moles/volume] in Blood
    ("whole_blood", "mg/dL"): "2339-0",  # Glucose [Mass/volume] in Blood
    ("plasma", "mmol/L"): "14749-6",  # Glucose [Moles/volume] in Serum or Plasma
    ("plasma", "mg/dL"): "2345-7",  # Glucose [Mass/volume] in Serum or Plasma
}
LOINC_DISPLAY: Final[Mapping[str, str]] = MappingProxyType(
    {
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
        "14743-9": "Glucose [Moles/volume] in Capillary blood by Glucometer",
        "41653-7": "Glucose [Mass/volume] in Capillary blood by Glucometer",
        "15074-8": "Glucose [Moles/volume] in Blood",
        "2339-0": "Glucose [Mass/volume] in Blood",
        "14749-6": "Glucose [Moles/volume] in Serum or Plasma",
        "2345-7": "Glucose [Mass/volume] in Serum or Plasma",
    }
)


def loinc_for(kind: Kind, unit: str, sample: str | None = None) -> tuple[str, ...]:
    """The LOINC codes of a reading of ``kind`` stored in ``unit``; for glucose, of the
    sample the meter named (capillary by default: a home meter's finger prick)."""
    if kind == "glucose":
        return (_GLUCOSE_LOINC[(glucose_sample_group(sample), unit)],)
    return VITAL_SIGNS[kind].loinc[unit]


def glucose_sample_group(sample: str | None) -> str:
    """capillary, whole_blood or plasma for a glucose sample type slug (None: capillary)."""
    if sample is None or sample.startswith("capillary"):
        return "capillary"
    return "plasma" if sample.endswith("plasma") else "whole_blood"


def shown(value: float | None, unit: str) -> str:
    """A value as a person reads it: no trailing zeros, temperatures to one decimal."""
    text = f"{value or 0.0:.2f}".rstrip("0").rstrip(".")
    if unit == "Cel" and "." not in text:
        text += ".0"  # temperatures are read to one decimal: 38.0, not 38
    return text + UNIT_SHOWN.get(unit, f" {unit}")

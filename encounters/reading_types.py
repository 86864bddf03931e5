"""Shared types of device readings: kinds, units, the Reading itself, and its checks.

Used by :mod:`encounters.readings` (message validation) and
:mod:`encounters.gatt_readings` (Bluetooth values). :mod:`encounters.readings`
re-exports every public name here, so callers import from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, TypedDict, get_args

from encounters.errors import ValidationError
from encounters.ieee11073 import AbsentReason

Kind = Literal["spo2", "heart_rate", "blood_pressure", "temperature", "weight", "respiratory_rate"]
Source = Literal["ble", "manual", "simulator"]
# "received": taken_at is the message's own; "device": it is the device's timestamp.
TimeSource = Literal["device", "received"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
SOURCES: Final[tuple[Source, ...]] = get_args(Source)
TIME_SOURCES: Final[tuple[TimeSource, ...]] = get_args(TimeSource)
ABSENT_REASONS: Final[tuple[AbsentReason, ...]] = get_args(AbsentReason)

# The one stored unit per kind (UCUM), part of the API (docs/api.md).
UNITS: Final[Mapping[Kind, str]] = {
    "spo2": "%",
    "heart_rate": "/min",
    "respiratory_rate": "/min",
    "blood_pressure": "mm[Hg]",
    "temperature": "Cel",
    "weight": "kg",
}
# FHIR Observation.code codings (LOINC). US Core pulse oximetry needs both SpO2
# codes; the BP panel has no value of its own, only the components below.
LOINC: Final[Mapping[Kind, tuple[str, ...]]] = {
    "spo2": ("2708-6", "59408-5"),
    "heart_rate": ("8867-4",),
    "respiratory_rate": ("9279-1",),
    "blood_pressure": ("85354-9",),
    "temperature": ("8310-5",),
    "weight": ("29463-7",),
}
BP_COMPONENT_LOINC: Final[Mapping[str, str]] = {
    "systolic": "8480-6",
    "diastolic": "8462-4",
    "mean_arterial": "8478-0",
}

# Physical plausibility (inclusive), not clinical bands: a value outside is a device or
# typing error and is refused. Wide on purpose: in the last days of life real values go
# far below hospital norms (SpO2 in the 50s, systolic in the 50s, pulse in the 20s, long
# apnoeic pauses), and such patients need individual targets, not refusals.
PLAUSIBLE: Final[Mapping[str, tuple[float, float]]] = {
    # 100 % is the ceiling. Oximeters show values below their 70-100 % accuracy range
    # (ISO 80601-2-61), and a dying patient's 40-60 % is real.
    "spo2": (20.0, 100.0),
    # Wider than oximeter and cuff display ranges (about 20-300 /min) at both ends.
    "heart_rate": (10.0, 350.0),
    # 0 is a real count over a 30-60 s window during Cheyne-Stokes apnoea.
    "respiratory_rate": (0.0, 80.0),
    "systolic": (30.0, 300.0),  # home cuffs inflate to about 300 mmHg at most
    "diastolic": (10.0, 250.0),
    "mean_arterial": (10.0, 300.0),
    # The low 30s °C are real peripherally at the end of life; outside 25-45 °C the
    # thermometer measured the room or a hot drink, not a living body.
    "temperature": (25.0, 45.0),
    # Paediatric palliative care includes infants; no home scale reads 500 kg.
    "weight": (0.5, 500.0),
}


class ReadingDetails(TypedDict, total=False):
    """What a device said beside the value; every key is optional."""

    device_type: str  # heart_rate_sensor, pulse_oximeter, blood_pressure_cuff, thermometer,
    # weight_scale (a strap's heart rate and an oximeter's pulse are different measurements)
    device_time: str  # the device's clock: naive ISO wall-clock time, zone unknown
    device_unit: str  # the unit sent before conversion: kPa, [degF] or [lb_av]
    contact: str  # heart-rate strap: not_supported, no_contact or detected
    rr_intervals_ms: tuple[float, ...]
    energy_expended_kj: int
    pulse_amplitude_index_pct: float
    mean_arterial_pressure_mmhg: float
    measurement_status: tuple[str, ...]  # slugs of the status bits set
    sensor_status: tuple[str, ...]
    body_site: str  # thermometer site (Temperature Type code)
    user_id: int
    bmi_kg_m2: float
    height_m: float


@dataclass(frozen=True)
class Reading:
    """One validated reading. For blood pressure ``value`` is systolic, ``value2`` diastolic."""

    client_id: str
    kind: Kind
    value: float | None
    unit: str
    source: Source
    taken_at: datetime  # aware, UTC
    value2: float | None = None
    absent_reason: AbsentReason | None = None  # set exactly when value is None
    time_source: TimeSource = "received"
    # Compared but not hashed, so a Reading stays hashable with a dict inside.
    details: ReadingDetails = field(default_factory=lambda: ReadingDetails(), hash=False)

    @property
    def loinc(self) -> tuple[str, ...]:
        return LOINC[self.kind]


class ReadingError(ValidationError):
    """A data-channel message was refused; ``code`` becomes the nack code."""

    code = "invalid_reading"

    def __init__(
        self, message: str, *, code: str, field: str | None = None, client_id: str | None = None
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.client_id = client_id  # the message's id when it was readable, for the nack


def check_plausible(reading: Reading) -> None:
    """Refuse a physically impossible value (PLAUSIBLE gives the limits and why)."""
    if reading.value is None:
        return
    if reading.kind != "blood_pressure":
        _check_range(reading.value, reading.kind, "value")
        return
    _check_range(reading.value, "systolic", "value.systolic")
    diastolic = reading.value2
    if diastolic is None:
        raise ReadingError("A blood pressure needs a diastolic value.", code="missing_value")
    _check_range(diastolic, "diastolic", "value.diastolic")
    if diastolic >= reading.value:
        raise ReadingError(
            "Field 'value.diastolic' must be lower than 'value.systolic'.",
            code="out_of_range",
            field="value.diastolic",
        )


def _check_range(value: float, name: str, field_name: str) -> None:
    low, high = PLAUSIBLE[name]
    if not low <= value <= high:
        raise ReadingError(
            f"Field '{field_name}' for {name} must be between {low:g} and {high:g}.",
            code="out_of_range",
            field=field_name,
        )


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime passed in by the caller (a programming error)."""
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")

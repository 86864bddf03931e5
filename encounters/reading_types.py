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
from encounters.vital_signs import (
    KINDS,
    LOINC,
    PARAMETERS,
    UNITS,
    VITAL_SIGNS,
    Kind,
    convert,
    loinc_for,
)

__all__ = [
    "ABSENT_REASONS",
    "BP_COMPONENT_LOINC",
    "KINDS",
    "LOINC",
    "PLAUSIBLE",
    "SOURCES",
    "TIME_SOURCES",
    "UNITS",
    "Kind",
    "Reading",
    "ReadingDetails",
    "ReadingError",
    "Source",
    "TimeSource",
    "check_plausible",
    "require_aware",
]

Source = Literal["ble", "manual", "simulator"]
# "received": taken_at is the message's own; "device": it is the device's timestamp.
TimeSource = Literal["device", "received"]
SOURCES: Final[tuple[Source, ...]] = get_args(Source)
TIME_SOURCES: Final[tuple[TimeSource, ...]] = get_args(TimeSource)
ABSENT_REASONS: Final[tuple[AbsentReason, ...]] = get_args(AbsentReason)
# Blood pressure components' LOINC codes (the panel itself has no value).
BP_COMPONENT_LOINC: Final[Mapping[str, str]] = {
    "systolic": "8480-6",
    "diastolic": "8462-4",
    "mean_arterial": "8478-0",
}
# Physical plausibility by parameter (the catalogue's, in each parameter's first unit).
PLAUSIBLE: Final[Mapping[str, tuple[float, float]]] = {
    name: parameter.plausible for name, parameter in PARAMETERS.items()
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
    mean_arterial_absent_reason: str  # the cuff sent a special value for the mean
    measurement_status: tuple[str, ...]  # slugs of the status bits set
    sensor_status: tuple[str, ...]
    body_site: str  # thermometer site (Temperature Type code)
    user_id: int
    bmi_kg_m2: float
    height_m: float
    # Glucose meters (0x2A18 and its context 0x2A34)
    sequence_number: int
    sample_type: str  # capillary_whole_blood, capillary_plasma, venous_plasma, ...
    sample_location: str  # finger, alternate_site, earlobe
    meal: str  # preprandial, postprandial, fasting, casual, bedtime
    carbohydrate: str  # breakfast, lunch, dinner, snack, drink, supper, brunch
    carbohydrate_g: float
    tester: str  # self, health_care_professional, lab_test
    health: str  # minor_health_issues, major_health_issues, during_menses, under_stress, ...
    exercise_duration_s: int
    exercise_intensity_pct: int
    medication: str  # rapid_acting_insulin, short_acting_insulin, ...
    medication_mg: float
    medication_ml: float
    hba1c_pct: float


@dataclass(frozen=True)
class Reading:
    """One validated reading. For blood pressure ``value`` is systolic, ``value2`` diastolic
    (the mean arterial pressure is in ``details``)."""

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
    # Blood pressure: the diastolic's own reason, set exactly when value2 is None. Each
    # component stands on its own: a cuff's NaN systolic does not lose a valid diastolic.
    absent_reason2: AbsentReason | None = None

    @property
    def has_value(self) -> bool:
        """Whether any number was measured (a blood pressure may have one component)."""
        return self.value is not None or self.value2 is not None

    @property
    def loinc(self) -> tuple[str, ...]:
        return loinc_for(self.kind, self.unit, self.details.get("sample_type"))


class ReadingError(ValidationError):
    """A data-channel message was refused; ``code`` becomes the nack code."""

    code = "invalid_reading"

    def __init__(
        self, message: str, *, code: str, field: str | None = None, client_id: str | None = None
    ) -> None:
        super().__init__(message, code=code, field=field)
        self.client_id = client_id  # the message's id when it was readable, for the nack


def check_plausible(reading: Reading) -> None:
    """Refuse a physically impossible value (the catalogue's PARAMETERS give the limits)."""
    if reading.unit not in VITAL_SIGNS[reading.kind].units:
        raise ReadingError(
            f"A {reading.kind} reading cannot be in '{reading.unit}'.",
            code="wrong_unit",
            field="unit",
        )
    if reading.kind != "blood_pressure":
        if reading.value is not None:
            _check_range(reading.value, reading.unit, reading.kind, "value")
        return
    systolic, diastolic = reading.value, reading.value2
    if systolic is not None:
        _check_range(systolic, reading.unit, "systolic_bp", "value.systolic")
    if diastolic is None and reading.absent_reason2 is None:
        raise ReadingError("A blood pressure needs a diastolic value.", code="missing_value")
    if diastolic is not None:
        _check_range(diastolic, reading.unit, "diastolic_bp", "value.diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        raise ReadingError(
            "Field 'value.diastolic' must be lower than 'value.systolic'.",
            code="out_of_range",
            field="value.diastolic",
        )


def _check_range(value: float, unit: str, name: str, field_name: str) -> None:
    parameter = PARAMETERS[name]
    low, high = parameter.plausible
    # Compared in the parameter's first unit, where the range is written.
    exact = value if unit == parameter.unit else convert(value, unit, parameter.unit)
    if not low <= exact <= high:
        shown_unit = "" if unit == parameter.unit else f" {parameter.unit}"
        raise ReadingError(
            f"Field '{field_name}' for {name} must be between {low:g} and {high:g}{shown_unit}.",
            code="out_of_range",
            field=field_name,
        )


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime passed in by the caller (a programming error)."""
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")

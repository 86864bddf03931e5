"""The measurements the GATT decoders in :mod:`encounters.gatt` return.

One frozen dataclass per Bluetooth health characteristic, holding
every field in the device's own units, with converted properties (mmHg, °C, kg, m) that use
exact decimal arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal
from enum import Enum
from typing import Final, Literal

from encounters.gatt_status import (
    GLUCOSE_CARBOHYDRATES,
    GLUCOSE_HEALTH,
    GLUCOSE_MEALS,
    GLUCOSE_MEDICATIONS,
    GLUCOSE_SAMPLE_LOCATIONS,
    GLUCOSE_SAMPLE_TYPES,
    GLUCOSE_TESTERS,
    TEMPERATURE_SITES,
    BpMeasurementStatus,
    GlucoseSensorStatus,
    PlxMeasurementStatus,
    PlxSensorStatus,
)
from encounters.ieee11073 import MderNumber

# Conversion factors: cuffs may report kPa, scales pounds (exact by definition for the pound).
MMHG_PER_KPA: Final = Decimal("7.50062")
KG_PER_LB: Final = Decimal("0.45359237")
M_PER_IN: Final = Decimal("0.0254")
# Default resolutions of the Bluetooth Weight Scale profile.
WEIGHT_STEP_KG: Final = Decimal("0.005")
WEIGHT_STEP_LB: Final = Decimal("0.01")
HEIGHT_STEP_M: Final = Decimal("0.001")
HEIGHT_STEP_IN: Final = Decimal("0.1")
BMI_STEP_KG_M2: Final = Decimal("0.1")
WEIGHT_UNSUCCESSFUL: Final = 0xFFFF
# Glucose concentration: kg/L to mg/dL (1 kg/L = 10^6 mg per 10 dL) and mol/L to mmol/L.
MG_DL_PER_KG_L: Final = Decimal(100000)
MMOL_PER_MOL: Final = Decimal(1000)
EXERCISE_DURATION_OVERRUN: Final = 0xFFFF
USER_ID_UNKNOWN: Final = 0xFF
# Conversions use their own context so a caller's decimal settings cannot change results.
_DECIMAL: Final = Context(prec=50)


class SensorContact(Enum):
    """Heart-rate sensor contact, from ``flags & 0x06``: bit 2 supported, bit 1 detected."""

    NOT_SUPPORTED = "not_supported"
    NO_CONTACT = "no_contact"
    DETECTED = "detected"


@dataclass(frozen=True)
class HeartRateMeasurement:
    """Heart Rate Measurement 0x2A37 (Heart Rate service 0x180D)."""

    flags: int
    heart_rate_bpm: int
    energy_expended_kj: int | None
    rr_intervals_raw: tuple[int, ...]  # units of 1/1024 s

    @property
    def is_uint16(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def contact_bits(self) -> int:
        """The 2-bit contact status exactly as the profile defines it: ``flags & 0x06``."""
        return self.flags & 0x06

    @property
    def contact(self) -> SensorContact:
        # Bit 2 = feature supported, bit 1 = contact detected (meaningful only with bit 2).
        if self.contact_bits == 0x06:
            return SensorContact.DETECTED
        if self.contact_bits == 0x04:
            return SensorContact.NO_CONTACT
        return SensorContact.NOT_SUPPORTED

    @property
    def rr_intervals_ms(self) -> tuple[float, ...]:
        # 1000/1024 is exact in binary, so each result is exact.
        return tuple(raw * 1000 / 1024 for raw in self.rr_intervals_raw)


@dataclass(frozen=True)
class PlxSpotCheckMeasurement:
    """PLX Spot-check Measurement 0x2A5E (Pulse Oximeter service 0x1822)."""

    flags: int
    spo2_pct: MderNumber
    pulse_rate_bpm: MderNumber
    timestamp: datetime | None
    measurement_status: PlxMeasurementStatus | None
    sensor_status: PlxSensorStatus | None
    pulse_amplitude_index_pct: MderNumber | None

    @property
    def is_device_clock_set(self) -> bool:
        return not self.flags & 0x10


@dataclass(frozen=True)
class PlxContinuousMeasurement:
    """PLX Continuous Measurement 0x2A5F (Pulse Oximeter service 0x1822); no timestamp."""

    flags: int
    spo2_pct: MderNumber
    pulse_rate_bpm: MderNumber
    spo2_fast_pct: MderNumber | None
    pulse_rate_fast_bpm: MderNumber | None
    spo2_slow_pct: MderNumber | None
    pulse_rate_slow_bpm: MderNumber | None
    measurement_status: PlxMeasurementStatus | None
    sensor_status: PlxSensorStatus | None
    pulse_amplitude_index_pct: MderNumber | None


@dataclass(frozen=True)
class BloodPressureMeasurement:
    """Blood Pressure Measurement 0x2A35 (service 0x1810), values in the device's unit."""

    flags: int
    systolic: MderNumber
    diastolic: MderNumber
    mean_arterial: MderNumber
    timestamp: datetime | None
    pulse_rate_bpm: MderNumber | None
    user_id: int | None  # 0xFF = unknown user
    measurement_status: BpMeasurementStatus | None

    @property
    def unit(self) -> Literal["mm[Hg]", "kPa"]:
        return "kPa" if self.flags & 0x01 else "mm[Hg]"

    def to_mmhg(self, pressure: MderNumber) -> Decimal | None:
        """One of this cuff's pressures in mmHg (exact product), or None for a special."""
        value = pressure.to_decimal()
        if value is None or self.unit == "mm[Hg]":
            return value
        return _DECIMAL.multiply(value, MMHG_PER_KPA)


@dataclass(frozen=True)
class TemperatureMeasurement:
    """Temperature Measurement 0x2A1C (Health Thermometer 0x1809): a 32-bit FLOAT."""

    flags: int
    temperature: MderNumber
    timestamp: datetime | None
    temperature_type: int | None

    @property
    def unit(self) -> Literal["Cel", "[degF]"]:
        return "[degF]" if self.flags & 0x01 else "Cel"

    @property
    def celsius(self) -> Decimal | None:
        value = self.temperature.to_decimal()
        if value is None or self.unit == "Cel":
            return value
        above_freezing = _DECIMAL.subtract(value, Decimal(32))
        return _DECIMAL.divide(_DECIMAL.multiply(above_freezing, Decimal(5)), Decimal(9))

    @property
    def site(self) -> str | None:
        """The body site slug, or None when absent or a reserved code."""
        return (
            None if self.temperature_type is None else TEMPERATURE_SITES.get(self.temperature_type)
        )


@dataclass(frozen=True)
class WeightMeasurement:
    """Weight Measurement 0x2A9D (Weight Scale 0x181D): fixed-resolution unsigned integers."""

    flags: int
    weight_raw: int
    timestamp: datetime | None
    user_id: int | None  # 0xFF = unknown user
    bmi_raw: int | None  # units of 0.1 kg/m²
    height_raw: int | None  # units of 0.001 m (SI) or 0.1 in (imperial)

    @property
    def is_imperial(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def is_unsuccessful(self) -> bool:
        return self.weight_raw == WEIGHT_UNSUCCESSFUL

    @property
    def weight_kg(self) -> Decimal | None:
        if self.is_unsuccessful:
            return None
        if self.is_imperial:
            return _scale(self.weight_raw, WEIGHT_STEP_LB, KG_PER_LB)
        return _scale(self.weight_raw, WEIGHT_STEP_KG)

    @property
    def height_m(self) -> Decimal | None:
        if self.height_raw is None:
            return None
        if self.is_imperial:
            return _scale(self.height_raw, HEIGHT_STEP_IN, M_PER_IN)
        return _scale(self.height_raw, HEIGHT_STEP_M)

    @property
    def bmi_kg_m2(self) -> Decimal | None:
        return None if self.bmi_raw is None else _scale(self.bmi_raw, BMI_STEP_KG_M2)


@dataclass(frozen=True)
class GlucoseContext:
    """Glucose Measurement Context 0x2A34: what surrounded the measurement of the same
    sequence number (meal, tester, health, exercise, medication, HbA1c)."""

    flags: int
    sequence_number: int
    extended_flags: int | None
    carbohydrate_id: int | None
    carbohydrate_kg: MderNumber | None
    meal_code: int | None
    tester_health: int | None
    exercise_duration_s: int | None  # 0xFFFF = overrun
    exercise_intensity_pct: int | None
    medication_id: int | None
    medication: MderNumber | None  # kg, or litres when flags bit 5 is set
    hba1c_pct: MderNumber | None

    @property
    def medication_in_litres(self) -> bool:
        return bool(self.flags & 0x20)

    @property
    def meal(self) -> str | None:
        return None if self.meal_code is None else GLUCOSE_MEALS.get(self.meal_code)

    @property
    def carbohydrate(self) -> str | None:
        code = self.carbohydrate_id
        return None if code is None else GLUCOSE_CARBOHYDRATES.get(code)

    @property
    def tester(self) -> str | None:
        code = self.tester_health
        return None if code is None else GLUCOSE_TESTERS.get(code & 0x0F)

    @property
    def health(self) -> str | None:
        code = self.tester_health
        return None if code is None else GLUCOSE_HEALTH.get(code >> 4)

    @property
    def medication_name(self) -> str | None:
        code = self.medication_id
        return None if code is None else GLUCOSE_MEDICATIONS.get(code)


@dataclass(frozen=True)
class GlucoseMeasurement:
    """Glucose Measurement 0x2A18 (Glucose service 0x1808)."""

    flags: int
    sequence_number: int
    base_time: datetime | None
    time_offset_min: int | None  # sint16 minutes, added to the base time
    concentration: MderNumber | None  # kg/L, or mol/L when flags bit 2 is set
    type_sample_location: int | None
    sensor_status: GlucoseSensorStatus | None
    context: GlucoseContext | None = None  # 0x2A34 of the same sequence number, when sent

    @property
    def unit(self) -> Literal["kg/L", "mol/L"]:
        return "mol/L" if self.flags & 0x04 else "kg/L"

    @property
    def stored_unit(self) -> Literal["mg/dL", "mmol/L"]:
        return "mmol/L" if self.unit == "mol/L" else "mg/dL"

    @property
    def is_context_announced(self) -> bool:
        return bool(self.flags & 0x10)

    @property
    def timestamp(self) -> datetime | None:
        if self.base_time is None:
            return None
        return self.base_time + timedelta(minutes=self.time_offset_min or 0)

    @property
    def in_stored_unit(self) -> Decimal | None:
        """The concentration in mg/dL (from kg/L) or mmol/L (from mol/L); None for a special."""
        value = None if self.concentration is None else self.concentration.to_decimal()
        if value is None:
            return None
        factor = MMOL_PER_MOL if self.unit == "mol/L" else MG_DL_PER_KG_L
        return _DECIMAL.multiply(value, factor)

    @property
    def sample_type_code(self) -> int | None:
        code = self.type_sample_location
        return None if code is None else code & 0x0F

    @property
    def sample_location_code(self) -> int | None:
        code = self.type_sample_location
        return None if code is None else code >> 4

    @property
    def sample_type(self) -> str | None:
        code = self.sample_type_code
        return None if code is None else GLUCOSE_SAMPLE_TYPES.get(code)

    @property
    def sample_location(self) -> str | None:
        code = self.sample_location_code
        return None if code is None else GLUCOSE_SAMPLE_LOCATIONS.get(code)


def _scale(raw: int, *factors: Decimal) -> Decimal:
    value = Decimal(raw)
    for factor in factors:
        value = _DECIMAL.multiply(value, factor)
    return value


GattMeasurement = (
    HeartRateMeasurement
    | PlxSpotCheckMeasurement
    | PlxContinuousMeasurement
    | BloodPressureMeasurement
    | TemperatureMeasurement
    | WeightMeasurement
    | GlucoseMeasurement
)

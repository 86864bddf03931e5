"""Decoders for the Bluetooth GATT health characteristics Hearth reads.

Each decoder takes the characteristic value as ``bytes`` and returns a frozen
measurement with every field of the characteristic, in the device's own units,
plus converted properties (mmHg, °C, kg). Layouts: docs/clinical.md, "Bluetooth health
devices"; test vectors: tests/unit/test_gatt.py. Anything malformed raises
:class:`GattDecodeError`; no other exception escapes a decoder, whatever the bytes.

Reserved flag bits are ignored (the Bluetooth convention for receivers), but
bytes left over after the last field the flags announce are refused: every
format here ends where its flags say it ends.

The measurement dataclasses live in :mod:`encounters.gatt_measurements` and are
re-exported here, so callers import everything GATT from this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from encounters.errors import ValidationError
from encounters.gatt_measurements import (
    BMI_STEP_KG_M2,
    EXERCISE_DURATION_OVERRUN,
    HEIGHT_STEP_IN,
    HEIGHT_STEP_M,
    KG_PER_LB,
    M_PER_IN,
    MMHG_PER_KPA,
    USER_ID_UNKNOWN,
    WEIGHT_STEP_KG,
    WEIGHT_STEP_LB,
    WEIGHT_UNSUCCESSFUL,
    BloodPressureMeasurement,
    GattMeasurement,
    GlucoseContext,
    GlucoseMeasurement,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    SensorContact,
    TemperatureMeasurement,
    WeightMeasurement,
)
from encounters.gatt_status import (
    BpMeasurementStatus,
    GlucoseSensorStatus,
    PlxMeasurementStatus,
    PlxSensorStatus,
)
from encounters.ieee11073 import MderNumber, decode_float, decode_sfloat

__all__ = [
    "BMI_STEP_KG_M2",
    "DECODERS",
    "EXERCISE_DURATION_OVERRUN",
    "GLUCOSE_CONTEXT_UUID",
    "HEIGHT_STEP_IN",
    "HEIGHT_STEP_M",
    "KG_PER_LB",
    "M_PER_IN",
    "MMHG_PER_KPA",
    "USER_ID_UNKNOWN",
    "WEIGHT_STEP_KG",
    "WEIGHT_STEP_LB",
    "WEIGHT_UNSUCCESSFUL",
    "BloodPressureMeasurement",
    "GattDecodeError",
    "GattMeasurement",
    "GlucoseContext",
    "GlucoseMeasurement",
    "HeartRateMeasurement",
    "PlxContinuousMeasurement",
    "PlxSpotCheckMeasurement",
    "SensorContact",
    "TemperatureMeasurement",
    "WeightMeasurement",
    "decode_blood_pressure",
    "decode_characteristic",
    "decode_glucose",
    "decode_glucose_context",
    "decode_heart_rate",
    "decode_plx_continuous",
    "decode_plx_spot_check",
    "decode_temperature",
    "decode_weight",
    "normalize_uuid",
]


class GattDecodeError(ValidationError):
    """A characteristic value does not decode."""

    code = "bad_gatt"


class _Cursor:
    """Reads little-endian fields in order, checking the length before each read."""

    def __init__(self, data: bytes, name: str) -> None:
        self._data = data
        self._name = name
        self._offset = 0

    def _take(self, size: int, field: str) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            raise GattDecodeError(
                f"{self._name} is too short: field {field!r} needs bytes {self._offset} to "
                f"{end - 1} but the value has {len(self._data)} bytes.",
                field="data",
            )
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self._take(size, field), "little")

    def sint(self, size: int, field: str) -> int:
        return int.from_bytes(self._take(size, field), "little", signed=True)

    def sfloat(self, field: str) -> MderNumber:
        return decode_sfloat(self.uint(2, field))

    def float32(self, field: str) -> MderNumber:
        return decode_float(self.uint(4, field))

    def date_time(self, field: str) -> datetime | None:
        """The 7-byte GATT Date Time as naive wall-clock time; None when unknown."""
        year = self.uint(2, field)
        month, day, hours, minutes, seconds = self._take(5, field)
        if year == 0 or month == 0 or day == 0:
            return None
        try:
            # Bluetooth Date Time years run 1582-9999; datetime checks the rest of the ranges.
            if year < 1582:
                raise ValueError("year before 1582")
            return datetime(year, month, day, hours, minutes, seconds)
        except ValueError:
            raise GattDecodeError(
                f"{self._name}: field {field!r} is not a valid date and time.", field="data"
            ) from None

    @property
    def remaining(self) -> int:
        return len(self._data) - self._offset

    def finish(self) -> None:
        if self.remaining:
            raise GattDecodeError(
                f"{self._name} has {self.remaining} unexpected byte(s) after its last field; "
                "the flags announce no further fields.",
                field="data",
            )


def decode_heart_rate(data: bytes) -> HeartRateMeasurement:
    cursor = _Cursor(data, "Heart Rate Measurement (0x2A37)")
    flags = cursor.uint(1, "flags")
    heart_rate = cursor.uint(2 if flags & 0x01 else 1, "heart rate")
    energy = cursor.uint(2, "energy expended") if flags & 0x08 else None
    rr: list[int] = []
    if flags & 0x10:
        # There can be several RR intervals: uint16 values until the end.
        if cursor.remaining == 0 or cursor.remaining % 2:
            raise GattDecodeError(
                "Heart Rate Measurement (0x2A37) announces RR intervals but the remaining "
                f"{cursor.remaining} byte(s) are not a whole number (at least one) of uint16s.",
                field="data",
            )
        while cursor.remaining:
            rr.append(cursor.uint(2, "RR interval"))
    cursor.finish()
    return HeartRateMeasurement(flags, heart_rate, energy, tuple(rr))


def _status_fields(
    cursor: _Cursor, has_status: int, has_sensor: int, has_pai: int
) -> tuple[PlxMeasurementStatus | None, PlxSensorStatus | None, MderNumber | None]:
    status = PlxMeasurementStatus(cursor.uint(2, "measurement status")) if has_status else None
    sensor = PlxSensorStatus(cursor.uint(3, "device and sensor status")) if has_sensor else None
    pai = cursor.sfloat("pulse amplitude index") if has_pai else None
    return status, sensor, pai


def decode_plx_spot_check(data: bytes) -> PlxSpotCheckMeasurement:
    cursor = _Cursor(data, "PLX Spot-check Measurement (0x2A5E)")
    flags = cursor.uint(1, "flags")
    spo2 = cursor.sfloat("SpO2")
    pulse = cursor.sfloat("pulse rate")
    # Spot-check bit 0 is the timestamp (not "fast" data, which is continuous-only).
    timestamp = cursor.date_time("timestamp") if flags & 0x01 else None
    status, sensor, pai = _status_fields(cursor, flags & 0x02, flags & 0x04, flags & 0x08)
    cursor.finish()
    return PlxSpotCheckMeasurement(flags, spo2, pulse, timestamp, status, sensor, pai)


def decode_plx_continuous(data: bytes) -> PlxContinuousMeasurement:
    cursor = _Cursor(data, "PLX Continuous Measurement (0x2A5F)")
    flags = cursor.uint(1, "flags")
    spo2 = cursor.sfloat("SpO2")
    pulse = cursor.sfloat("pulse rate")
    fast = (cursor.sfloat("SpO2 fast"), cursor.sfloat("pulse rate fast")) if flags & 0x01 else None
    slow = (cursor.sfloat("SpO2 slow"), cursor.sfloat("pulse rate slow")) if flags & 0x02 else None
    status, sensor, pai = _status_fields(cursor, flags & 0x04, flags & 0x08, flags & 0x10)
    cursor.finish()
    return PlxContinuousMeasurement(
        flags,
        spo2,
        pulse,
        fast[0] if fast else None,
        fast[1] if fast else None,
        slow[0] if slow else None,
        slow[1] if slow else None,
        status,
        sensor,
        pai,
    )


def decode_blood_pressure(data: bytes) -> BloodPressureMeasurement:
    cursor = _Cursor(data, "Blood Pressure Measurement (0x2A35)")
    flags = cursor.uint(1, "flags")
    systolic = cursor.sfloat("systolic")
    diastolic = cursor.sfloat("diastolic")
    mean_arterial = cursor.sfloat("mean arterial pressure")
    timestamp = cursor.date_time("timestamp") if flags & 0x02 else None
    pulse = cursor.sfloat("pulse rate") if flags & 0x04 else None
    user_id = cursor.uint(1, "user id") if flags & 0x08 else None
    status = BpMeasurementStatus(cursor.uint(2, "measurement status")) if flags & 0x10 else None
    cursor.finish()
    return BloodPressureMeasurement(
        flags, systolic, diastolic, mean_arterial, timestamp, pulse, user_id, status
    )


def decode_temperature(data: bytes) -> TemperatureMeasurement:
    cursor = _Cursor(data, "Temperature Measurement (0x2A1C)")
    flags = cursor.uint(1, "flags")
    temperature = cursor.float32("temperature")  # 32-bit FLOAT, not SFLOAT
    timestamp = cursor.date_time("timestamp") if flags & 0x02 else None
    temperature_type = cursor.uint(1, "temperature type") if flags & 0x04 else None
    cursor.finish()
    return TemperatureMeasurement(flags, temperature, timestamp, temperature_type)


def decode_weight(data: bytes) -> WeightMeasurement:
    cursor = _Cursor(data, "Weight Measurement (0x2A9D)")
    flags = cursor.uint(1, "flags")
    weight_raw = cursor.uint(2, "weight")  # uint16 with fixed resolution, not SFLOAT
    timestamp = cursor.date_time("timestamp") if flags & 0x02 else None
    user_id = cursor.uint(1, "user id") if flags & 0x04 else None
    bmi_raw = height_raw = None
    if flags & 0x08:
        if weight_raw == WEIGHT_UNSUCCESSFUL:
            # With an unsuccessful measurement only timestamp and user id may follow.
            raise GattDecodeError(
                "Weight Measurement (0x2A9D) reports an unsuccessful measurement but also "
                "BMI and height, which the format forbids.",
                field="data",
            )
        bmi_raw = cursor.uint(2, "BMI")
        height_raw = cursor.uint(2, "height")
    cursor.finish()
    return WeightMeasurement(flags, weight_raw, timestamp, user_id, bmi_raw, height_raw)


def decode_glucose(data: bytes) -> GlucoseMeasurement:
    """Glucose Measurement 0x2A18; its context (0x2A34) is decoded on its own and joined by
    sequence number (:func:`decode_glucose_context`)."""
    cursor = _Cursor(data, "Glucose Measurement (0x2A18)")
    flags = cursor.uint(1, "flags")
    sequence = cursor.uint(2, "sequence number")
    base_time = cursor.date_time("base time")  # always present in this format
    offset = cursor.sint(2, "time offset") if flags & 0x01 else None
    concentration = type_location = None
    if flags & 0x02:
        concentration = cursor.sfloat("glucose concentration")
        type_location = cursor.uint(1, "type and sample location")
    status = GlucoseSensorStatus(cursor.uint(2, "sensor status")) if flags & 0x08 else None
    cursor.finish()
    measurement = GlucoseMeasurement(
        flags, sequence, base_time, offset, concentration, type_location, status
    )
    try:
        measurement.timestamp  # noqa: B018 - a base time plus offset past year 9999 is malformed
    except OverflowError:
        raise GattDecodeError(
            "Glucose Measurement (0x2A18): the base time plus the time offset is not a date.",
            field="data",
        ) from None
    return measurement


def decode_glucose_context(data: bytes) -> GlucoseContext:
    cursor = _Cursor(data, "Glucose Measurement Context (0x2A34)")
    flags = cursor.uint(1, "flags")
    sequence = cursor.uint(2, "sequence number")
    # The extended flags come straight after the sequence number when bit 7 says so.
    extended = cursor.uint(1, "extended flags") if flags & 0x80 else None
    carbohydrate_id = carbohydrate = None
    if flags & 0x01:
        carbohydrate_id = cursor.uint(1, "carbohydrate id")
        carbohydrate = cursor.sfloat("carbohydrate")
    meal = cursor.uint(1, "meal") if flags & 0x02 else None
    tester_health = cursor.uint(1, "tester and health") if flags & 0x04 else None
    duration = intensity = None
    if flags & 0x08:
        duration = cursor.uint(2, "exercise duration")
        intensity = cursor.uint(1, "exercise intensity")
    medication_id = medication = None
    if flags & 0x10:
        medication_id = cursor.uint(1, "medication id")
        medication = cursor.sfloat("medication")
    hba1c = cursor.sfloat("HbA1c") if flags & 0x40 else None
    cursor.finish()
    return GlucoseContext(
        flags,
        sequence,
        extended,
        carbohydrate_id,
        carbohydrate,
        meal,
        tester_health,
        duration,
        intensity,
        medication_id,
        medication,
        hba1c,
    )


DECODERS: Final[Mapping[str, Callable[[bytes], GattMeasurement]]] = {
    "2a37": decode_heart_rate,
    "2a5e": decode_plx_spot_check,
    "2a5f": decode_plx_continuous,
    "2a35": decode_blood_pressure,
    "2a1c": decode_temperature,
    "2a9d": decode_weight,
    "2a18": decode_glucose,
}
# Sent beside its measurement (the message's "context"), never as a reading of its own.
GLUCOSE_CONTEXT_UUID: Final = "2a34"
_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"


def normalize_uuid(uuid: str) -> str:
    """The 4-hex-digit short form of a characteristic UUID, lower case.

    Accepts ``2a37``, ``0x2A37`` and the full ``00002a37-0000-1000-8000-00805f9b34fb``.
    """
    text = uuid.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) == 36 and text.startswith("0000") and text.endswith(_BASE_UUID_SUFFIX):
        text = text[4:8]
    if text == GLUCOSE_CONTEXT_UUID:
        raise GattDecodeError(
            "A Glucose Measurement Context (0x2A34) is sent as the 'context' of its Glucose "
            "Measurement (0x2A18) message, not on its own.",
            code="unknown_characteristic",
            field="gatt",
        )
    if text not in DECODERS:
        raise GattDecodeError(
            f"Field 'gatt' must name a supported characteristic: one of {', '.join(DECODERS)}.",
            code="unknown_characteristic",
            field="gatt",
        )
    return text


def decode_characteristic(uuid: str, data: bytes) -> GattMeasurement:
    """Decode ``data`` as the value of characteristic ``uuid``."""
    return DECODERS[normalize_uuid(uuid)](data)

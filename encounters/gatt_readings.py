"""Bluetooth characteristic values to readings: :func:`readings_from_gatt`.

Decoding is :mod:`encounters.gatt`; this maps a decoded measurement to readings in the
stored units (docs/api.md, "Data channel `readings`"). :func:`encounters.readings.parse_message`
calls it for a ``gatt`` message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal
from typing import Final, cast

from encounters import gatt
from encounters.gatt_status import PLX_NOT_PATIENT_DATA, PLX_UNUSABLE, flag_names
from encounters.ieee11073 import AbsentReason
from encounters.reading_types import (
    PLAUSIBLE,
    UNITS,
    Kind,
    Reading,
    ReadingDetails,
    ReadingError,
    TimeSource,
    check_plausible,
    require_aware,
)

_QUANTIZE: Final = Context(prec=200)  # enough digits for any FLOAT (exponent up to 127)


def readings_from_gatt(
    uuid: str,
    data: bytes,
    *,
    client_id: str,
    received_at: datetime,
    device_utc_offset: timedelta | None = None,
) -> list[Reading]:
    """Decode one characteristic value into readings in the stored units.

    ``taken_at`` is ``received_at``, unless the device sent a timestamp, its clock is set
    and ``device_utc_offset`` says which zone that wall clock shows. PLX values flagged
    unusable or not patient data are refused, never stored. One
    impossible value refuses the whole message, which is acknowledged as one.
    Raises :class:`gatt.GattDecodeError` for bytes that do not decode and
    :class:`ReadingError` for values that cannot be a patient's.
    """
    require_aware(received_at, "received_at")
    measurement = gatt.decode_characteristic(uuid, data)
    stamp = _Stamp(client_id, received_at.astimezone(UTC), "received", {})
    timestamp = None
    if isinstance(measurement, gatt.PlxSpotCheckMeasurement):
        timestamp = measurement.timestamp if measurement.is_device_clock_set else None
    elif not isinstance(measurement, gatt.HeartRateMeasurement | gatt.PlxContinuousMeasurement):
        timestamp = measurement.timestamp
    if timestamp is not None:
        stamp = stamp.with_details(device_time=timestamp.isoformat())
        if device_utc_offset is not None:
            stamp = stamp.at_device_time(timestamp, device_utc_offset)
    match measurement:
        case gatt.HeartRateMeasurement():
            return [_from_heart_rate(measurement, stamp)]
        case gatt.PlxSpotCheckMeasurement() | gatt.PlxContinuousMeasurement():
            return _from_oximeter(measurement, stamp)
        case gatt.BloodPressureMeasurement():
            return _from_cuff(measurement, stamp)
        case gatt.TemperatureMeasurement():
            return [_from_thermometer(measurement, stamp)]
        case gatt.WeightMeasurement():
            return [_from_scale(measurement, stamp)]


@dataclass(frozen=True)
class _Stamp:
    """What every reading from one characteristic value shares."""

    client_id: str
    taken_at: datetime
    time_source: TimeSource
    details: Mapping[str, object]

    def with_details(self, **extra: object) -> _Stamp:
        return _Stamp(self.client_id, self.taken_at, self.time_source, {**self.details, **extra})

    def at_device_time(self, timestamp: datetime, offset: timedelta) -> _Stamp:
        try:
            taken_at = timestamp.replace(tzinfo=timezone(offset)).astimezone(UTC)
        except (OverflowError, ValueError):
            raise ReadingError(
                "The device's timestamp cannot be placed in time.", code="bad_time", field="data"
            ) from None
        return _Stamp(self.client_id, taken_at, "device", self.details)

    def reading(
        self,
        kind: Kind,
        value: float | None,
        reason: AbsentReason | None,
        extra: Mapping[str, object] | None = None,
        value2: float | None = None,
    ) -> Reading:
        if reason is not None:
            value = value2 = None
        details = cast(ReadingDetails, {**self.details, **(extra or {})})
        reading = Reading(
            self.client_id, kind, value, UNITS[kind], "ble", self.taken_at, value2, reason,
            self.time_source, details,
        )  # fmt: skip
        check_plausible(reading)
        return reading


def _rounded(value: Decimal | None, step: str) -> float | None:
    # A converted value keeps one digit more than the device's resolution once converted.
    return None if value is None else float(_QUANTIZE.quantize(value, Decimal(step)))


def _from_heart_rate(measurement: gatt.HeartRateMeasurement, stamp: _Stamp) -> Reading:
    extra: dict[str, object] = {
        "device_type": "heart_rate_sensor",
        "contact": measurement.contact.value,
    }
    if measurement.rr_intervals_raw:
        extra["rr_intervals_ms"] = measurement.rr_intervals_ms
    if measurement.energy_expended_kj is not None:
        extra["energy_expended_kj"] = measurement.energy_expended_kj
    return stamp.reading("heart_rate", float(measurement.heart_rate_bpm), None, extra)


def _from_oximeter(
    measurement: gatt.PlxSpotCheckMeasurement | gatt.PlxContinuousMeasurement, stamp: _Stamp
) -> list[Reading]:
    status = measurement.measurement_status
    if status is not None and status & PLX_UNUSABLE:
        raise ReadingError(
            "The oximeter marked this measurement unavailable, questionable or invalid.",
            code="unusable_measurement",
            field="data",
        )
    if status is not None and status & PLX_NOT_PATIENT_DATA:
        raise ReadingError(
            "The oximeter marked this measurement as demonstration or testing data.",
            code="not_patient_data",
            field="data",
        )
    stamp = stamp.with_details(device_type="pulse_oximeter")
    if status is not None:
        stamp = stamp.with_details(measurement_status=flag_names(status))
    if measurement.sensor_status is not None:
        stamp = stamp.with_details(sensor_status=flag_names(measurement.sensor_status))
    pai = measurement.pulse_amplitude_index_pct
    pai_pct = None if pai is None else pai.to_float()
    if pai_pct is not None and 0 <= pai_pct <= 100:  # a percentage; anything else is noise
        stamp = stamp.with_details(pulse_amplitude_index_pct=pai_pct)
    spo2, pulse = measurement.spo2_pct, measurement.pulse_rate_bpm
    return [
        stamp.reading("spo2", spo2.to_float(), spo2.absent_reason),
        stamp.reading("heart_rate", pulse.to_float(), pulse.absent_reason),
    ]


def _from_cuff(measurement: gatt.BloodPressureMeasurement, stamp: _Stamp) -> list[Reading]:
    stamp = stamp.with_details(device_type="blood_pressure_cuff")
    if measurement.user_id is not None and measurement.user_id != gatt.USER_ID_UNKNOWN:
        stamp = stamp.with_details(user_id=measurement.user_id)
    if measurement.measurement_status is not None:
        stamp = stamp.with_details(measurement_status=flag_names(measurement.measurement_status))
    extra: dict[str, object] = {}
    if measurement.unit != "mm[Hg]":
        extra["device_unit"] = measurement.unit
    # kPa × 7.50062 before any threshold (bands are in mmHg). 0.1 kPa is 0.75 mmHg, so
    # 0.1 mmHg loses nothing.
    systolic = _rounded(measurement.to_mmhg(measurement.systolic), "0.1")
    diastolic = _rounded(measurement.to_mmhg(measurement.diastolic), "0.1")
    mean = _rounded(measurement.to_mmhg(measurement.mean_arterial), "0.1")
    low, high = PLAUSIBLE["mean_arterial"]
    # MAP is derived: an implausible one is left out rather than losing the whole reading.
    if mean is not None and low <= mean <= high:
        extra["mean_arterial_pressure_mmhg"] = mean
    reason = measurement.systolic.absent_reason or measurement.diastolic.absent_reason
    readings = [stamp.reading("blood_pressure", systolic, reason, extra, diastolic)]
    if measurement.pulse_rate_bpm is not None:
        pulse = measurement.pulse_rate_bpm
        readings.append(stamp.reading("heart_rate", pulse.to_float(), pulse.absent_reason))
    return readings


def _from_thermometer(measurement: gatt.TemperatureMeasurement, stamp: _Stamp) -> Reading:
    extra: dict[str, object] = {"device_type": "thermometer"}
    if measurement.site is not None:
        extra["body_site"] = measurement.site
    celsius = measurement.temperature.to_float()
    if measurement.unit != "Cel":
        extra["device_unit"] = measurement.unit
        celsius = _rounded(measurement.celsius, "0.01")  # 0.1 °F is 0.056 °C
    return stamp.reading("temperature", celsius, measurement.temperature.absent_reason, extra)


def _from_scale(measurement: gatt.WeightMeasurement, stamp: _Stamp) -> Reading:
    extra: dict[str, object] = {"device_type": "weight_scale"}
    if measurement.is_imperial:
        extra["device_unit"] = "[lb_av]"
    if measurement.user_id is not None and measurement.user_id != gatt.USER_ID_UNKNOWN:
        extra["user_id"] = measurement.user_id
    if measurement.bmi_kg_m2 is not None:
        extra["bmi_kg_m2"] = _rounded(measurement.bmi_kg_m2, "0.1")
        extra["height_m"] = _rounded(measurement.height_m, "0.001")
    # 0.01 lb is 0.0045 kg, so 0.001 kg keeps it. An unsuccessful weighing (0xFFFF)
    # is stored as absent with reason "error", like a special value.
    weight = _rounded(measurement.weight_kg, "0.001")
    return stamp.reading("weight", weight, None if weight is not None else "error", extra)

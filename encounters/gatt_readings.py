"""Bluetooth characteristic values to readings: :func:`readings_from_gatt`.

Decoding is :mod:`encounters.gatt`; this maps a decoded measurement to readings in the
stored units (docs/api.md, "Data channel `readings`"). :func:`encounters.readings.parse_message`
calls it for a ``gatt`` message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal
from typing import Final, cast

from encounters import gatt
from encounters.gatt_status import (
    GLUCOSE_LOCATION_CONTROL_SOLUTION,
    GLUCOSE_TYPE_CONTROL_SOLUTION,
    GLUCOSE_TYPE_INTERSTITIAL_FLUID,
    GLUCOSE_UNUSABLE,
    PLX_NOT_PATIENT_DATA,
    PLX_UNUSABLE,
    GlucoseSensorStatus,
    flag_names,
)
from encounters.ieee11073 import AbsentReason, MderNumber
from encounters.reading_types import (
    UNITS,
    Kind,
    Reading,
    ReadingDetails,
    ReadingError,
    TimeSource,
    check_plausible,
    require_aware,
)
from encounters.vital_signs import PARAMETERS

_QUANTIZE: Final = Context(prec=200)  # enough digits for any FLOAT (exponent up to 127)


def readings_from_gatt(
    uuid: str,
    data: bytes,
    *,
    client_id: str,
    received_at: datetime,
    device_utc_offset: timedelta | None = None,
    context: bytes | None = None,
) -> list[Reading]:
    """Decode one characteristic value into readings in the stored units.

    ``context`` is a glucose meter's Glucose Measurement Context (0x2A34) for the same
    sequence number as the measurement, when the meter sent one.

    ``taken_at`` is ``received_at``, unless the device sent a timestamp, its clock is set
    and ``device_utc_offset`` says which zone that wall clock shows. PLX values flagged
    unusable or not patient data are refused, never stored. One
    impossible value refuses the whole message, which is acknowledged as one.
    Raises :class:`gatt.GattDecodeError` for bytes that do not decode and
    :class:`ReadingError` for values that cannot be a patient's.
    """
    require_aware(received_at, "received_at")
    measurement = gatt.decode_characteristic(uuid, data)
    if context is not None:
        measurement = _with_context(measurement, context)
    stamp = _Stamp(client_id, received_at.astimezone(UTC), "received", {})
    timestamp = None
    if isinstance(measurement, gatt.PlxSpotCheckMeasurement):
        timestamp = measurement.timestamp if measurement.is_device_clock_set else None
    elif isinstance(measurement, gatt.GlucoseMeasurement):
        # A meter that reports a time fault does not know when it measured.
        status = measurement.sensor_status
        time_fault = status is not None and GlucoseSensorStatus.TIME_FAULT in status
        timestamp = None if time_fault else measurement.timestamp
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
        case gatt.GlucoseMeasurement():
            return [_from_glucose_meter(measurement, stamp)]


def _with_context(measurement: gatt.GattMeasurement, context: bytes) -> gatt.GattMeasurement:
    if not isinstance(measurement, gatt.GlucoseMeasurement):
        raise ReadingError(
            "Field 'context' is for a Glucose Measurement (0x2A18) only.",
            code="bad_message",
            field="context",
        )
    decoded = gatt.decode_glucose_context(context)
    if decoded.sequence_number != measurement.sequence_number:
        raise ReadingError(
            f"The context is for record {decoded.sequence_number}, the measurement is record "
            f"{measurement.sequence_number}: a context joins the measurement of its number.",
            code="context_mismatch",
            field="context",
        )
    return replace(measurement, context=decoded)


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
        reason2: AbsentReason | None = None,
        unit: str | None = None,
    ) -> Reading:
        if reason is not None:
            value = None
        if reason2 is not None:
            value2 = None
        details = cast(ReadingDetails, {**self.details, **(extra or {})})
        reading = Reading(
            self.client_id, kind, value, unit or UNITS[kind], "ble", self.taken_at, value2,
            reason, self.time_source, details, absent_reason2=reason2,
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
    low, high = PARAMETERS["mean_arterial_bp"].plausible
    # MAP is derived: an implausible one is left out rather than losing the whole reading.
    if mean is not None and low <= mean <= high:
        extra["mean_arterial_pressure_mmhg"] = mean
    elif mean is None:
        extra["mean_arterial_absent_reason"] = measurement.mean_arterial.absent_reason
    # Each component on its own: a special systolic does not lose a valid diastolic.
    readings = [
        stamp.reading(
            "blood_pressure",
            systolic,
            measurement.systolic.absent_reason,
            extra,
            diastolic,
            measurement.diastolic.absent_reason,
        )
    ]
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


def _from_glucose_meter(measurement: gatt.GlucoseMeasurement, stamp: _Stamp) -> Reading:
    status = measurement.sensor_status
    if status is not None and status & GLUCOSE_UNUSABLE:
        raise ReadingError(
            "The glucose meter marked this result as not valid (strip, sample, temperature or "
            "device fault).",
            code="unusable_measurement",
            field="data",
        )
    if measurement.sample_type_code == GLUCOSE_TYPE_CONTROL_SOLUTION or (
        measurement.sample_location_code == GLUCOSE_LOCATION_CONTROL_SOLUTION
    ):
        raise ReadingError(
            "The glucose meter marked this result as a control-solution test, not the "
            "patient's blood.",
            code="not_patient_data",
            field="data",
        )
    if measurement.sample_type_code == GLUCOSE_TYPE_INTERSTITIAL_FLUID:
        raise ReadingError(
            "Interstitial-fluid glucose is a continuous monitor's; Hearth reads blood glucose "
            "meters only.",
            code="unsupported_sample",
            field="data",
        )
    if measurement.concentration is None:
        raise ReadingError(
            "The Glucose Measurement carries no concentration.", code="missing_value", field="data"
        )
    extra: dict[str, object] = {
        "device_type": "glucose_meter",
        "sequence_number": measurement.sequence_number,
        "device_unit": measurement.unit,
    }
    for key, text in (
        ("sample_type", measurement.sample_type),
        ("sample_location", measurement.sample_location),
    ):
        if text is not None:
            extra[key] = text
    if status is not None:
        # HI and LO stay numbers (the meter's limit) and are named here.
        extra["sensor_status"] = flag_names(status)
    context = measurement.context
    if context is not None:
        extra.update(_context_details(context))
    # 0.1 mg/dL and 0.01 mmol/L are finer than any meter reads.
    step = "0.01" if measurement.stored_unit == "mmol/L" else "0.1"
    value = _rounded(measurement.in_stored_unit, step)
    return stamp.reading(
        "glucose",
        value,
        measurement.concentration.absent_reason,
        extra,
        unit=measurement.stored_unit,
    )


def _context_details(context: gatt.GlucoseContext) -> dict[str, object]:
    """What a clinician reads a glucose value by: the meal above all, then who tested, the
    patient's state, exercise, insulin and HbA1c, where the meter sent them."""
    found: dict[str, object] = {}
    named = {
        "meal": context.meal,
        "carbohydrate": context.carbohydrate,
        "tester": context.tester,
        "health": context.health,
        "medication": context.medication_name,
    }
    found.update({key: text for key, text in named.items() if text is not None})
    grams = _rounded(_times(context.carbohydrate_kg, 1000), "0.1")
    if grams is not None:
        found["carbohydrate_g"] = grams
    duration = context.exercise_duration_s
    if duration is not None and duration != gatt.EXERCISE_DURATION_OVERRUN:
        found["exercise_duration_s"] = duration
    if context.exercise_intensity_pct is not None and context.exercise_intensity_pct <= 100:
        found["exercise_intensity_pct"] = context.exercise_intensity_pct
    if context.medication_in_litres:
        millilitres = _rounded(_times(context.medication, 1000), "0.001")
        if millilitres is not None:
            found["medication_ml"] = millilitres
    else:
        milligrams = _rounded(_times(context.medication, 1000000), "0.001")
        if milligrams is not None:
            found["medication_mg"] = milligrams
    hba1c = None if context.hba1c_pct is None else context.hba1c_pct.to_float()
    if hba1c is not None and 0 <= hba1c <= 100:
        found["hba1c_pct"] = hba1c
    return found


def _times(number: MderNumber | None, factor: int) -> Decimal | None:
    value = None if number is None else number.to_decimal()
    return None if value is None else _QUANTIZE.multiply(value, Decimal(factor))

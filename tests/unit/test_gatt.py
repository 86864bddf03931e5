"""GATT decoders: known byte strings per characteristic, edge cases, and fuzzing."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.gatt import (
    DECODERS,
    GattDecodeError,
    GattMeasurement,
    HeartRateMeasurement,
    SensorContact,
    decode_blood_pressure,
    decode_characteristic,
    decode_glucose,
    decode_glucose_context,
    decode_heart_rate,
    decode_plx_continuous,
    decode_plx_spot_check,
    decode_temperature,
    decode_weight,
    normalize_uuid,
)
from encounters.gatt_status import (
    BpMeasurementStatus,
    GlucoseSensorStatus,
    PlxMeasurementStatus,
    PlxSensorStatus,
    flag_names,
)
from encounters.ieee11073 import Special


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


# Heart Rate Measurement 0x2A37 --------------------------------------------------------


def test_heart_rate_vector_uint8_without_contact_feature() -> None:
    measurement = decode_heart_rate(hx("00 48"))
    assert measurement.heart_rate_bpm == 72
    assert not measurement.is_uint16
    assert measurement.contact is SensorContact.NOT_SUPPORTED
    assert measurement.rr_intervals_raw == ()
    assert measurement.energy_expended_kj is None


def test_heart_rate_vector_contact_detected() -> None:
    measurement = decode_heart_rate(hx("06 48"))
    assert (measurement.heart_rate_bpm, measurement.contact_bits) == (72, 0x06)
    assert measurement.contact is SensorContact.DETECTED


def test_heart_rate_vector_uint16_with_one_rr_interval() -> None:
    measurement = decode_heart_rate(hx("11 48 00 48 03"))
    assert measurement.is_uint16
    assert measurement.heart_rate_bpm == 72
    assert measurement.rr_intervals_raw == (840,)
    assert measurement.rr_intervals_ms == (820.3125,)  # 0.8203 s


def test_heart_rate_vector_contact_and_rr_of_one_second() -> None:
    measurement = decode_heart_rate(hx("16 3C 00 04"))
    assert measurement.heart_rate_bpm == 60
    assert measurement.contact is SensorContact.DETECTED
    assert measurement.rr_intervals_ms == (1000.0,)


@pytest.mark.parametrize(
    ("flags", "bits", "contact"),
    [
        (0x00, 0x00, SensorContact.NOT_SUPPORTED),
        (0x02, 0x02, SensorContact.NOT_SUPPORTED),  # detected bit alone means nothing
        (0x04, 0x04, SensorContact.NO_CONTACT),  # bit 2 is "supported", bit 1 "detected"
        (0x06, 0x06, SensorContact.DETECTED),
    ],
)
def test_heart_rate_contact_status_is_the_two_bit_field(
    flags: int, bits: int, contact: SensorContact
) -> None:
    measurement = decode_heart_rate(bytes([flags, 70]))
    assert measurement.contact_bits == bits
    assert measurement.contact is contact


def test_heart_rate_reads_energy_expended_then_every_rr_interval() -> None:
    measurement = decode_heart_rate(hx("18 50 10 27 00 04 00 02 00 08"))
    assert measurement.energy_expended_kj == 10000
    assert measurement.rr_intervals_raw == (1024, 512, 2048)
    assert measurement.rr_intervals_ms == (1000.0, 500.0, 2000.0)


@pytest.mark.parametrize(
    "data",
    [
        "",  # no flags
        "00",  # no heart rate
        "01 48",  # uint16 promised, one byte sent
        "08 48 10",  # energy expended promised, one byte sent
        "10 48",  # RR promised, none sent
        "10 48 00 04 01",  # RR leaves an odd byte
        "00 48 00",  # trailing byte with no field announced
    ],
)
def test_heart_rate_refuses_truncated_or_trailing_bytes(data: str) -> None:
    with pytest.raises(GattDecodeError) as caught:
        decode_heart_rate(hx(data))
    assert caught.value.code == "bad_gatt"
    assert "0x2A37" in caught.value.message


# Pulse oximeter 0x2A5E and 0x2A5F ------------------------------------------------------


def test_plx_spot_check_vector() -> None:
    measurement = decode_plx_spot_check(hx("00 61 00 48 00"))
    assert measurement.spo2_pct.to_decimal() == 97
    assert measurement.pulse_rate_bpm.to_decimal() == 72
    assert measurement.timestamp is None
    assert measurement.is_device_clock_set


def test_plx_continuous_vector() -> None:
    measurement = decode_plx_continuous(hx("10 60 00 50 00 19 F0"))
    assert measurement.spo2_pct.to_decimal() == 96
    assert measurement.pulse_rate_bpm.to_decimal() == 80
    assert measurement.pulse_amplitude_index_pct is not None
    assert measurement.pulse_amplitude_index_pct.to_decimal() == Decimal("2.5")


def test_plx_spot_check_reads_every_optional_field_in_flag_order() -> None:
    data = hx("1F 61 00 48 00 E8 07 03 05 0E 1E 00 80 00 21 00 00 19 F0")
    measurement = decode_plx_spot_check(data)
    assert measurement.timestamp == datetime(2024, 3, 5, 14, 30, 0)
    assert measurement.measurement_status == PlxMeasurementStatus.VALIDATED
    assert measurement.sensor_status == (
        PlxSensorStatus.EXTENDED_DISPLAY_UPDATE | PlxSensorStatus.LOW_PERFUSION
    )
    assert measurement.pulse_amplitude_index_pct is not None
    assert not measurement.is_device_clock_set


def test_plx_flag_bit_zero_means_timestamp_in_spot_check_but_fast_data_in_continuous() -> None:
    with_fast = hx("01 61 00 48 00 60 00 4A 00")
    continuous = decode_plx_continuous(with_fast)
    assert continuous.spo2_fast_pct is not None and continuous.spo2_fast_pct.to_decimal() == 96
    assert continuous.pulse_rate_fast_bpm is not None
    assert continuous.pulse_rate_fast_bpm.to_decimal() == 74
    assert continuous.spo2_slow_pct is None
    with pytest.raises(GattDecodeError):
        decode_plx_spot_check(with_fast)  # 4 bytes cannot hold a 7-byte timestamp
    spot = decode_plx_spot_check(hx("01 61 00 48 00 E8 07 03 05 0E 1E 00"))
    assert spot.timestamp == datetime(2024, 3, 5, 14, 30, 0)


def test_plx_continuous_reads_fast_slow_status_sensor_and_pai() -> None:
    data = hx("1F 61 00 48 00 60 00 49 00 5F 00 47 00 00 20 04 00 00 0A F0")
    measurement = decode_plx_continuous(data)
    assert measurement.spo2_slow_pct is not None
    assert measurement.spo2_slow_pct.to_decimal() == 95
    assert measurement.measurement_status == PlxMeasurementStatus.UNAVAILABLE
    assert measurement.sensor_status == PlxSensorStatus.SIGNAL_PROCESSING_IRREGULARITY
    assert measurement.pulse_amplitude_index_pct is not None
    assert measurement.pulse_amplitude_index_pct.to_decimal() == 1


def test_plx_special_values_stay_special() -> None:
    measurement = decode_plx_spot_check(hx("00 FF 07 00 08"))
    assert measurement.spo2_pct.special is Special.NAN
    assert measurement.pulse_rate_bpm.special is Special.NRES


def test_plx_status_names_list_defined_bits_only() -> None:
    status = PlxMeasurementStatus(0x001F | PlxMeasurementStatus.FROM_STORAGE)  # bits 0-4 reserved
    assert flag_names(status) == ("from_storage",)


# Blood pressure 0x2A35 -----------------------------------------------------------------


def test_blood_pressure_vector_with_pulse() -> None:
    measurement = decode_blood_pressure(hx("04 78 00 50 00 5D 00 48 00"))
    assert measurement.unit == "mm[Hg]"
    assert measurement.to_mmhg(measurement.systolic) == 120
    assert measurement.to_mmhg(measurement.diastolic) == 80
    assert measurement.to_mmhg(measurement.mean_arterial) == 93
    assert measurement.pulse_rate_bpm is not None
    assert measurement.pulse_rate_bpm.to_decimal() == 72


def test_blood_pressure_vector_with_timestamp() -> None:
    measurement = decode_blood_pressure(hx("02 78 00 50 00 5D 00 E8 07 03 05 0E 1E 00"))
    assert measurement.timestamp == datetime(2024, 3, 5, 14, 30, 0)
    assert measurement.pulse_rate_bpm is None


def test_blood_pressure_in_kpa_converts_to_mmhg_with_7_50062() -> None:
    # 16.0 kPa / 10.7 kPa / 12.5 kPa as SFLOAT with exponent -1.
    measurement = decode_blood_pressure(hx("01 A0 F0 6B F0 7D F0"))
    assert measurement.unit == "kPa"
    assert measurement.to_mmhg(measurement.systolic) == Decimal("120.009920")
    assert measurement.to_mmhg(measurement.diastolic) == Decimal("80.256634")


def test_blood_pressure_reads_user_id_and_measurement_status() -> None:
    measurement = decode_blood_pressure(hx("18 78 00 50 00 5D 00 02 2C 00"))
    assert measurement.user_id == 2
    status = measurement.measurement_status
    assert status is not None
    assert BpMeasurementStatus.IRREGULAR_PULSE in status
    assert BpMeasurementStatus.IMPROPER_POSITION in status
    assert flag_names(status) == ("irregular_pulse", "pulse_above_upper_limit", "improper_position")


def test_blood_pressure_pulse_range_below_limit_is_the_value_two_of_bits_3_and_4() -> None:
    status = BpMeasurementStatus(2 << 3)
    assert flag_names(status) == ("pulse_below_lower_limit",)


def test_blood_pressure_not_measured_map_is_nan_not_a_number() -> None:
    measurement = decode_blood_pressure(hx("00 78 00 50 00 FF 07"))
    assert measurement.mean_arterial.special is Special.NAN
    assert measurement.to_mmhg(measurement.mean_arterial) is None


@pytest.mark.parametrize(
    "data",
    [
        "00 78 00 50 00 5D",
        "02 78 00 50 00 5D 00 E8 07 03",
        "08 78 00 50 00 5D 00",
        "00" + " 00" * 7,
    ],
)
def test_blood_pressure_refuses_truncated_or_trailing_bytes(data: str) -> None:
    with pytest.raises(GattDecodeError):
        decode_blood_pressure(hx(data))


# Thermometer 0x2A1C --------------------------------------------------------------------


def test_temperature_vector_celsius() -> None:
    measurement = decode_temperature(hx("00 6E 01 00 FF"))
    assert measurement.unit == "Cel"
    assert measurement.celsius == Decimal("36.6")
    assert measurement.site is None


def test_temperature_vector_fahrenheit_in_the_mouth_converts_to_37_celsius() -> None:
    measurement = decode_temperature(hx("05 DA 03 00 FF 06"))
    assert measurement.unit == "[degF]"
    assert measurement.temperature.to_decimal() == Decimal("98.6")
    assert measurement.celsius == 37
    assert (measurement.temperature_type, measurement.site) == (6, "mouth")


def test_temperature_reserved_type_has_no_site() -> None:
    assert decode_temperature(hx("04 6E 01 00 FF 00")).site is None
    assert decode_temperature(hx("04 6E 01 00 FF 0A")).site is None


def test_temperature_uses_the_32_bit_float_not_sfloat() -> None:
    with pytest.raises(GattDecodeError):
        decode_temperature(hx("00 6E F1"))


def test_temperature_special_value_has_no_celsius() -> None:
    measurement = decode_temperature(hx("01 FF FF 7F 00"))
    assert measurement.temperature.special is Special.NAN
    assert measurement.celsius is None


# Weight scale 0x2A9D -------------------------------------------------------------------


def test_weight_vector_si_is_uint16_times_0_005_kg() -> None:
    measurement = decode_weight(hx("00 B0 36"))
    assert measurement.weight_kg == Decimal("70.000")


def test_weight_vector_imperial_is_uint16_times_0_01_lb() -> None:
    measurement = decode_weight(hx("01 46 3C"))
    assert measurement.is_imperial
    assert measurement.weight_raw == 15430
    assert measurement.weight_kg == Decimal("154.30") * Decimal("0.45359237")


def test_weight_vector_0xffff_is_an_unsuccessful_measurement_without_a_value() -> None:
    measurement = decode_weight(hx("00 FF FF"))
    assert measurement.is_unsuccessful
    assert measurement.weight_kg is None


def test_weight_unsuccessful_may_carry_timestamp_and_user_but_not_bmi() -> None:
    ok = decode_weight(hx("06 FF FF E8 07 03 05 0E 1E 00 01"))
    assert ok.is_unsuccessful and ok.user_id == 1
    with pytest.raises(GattDecodeError):
        decode_weight(hx("08 FF FF 00 01 00 07"))


def test_weight_reads_bmi_and_height_at_default_resolutions() -> None:
    measurement = decode_weight(hx("08 B0 36 E5 00 D2 06"))
    assert measurement.bmi_kg_m2 == Decimal("22.9")
    assert measurement.height_m == Decimal("1.746")
    imperial = decode_weight(hx("09 46 3C E5 00 BC 02"))
    assert imperial.height_m == Decimal("70.0") * Decimal("0.0254")


# Date Time and dispatch -----------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp", ["00 00 03 05 0E 1E 00", "E8 07 00 05 0E 1E 00", "E8 07 03 00 0E 1E 00"]
)
def test_date_time_with_unknown_year_month_or_day_is_none(stamp: str) -> None:
    assert decode_blood_pressure(hx("02 78 00 50 00 5D 00 " + stamp)).timestamp is None


@pytest.mark.parametrize(
    "stamp",
    [
        "E8 07 0D 05 0E 1E 00",  # month 13
        "E8 07 02 1E 0E 1E 00",  # 30 February
        "E8 07 03 05 18 1E 00",  # hour 24
        "E8 07 03 05 0E 3C 00",  # minute 60
        "E8 07 03 05 0E 1E 3C",  # second 60
        "10 27 03 05 0E 1E 00",  # year 10000
        "E8 03 03 05 0E 1E 00",  # year 1000, before the format's 1582
    ],
)
def test_date_time_out_of_range_is_a_decode_error(stamp: str) -> None:
    with pytest.raises(GattDecodeError):
        decode_blood_pressure(hx("02 78 00 50 00 5D 00 " + stamp))


@pytest.mark.parametrize(
    "uuid", ["2a37", "2A37", "0x2A37", "00002a37-0000-1000-8000-00805f9b34fb", " 2a37 "]
)
def test_characteristic_uuids_are_accepted_in_short_hex_and_full_form(uuid: str) -> None:
    assert normalize_uuid(uuid) == "2a37"
    measurement = decode_characteristic(uuid, hx("00 48"))
    assert isinstance(measurement, HeartRateMeasurement)
    assert measurement.heart_rate_bpm == 72


@pytest.mark.parametrize("uuid", ["2a38", "180d", "00002a37-0000-1000-8000-00805f9b34fc", ""])
def test_unknown_characteristic_is_refused_with_its_own_code(uuid: str) -> None:
    with pytest.raises(GattDecodeError) as caught:
        decode_characteristic(uuid, hx("00 48"))
    assert caught.value.code == "unknown_characteristic"
    assert caught.value.field == "gatt"


# Fuzzing: any bytes give a measurement or a GattDecodeError, nothing else ----------------

_ANY_BYTES = st.binary(max_size=48) | st.tuples(
    st.integers(0, 0xFF), st.binary(min_size=1, max_size=24)
).map(lambda pair: bytes([pair[0]]) + pair[1])


@pytest.mark.parametrize("uuid", sorted(DECODERS))
@settings(deadline=None)
@given(data=_ANY_BYTES)
def test_any_bytes_decode_or_raise_gatt_decode_error(uuid: str, data: bytes) -> None:
    decoder: Callable[[bytes], GattMeasurement] = DECODERS[uuid]
    try:
        measurement = decoder(data)
    except GattDecodeError as error:
        assert error.code == "bad_gatt"
        assert error.message
        return
    assert measurement.flags == data[0]


# Glucose Measurement 0x2A18 and its Context 0x2A34 ---------------------------------------


def test_glucose_vector_kg_per_litre_with_offset_type_location_and_status() -> None:
    # flags 0x0B: time offset, concentration + type/location, status; kg/L.
    # Record 7, 2026-03-02 08:55:00, offset -5 min, 90 mg/dL = 90e-5 kg/L, capillary whole blood
    # from a finger, status "battery low".
    value = decode_glucose(hx("0B 0700 EA07 03 02 08 37 00 FBFF 5AB0 11 0100"))
    assert value.sequence_number == 7
    assert value.timestamp == datetime(2026, 3, 2, 8, 50, 0)
    assert (value.unit, value.stored_unit, value.in_stored_unit) == ("kg/L", "mg/dL", Decimal(90))
    assert (value.sample_type, value.sample_location) == ("capillary_whole_blood", "finger")
    assert value.sensor_status == GlucoseSensorStatus.BATTERY_LOW
    assert not value.is_context_announced


def test_glucose_vector_mol_per_litre_becomes_mmol_per_litre() -> None:
    # flags 0x06: concentration present, mol/L; 5.5 mmol/L = 55e-4 mol/L; venous plasma, earlobe.
    value = decode_glucose(hx("06 0100 EA07 03 02 08 37 00 37C0 34"))
    assert (value.stored_unit, value.in_stored_unit) == ("mmol/L", Decimal("5.5"))
    assert (value.sample_type, value.sample_location) == ("venous_plasma", "earlobe")


def test_glucose_context_reads_every_field_in_flag_order() -> None:
    # flags 0xDF: carbohydrate, meal, tester-health, exercise, medication (kg), HbA1c, and the
    # extended flags byte straight after the sequence number.
    context = decode_glucose_context(hx("DF 0700 00 01 32D0 02 21 2C01 32 01 64A0 3AF0"))
    assert context.sequence_number == 7 and context.extended_flags == 0
    assert (context.carbohydrate, context.carbohydrate_kg.to_decimal()) == (
        "breakfast",
        Decimal("0.050"),
    )
    assert (context.meal, context.tester, context.health) == (
        "postprandial",
        "self",
        "major_health_issues",
    )
    assert (context.exercise_duration_s, context.exercise_intensity_pct) == (300, 50)
    assert context.medication_name == "rapid_acting_insulin"
    assert not context.medication_in_litres
    assert context.hba1c_pct is not None and context.hba1c_pct.to_decimal() == Decimal("5.8")


@pytest.mark.parametrize(
    "data",
    [
        "02 0100 EA07 03 02 08 37 00 37C0",  # type/location byte missing
        "00 0100 EA07 03 02 08 37",  # base time cut short
        "00 0100 EA07 03 02 08 37 00 00",  # a byte after the last field
    ],
)
def test_glucose_refuses_truncated_or_trailing_bytes(data: str) -> None:
    with pytest.raises(GattDecodeError):
        decode_glucose(hx(data))


def test_a_glucose_context_alone_is_refused_with_its_own_code() -> None:
    with pytest.raises(GattDecodeError) as caught:
        normalize_uuid("2a34")
    assert caught.value.code == "unknown_characteristic" and "context" in caught.value.message

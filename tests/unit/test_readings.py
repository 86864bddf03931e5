"""Data-channel reading messages: validation, GATT mapping, refusals and round trips."""

import base64
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.errors import ValidationError
from encounters.gatt import GattDecodeError
from encounters.gatt_readings import readings_from_gatt
from encounters.readings import (
    KINDS,
    LOINC,
    PLAUSIBLE,
    UNITS,
    Kind,
    Reading,
    ReadingDetails,
    ReadingError,
    parse_message,
    reading_to_dict,
)
from encounters.vital_signs import VITAL_SIGNS, convert

NOW = datetime(2024, 3, 5, 14, 35, tzinfo=UTC)
START = datetime(2024, 3, 5, 14, 0, tzinfo=UTC)
TAKEN = "2024-03-05T14:30:00Z"
VALUES: dict[str, Any] = {
    "spo2": 94,
    "heart_rate": 72,
    "respiratory_rate": 18,
    "blood_pressure": {"systolic": 120, "diastolic": 80},
    "temperature": 36.6,
    "weight": 70.5,
    "glucose": 5.5,
}


def manual(of: Kind = "spo2", **changes: Any) -> dict[str, Any]:
    message = {
        "id": "5b0c7f6e-8a4d-4f3b-9e2a-1c2d3e4f5a6b",
        "kind": of,
        "value": VALUES[of],
        "unit": UNITS[of],
        "taken_at": TAKEN,
        "source": "manual",
    }
    message.update(changes)
    return message


def ble(characteristic: str, value_hex: str, **changes: Any) -> dict[str, Any]:
    message = {
        "id": "m-1",
        "source": "ble",
        "gatt": characteristic,
        "data": base64.b64encode(bytes.fromhex(value_hex)).decode(),
        "taken_at": TAKEN,
    }
    message.update(changes)
    return message


def refused(message: object, **kwargs: Any) -> ReadingError:
    with pytest.raises(ReadingError) as caught:
        parse_message(message, now=NOW, **kwargs)
    assert isinstance(caught.value, ValidationError)
    return caught.value


# Decoded messages ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_message_of_each_kind_becomes_one_reading_with_its_loinc(kind: Kind) -> None:
    [reading] = parse_message(manual(kind), now=NOW, not_before=START)
    assert reading.kind == kind
    assert reading.unit == UNITS[kind]
    assert reading.loinc == LOINC[kind]
    assert reading.taken_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert reading.source == "manual"
    assert reading.time_source == "received"
    assert reading.absent_reason is None


def test_loinc_codes_are_those_of_clinical_md_4_6() -> None:
    assert LOINC == {
        "spo2": ("2708-6", "59408-5"),
        "heart_rate": ("8867-4",),
        "respiratory_rate": ("9279-1",),
        "blood_pressure": ("85354-9",),
        "temperature": ("8310-5",),
        "weight": ("29463-7",),
        "glucose": ("14743-9",),  # Glucose [Moles/volume] in Capillary blood by Glucometer
    }


def test_blood_pressure_keeps_systolic_in_value_and_diastolic_in_value2() -> None:
    [reading] = parse_message(manual("blood_pressure"), now=NOW)
    assert (reading.value, reading.value2) == (120.0, 80.0)


def test_taken_at_in_another_zone_is_stored_in_utc() -> None:
    [reading] = parse_message(manual(taken_at="2024-03-05T09:30:00-05:00"), now=NOW)
    assert reading.taken_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert reading.taken_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"kind": "spo2"}, "missing_id"),
        (manual(id=""), "bad_id"),
        (manual(id=42), "bad_id"),
        (manual(id="x" * 65), "bad_id"),
        (manual(id="a b"), "bad_id"),
        (manual(id="<script>"), "bad_id"),
        (manual(kind="cholesterol"), "unknown_kind"),
        (manual(kind=None), "missing_kind"),
        (manual(source="fax"), "unknown_source"),
        (manual(source=None), "missing_source"),
        (manual("blood_pressure", unit="mmHg"), "wrong_unit"),
        (manual("temperature", unit="[degF]", value=98.6), "wrong_unit"),
        (manual(unit=None), "missing_unit"),
        (manual(value=None), "missing_value"),
        (manual(value=True), "bad_value"),
        (manual(value="94"), "bad_value"),
        (manual(value=[94]), "bad_value"),
        (manual(value=math.nan), "not_finite"),
        (manual(value=math.inf), "not_finite"),
        (manual(value=10**400), "not_finite"),
        (manual(value=130), "out_of_range"),
        (manual(value=0), "out_of_range"),
        (manual("temperature", value=5), "out_of_range"),
        (manual("heart_rate", value=-60), "out_of_range"),
        (manual("respiratory_rate", value=-1), "out_of_range"),
        (manual("weight", value=0), "out_of_range"),
        (manual("blood_pressure", value={"systolic": 80, "diastolic": 80}), "out_of_range"),
        (manual("blood_pressure", value={"systolic": 80, "diastolic": 120}), "out_of_range"),
        (manual("blood_pressure", value={"systolic": 400, "diastolic": 80}), "out_of_range"),
        (manual("blood_pressure", value={"systolic": 120}), "bad_value"),
        (manual("blood_pressure", value={"systolic": 120, "diastolic": 80, "x": 1}), "bad_value"),
        (manual("blood_pressure", value={"systolic": "120", "diastolic": 80}), "bad_value"),
        (manual("blood_pressure", value=120), "bad_value"),
        (manual(taken_at=None), "missing_time"),
        (manual(taken_at="2024-03-05T14:30:00"), "bad_time"),
        (manual(taken_at="2024-03-05"), "bad_time"),
        (manual(taken_at="yesterday"), "bad_time"),
        (manual(taken_at=1709649000), "bad_time"),
        (manual(taken_at="2024-03-05T14:40:01Z"), "future_time"),
        (manual(absent_reason="not-a-number"), "bad_value"),
        (manual(value=None, absent_reason="unknown"), "bad_value"),
        (manual(time_source="guess"), "bad_time_source"),
        (manual(details=[]), "bad_details"),
        (manual(details={"colour": "blue"}), "bad_details"),
        (manual(details={"user_id": "1"}), "bad_details"),
        (manual(details={"user_id": True}), "bad_details"),
        (manual(details={"body_site": "<b>arm</b>"}), "bad_details"),
        (manual(details={"rr_intervals_ms": 800}), "bad_details"),
        (manual(details={"rr_intervals_ms": [800] * 65}), "bad_details"),
        (manual(details={"rr_intervals_ms": [math.nan]}), "not_finite"),
    ],
)
def test_refusals_carry_the_nack_code(message: dict[str, Any], code: str) -> None:
    error = refused(message)
    assert error.code == code
    assert error.message.endswith(".")


@pytest.mark.parametrize("message", [None, [], "spo2 94", 94, {1: "x"}])
def test_a_message_that_is_not_an_object_is_refused(message: object) -> None:
    assert refused(message).code == "bad_message"


def test_a_refusal_names_the_message_id_for_the_nack_but_not_the_value() -> None:
    error = refused(manual(value=131.5))
    assert error.client_id == "5b0c7f6e-8a4d-4f3b-9e2a-1c2d3e4f5a6b"
    assert error.field == "value"
    assert "131.5" not in error.message
    assert "20" in error.message and "100" in error.message


def test_taken_at_up_to_five_minutes_ahead_is_accepted_for_clock_drift() -> None:
    [reading] = parse_message(manual(taken_at="2024-03-05T14:40:00Z"), now=NOW)
    assert reading.taken_at == NOW + timedelta(minutes=5)


def test_taken_at_before_the_encounter_started_is_refused() -> None:
    message = manual(taken_at="2024-03-05T13:59:59Z")
    assert refused(message, not_before=START).code == "before_start"
    assert parse_message(message, now=NOW)  # without a start, any past time is accepted


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        parse_message(manual(), now=datetime(2024, 3, 5, 14, 35))


def test_an_absent_value_is_accepted_only_as_null_with_a_reason() -> None:
    [reading] = parse_message(manual(value=None, absent_reason="positive-infinity"), now=NOW)
    assert (reading.value, reading.absent_reason) == (None, "positive-infinity")


def test_unknown_top_level_fields_are_ignored_for_forward_compatibility() -> None:
    [reading] = parse_message(manual(device="Nonin 3230"), now=NOW)
    assert reading.value == 94.0


def test_plausible_limits_keep_the_values_seen_at_the_end_of_life() -> None:
    assert PLAUSIBLE["spo2"][0] <= 50
    assert PLAUSIBLE["systolic_bp"][0] <= 50
    assert PLAUSIBLE["heart_rate"][0] <= 20
    assert PLAUSIBLE["respiratory_rate"][0] == 0
    assert PLAUSIBLE["temperature"][0] <= 32
    [reading] = parse_message(manual(value=52), now=NOW)
    assert reading.value == 52.0


# Bluetooth messages ---------------------------------------------------------------------


def test_heart_rate_strap_gives_heart_rate_with_contact_and_rr_intervals() -> None:
    [reading] = parse_message(ble("2a37", "16 3C 00 04"), now=NOW)
    assert (reading.kind, reading.value, reading.unit, reading.source) == (
        "heart_rate",
        60.0,
        "/min",
        "ble",
    )
    assert reading.details == {
        "device_type": "heart_rate_sensor",
        "contact": "detected",
        "rr_intervals_ms": (1000.0,),
    }


def test_oximeter_gives_spo2_and_its_pulse_as_heart_rate() -> None:
    spo2, pulse = parse_message(ble("2a5f", "10 60 00 50 00 19 F0"), now=NOW)
    assert (spo2.kind, spo2.value, spo2.unit) == ("spo2", 96.0, "%")
    assert (pulse.kind, pulse.value, pulse.unit) == ("heart_rate", 80.0, "/min")
    assert spo2.client_id == pulse.client_id == "m-1"
    assert pulse.details["device_type"] == "pulse_oximeter"
    assert spo2.details["pulse_amplitude_index_pct"] == 2.5


def test_cuff_gives_blood_pressure_with_map_and_its_pulse_as_heart_rate() -> None:
    bp, pulse = parse_message(ble("2a35", "04 78 00 50 00 5D 00 48 00"), now=NOW)
    assert (bp.kind, bp.value, bp.value2, bp.unit) == ("blood_pressure", 120.0, 80.0, "mm[Hg]")
    assert bp.details["mean_arterial_pressure_mmhg"] == 93.0
    assert (pulse.kind, pulse.value) == ("heart_rate", 72.0)


def test_cuff_in_kpa_is_stored_in_mmhg() -> None:
    [bp] = parse_message(ble("2a35", "01 A0 F0 6B F0 7D F0"), now=NOW)
    assert (bp.value, bp.value2, bp.unit) == (120.0, 80.3, "mm[Hg]")
    assert bp.details["device_unit"] == "kPa"
    assert bp.details["mean_arterial_pressure_mmhg"] == 93.8


def test_cuff_with_an_unmeasured_systolic_keeps_its_diastolic_and_mean() -> None:
    [bp] = parse_message(ble("2a35", "00 FF 07 50 00 5D 00"), now=NOW)
    assert (bp.value, bp.absent_reason) == (None, "not-a-number")
    assert (bp.value2, bp.absent_reason2) == (80.0, None)
    assert bp.details["mean_arterial_pressure_mmhg"] == 93.0
    stored = reading_to_dict(bp)
    assert stored["value"] == {"systolic": None, "diastolic": 80.0}
    assert stored["absent_reasons"] == {"systolic": "not-a-number"}
    assert stored["absent_reason"] is None
    assert parse_message(stored, now=NOW) == [bp]


def test_cuff_with_a_special_mean_keeps_systolic_and_diastolic_and_names_the_reason() -> None:
    [bp] = parse_message(ble("2a35", "00 78 00 50 00 FE 07"), now=NOW)
    assert (bp.value, bp.value2) == (120.0, 80.0)
    assert bp.details["mean_arterial_absent_reason"] == "positive-infinity"
    assert "mean_arterial_pressure_mmhg" not in bp.details


def test_a_typed_blood_pressure_may_name_a_component_the_cuff_could_not_measure() -> None:
    value = {"systolic": 118, "diastolic": None}
    message = manual("blood_pressure", value=value, absent_reasons={"diastolic": "error"})
    [bp] = parse_message(message, now=NOW)
    assert (bp.value, bp.value2, bp.absent_reason, bp.absent_reason2) == (
        118.0,
        None,
        None,
        "error",
    )
    missing = manual("blood_pressure", value=value)
    assert refused(missing).code == "missing_value"
    both = manual("blood_pressure", absent_reasons={"systolic": "error"})
    assert refused(both).code == "bad_value"


def test_thermometer_in_fahrenheit_is_stored_in_celsius_with_its_site() -> None:
    [reading] = parse_message(ble("2a1c", "05 DA 03 00 FF 06"), now=NOW)
    assert (reading.kind, reading.value, reading.unit) == ("temperature", 37.0, "Cel")
    assert reading.details["body_site"] == "mouth"
    assert reading.details["device_unit"] == "[degF]"


def test_thermometer_celsius_keeps_the_device_decimal() -> None:
    [reading] = parse_message(ble("2a1c", "00 6E 01 00 FF"), now=NOW)
    assert reading.value == 36.6


@pytest.mark.parametrize(("data", "kilograms"), [("00 B0 36", 70.0), ("01 46 3C", 69.989)])
def test_scale_is_stored_in_kilograms(data: str, kilograms: float) -> None:
    [reading] = parse_message(ble("2a9d", data), now=NOW)
    assert (reading.kind, reading.value, reading.unit) == ("weight", kilograms, "kg")


def test_unsuccessful_weighing_is_stored_absent_never_as_a_number() -> None:
    [reading] = parse_message(ble("2a9d", "00 FF FF"), now=NOW)
    assert (reading.value, reading.absent_reason) == (None, "error")


@pytest.mark.parametrize(
    ("data", "spo2_reason", "pulse_reason"),
    [
        ("00 FF 07 48 00", "not-a-number", None),
        ("00 61 00 00 08", None, "error"),
        ("00 61 00 FE 07", None, "positive-infinity"),
        ("00 02 08 01 08", "negative-infinity", "error"),
    ],
)
def test_special_values_become_absent_readings_with_their_reason(
    data: str, spo2_reason: str | None, pulse_reason: str | None
) -> None:
    spo2, pulse = parse_message(ble("2a5e", data), now=NOW)
    assert spo2.absent_reason == spo2_reason and (spo2.value is None) == bool(spo2_reason)
    assert pulse.absent_reason == pulse_reason and (pulse.value is None) == bool(pulse_reason)


@pytest.mark.parametrize("bit", [13, 14, 15])
def test_oximeter_measurement_flagged_unusable_is_refused(bit: int) -> None:
    status = (1 << bit).to_bytes(2, "little").hex()
    assert refused(ble("2a5e", "02 61 00 48 00 " + status)).code == "unusable_measurement"


@pytest.mark.parametrize("bit", [10, 11])
def test_oximeter_demonstration_or_testing_data_is_refused_as_not_patient_data(bit: int) -> None:
    status = (1 << bit).to_bytes(2, "little").hex()
    assert refused(ble("2a5f", "04 61 00 48 00 " + status)).code == "not_patient_data"


def test_oximeter_other_status_bits_are_kept_as_details() -> None:
    spo2, _ = parse_message(ble("2a5e", "06 61 00 48 00 80 02 20 08 00"), now=NOW)
    assert spo2.details["measurement_status"] == ("validated", "from_storage")
    assert spo2.details["sensor_status"] == ("low_perfusion", "sensor_not_connected_to_user")


def test_device_timestamp_is_recorded_and_used_only_with_a_known_utc_offset() -> None:
    message = ble("2a35", "02 78 00 50 00 5D 00 E8 07 03 05 09 14 00")
    [received] = parse_message(message, now=NOW)
    assert received.time_source == "received"
    assert received.taken_at == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    assert received.details["device_time"] == "2024-03-05T09:20:00"
    [device] = parse_message(message, now=NOW, device_utc_offset=timedelta(hours=-5))
    assert device.time_source == "device"
    assert device.taken_at == datetime(2024, 3, 5, 14, 20, tzinfo=UTC)


def test_a_device_time_before_the_visit_is_refused_like_any_other() -> None:
    message = ble("2a35", "02 78 00 50 00 5D 00 E8 07 03 04 09 14 00")  # yesterday
    error = refused(message, not_before=START, device_utc_offset=timedelta(0))
    assert error.code == "before_start"


def test_oximeter_time_is_not_used_when_its_clock_is_not_set() -> None:
    message = ble("2a5e", "11 61 00 48 00 E8 07 03 05 0E 14 00")
    spo2, _ = parse_message(message, now=NOW, device_utc_offset=timedelta(0))
    assert spo2.time_source == "received"
    assert "device_time" not in spo2.details


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (ble("2a38", "00 48"), "unknown_characteristic"),
        (ble("2a37", "01 48"), "bad_gatt"),
        (ble("2a37", ""), "bad_gatt"),
        (ble("2a9d", "00 B0 36 00"), "bad_gatt"),
        (ble("2a37", "00 00"), "out_of_range"),  # a strap with no reading sends 0
        (ble("2a37", "00 48", gatt=0x2A37), "bad_gatt"),
        (ble("2a37", "00 48", data="AEg"), "bad_gatt"),  # padding missing
        (ble("2a37", "00 48", data="AEg=\n"), "bad_gatt"),
        (ble("2a37", "00 48", data="AE g="), "bad_gatt"),
        (ble("2a37", "00 48", data="AEh="), "bad_gatt"),  # non-zero padding bits
        (ble("2a37", "FB FF", data="-_8="), "bad_gatt"),  # URL-safe alphabet
        (ble("2a37", "00 48", data=None), "bad_gatt"),
        (ble("2a37", "00 48", source="manual"), "bad_message"),
        (ble("2a37", "00 48", kind="heart_rate"), "bad_message"),
        (ble("2a37", "00 48", taken_at="2024-03-05 14:30"), "bad_time"),
    ],
)
def test_bluetooth_refusals_carry_the_nack_code(message: dict[str, Any], code: str) -> None:
    assert refused(message).code == code


def test_readings_from_gatt_raises_gatt_decode_error_for_bytes_that_do_not_decode() -> None:
    with pytest.raises(GattDecodeError):
        readings_from_gatt("2a37", b"", client_id="x", received_at=NOW)


def test_reading_is_hashable_and_compares_its_details() -> None:
    [a] = parse_message(ble("2a37", "16 3C 00 04"), now=NOW)
    [b] = parse_message(ble("2a37", "06 3C"), now=NOW)
    assert hash(a) == hash(b)
    assert a != b
    assert len({a, b}) == 2


# Properties -----------------------------------------------------------------------------

_TAKEN_AT = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.just(UTC),
)


def _value(kind: str) -> st.SearchStrategy[float]:
    low, high = PLAUSIBLE[kind]
    return st.floats(low, high, allow_nan=False)


@st.composite
def valid_readings(draw: st.DrawFn) -> Reading:
    kind: Kind = draw(st.sampled_from(KINDS))
    value2 = None
    if kind == "blood_pressure":
        value2 = draw(_value("diastolic_bp"))
        value = draw(_value("systolic_bp").filter(lambda systolic: systolic > value2))
    else:
        value = draw(_value(kind))
    reason = draw(st.none() | st.sampled_from(["not-a-number", "error", "positive-infinity"]))
    details: ReadingDetails = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "rr_intervals_ms": st.lists(st.floats(0, 70000), max_size=4).map(tuple),
                "contact": st.sampled_from(["not_supported", "no_contact", "detected"]),
                "body_site": st.sampled_from(["mouth", "tympanum"]),
                "user_id": st.integers(0, 254),
                "device_time": st.just("2024-03-05T09:20:00"),
                "measurement_status": st.lists(st.sampled_from(["validated", "body_movement"])).map(
                    tuple
                ),
                "mean_arterial_pressure_mmhg": st.floats(10, 300),
            },
        )
    )  # type: ignore[assignment]
    return Reading(
        client_id=draw(st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)),
        kind=kind,
        value=None if reason else value,
        unit=UNITS[kind],
        source=draw(st.sampled_from(["ble", "manual", "simulator"])),
        taken_at=draw(_TAKEN_AT),
        value2=None if reason else value2,
        absent_reason=reason,  # type: ignore[arg-type]
        time_source=draw(st.sampled_from(["device", "received"])),
        details=details,
        absent_reason2=reason if kind == "blood_pressure" else None,  # type: ignore[arg-type]
    )


@given(valid_readings())
def test_parsing_the_stored_shape_gives_back_the_same_reading(reading: Reading) -> None:
    stored = json.loads(json.dumps(reading_to_dict(reading), allow_nan=False))
    assert parse_message(stored, now=datetime(2030, 1, 1, tzinfo=UTC)) == [reading]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=8,
)
_FIELDS = {
    "id": st.just("a-1") | _JSON,
    "kind": st.sampled_from(KINDS) | _JSON,
    "value": st.floats(allow_nan=True) | st.integers() | _JSON,
    "unit": st.sampled_from(sorted(set(UNITS.values()))) | _JSON,
    "taken_at": st.just(TAKEN) | _JSON,
    "source": st.sampled_from(["ble", "manual"]) | _JSON,
    "gatt": st.sampled_from(["2a37", "2a5e", "2a5f", "2a35", "2a1c", "2a9d"]) | _JSON,
    "data": st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode()) | _JSON,
    "absent_reason": st.just("error") | _JSON,
    "details": _JSON,
}


@settings(deadline=None)
@given(st.fixed_dictionaries({}, optional=_FIELDS) | _JSON)
def test_any_json_message_gives_readings_or_a_reading_error(message: object) -> None:
    try:
        readings = parse_message(message, now=NOW)
    except ReadingError as error:
        assert error.code and error.message
        return
    for reading in readings:
        assert reading.kind in KINDS and reading.unit in VITAL_SIGNS[reading.kind].units
        assert (reading.value is None) == (reading.absent_reason is not None)


@settings(deadline=None)
@given(
    st.sampled_from(["2a37", "2a5e", "2a5f", "2a35", "2a1c", "2a9d", "2a18"]),
    st.binary(max_size=32),
)
def test_any_bluetooth_value_gives_valid_readings_or_a_reading_error(
    gatt: str, data: bytes
) -> None:
    message = {"id": "b", "source": "ble", "gatt": gatt, "data": base64.b64encode(data).decode()}
    try:
        readings = parse_message({**message, "taken_at": TAKEN}, now=NOW)
    except ReadingError as error:
        assert error.code and error.client_id == "b"
        return
    for reading in readings:
        if reading.value is not None:
            parameter = "systolic_bp" if reading.kind == "blood_pressure" else reading.kind
            low, high = PLAUSIBLE[parameter]
            assert low <= convert(reading.value, reading.unit, UNITS[reading.kind]) <= high
        assert parse_message(reading_to_dict(reading), now=NOW) == [reading]


def test_utc_offsets_are_normalised_to_utc_in_the_stored_shape() -> None:
    zone = timezone(timedelta(hours=10))
    [reading] = parse_message(manual(taken_at="2024-03-06T00:30:00+10:00"), now=NOW)
    assert reading_to_dict(reading)["taken_at"] == "2024-03-05T14:30:00+00:00"
    assert reading.taken_at == datetime(2024, 3, 6, 0, 30, tzinfo=zone)


# Glucose meters ---------------------------------------------------------------------------

# Record 5, 2026-03-02 08:55:00, 90 mg/dL (90e-5 kg/L), capillary whole blood, finger; a
# context follows. Its context: record 5, postprandial, tested by the patient, 100 mg of
# rapid-acting insulin, HbA1c 5.8 %.
GLUCOSE_90 = "12 0500 EA07 03 02 08 37 00 5AB0 11"
CONTEXT_5 = "56 0500 02 51 01 64A0 3AF0"


def glucose(value_hex: str, context_hex: str | None = None) -> dict[str, Any]:
    message = ble("2a18", value_hex.replace(" ", ""))
    if context_hex is not None:
        data = bytes.fromhex(context_hex.replace(" ", ""))
        message["context"] = base64.b64encode(data).decode()
    return message


def test_a_glucose_meter_in_kg_per_litre_is_stored_in_mg_per_decilitre_with_its_context() -> None:
    [reading] = parse_message(glucose(GLUCOSE_90, CONTEXT_5), now=NOW)
    assert (reading.kind, reading.value, reading.unit) == ("glucose", 90.0, "mg/dL")
    assert reading.loinc == ("41653-7",)
    assert reading.details["sequence_number"] == 5
    assert reading.details["sample_type"] == "capillary_whole_blood"
    assert reading.details["sample_location"] == "finger"
    assert reading.details["meal"] == "postprandial"
    assert reading.details["tester"] == "self"
    assert reading.details["health"] == "no_health_issues"
    assert reading.details["medication"] == "rapid_acting_insulin"
    assert reading.details["medication_mg"] == 100.0
    assert reading.details["hba1c_pct"] == 5.8
    assert parse_message(reading_to_dict(reading), now=NOW) == [reading]


def test_a_glucose_meter_in_mol_per_litre_is_stored_in_mmol_per_litre() -> None:
    [reading] = parse_message(glucose("06 0100 EA07 03 02 08 37 00 37C0 11"), now=NOW)
    assert (reading.value, reading.unit, reading.loinc) == (5.5, "mmol/L", ("14743-9",))


def test_a_venous_plasma_glucose_has_the_plasma_code() -> None:
    [reading] = parse_message(glucose("02 0100 EA07 03 02 08 37 00 5AB0 14"), now=NOW)
    assert reading.loinc == ("2345-7",)


@pytest.mark.parametrize(
    ("value_hex", "code"),
    [
        ("0A 0100 EA07 03 02 08 37 00 5AB0 11 0400", "unusable_measurement"),  # sample too small
        ("0A 0100 EA07 03 02 08 37 00 5AB0 11 0004", "unusable_measurement"),  # device fault
        ("02 0100 EA07 03 02 08 37 00 5AB0 1A", "not_patient_data"),  # control solution
        ("02 0100 EA07 03 02 08 37 00 5AB0 41", "not_patient_data"),  # control-solution site
        ("02 0100 EA07 03 02 08 37 00 5AB0 19", "unsupported_sample"),  # interstitial fluid
        ("00 0100 EA07 03 02 08 37 00", "missing_value"),  # no concentration at all
    ],
)
def test_a_glucose_the_meter_says_is_not_the_patients_valid_blood_is_refused(
    value_hex: str, code: str
) -> None:
    assert refused(glucose(value_hex)).code == code


def test_a_glucose_meters_hi_keeps_its_limit_so_it_alerts() -> None:
    # 600 mg/dL with "result higher than the device can process".
    [reading] = parse_message(glucose("0A 0100 EA07 03 02 08 37 00 58B2 11 2000"), now=NOW)
    assert (reading.value, reading.unit) == (600.0, "mg/dL")
    assert reading.details["sensor_status"] == ("result_too_high",)


def test_a_glucose_context_of_another_record_is_refused() -> None:
    assert refused(glucose(GLUCOSE_90, "02 0600 01")).code == "context_mismatch"
    assert refused({**ble("2a37", "0048"), "context": "AgUAAQ=="}).code == "bad_message"

"""Status flags and code tables of the Bluetooth GATT health characteristics.

The bit meanings of the PLX, blood pressure and glucose status fields, the Temperature Type
codes and the glucose meter's code tables, shared by the decoders in :mod:`encounters.gatt`
and the reading mapping in :mod:`encounters.gatt_readings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntFlag
from typing import Final


class PlxMeasurementStatus(IntFlag):
    """PLX Measurement Status bits (uint16); bits 0-4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATE = 1 << 6
    VALIDATED = 1 << 7
    FULLY_QUALIFIED = 1 << 8
    FROM_STORAGE = 1 << 9
    DEMONSTRATION = 1 << 10
    TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    UNAVAILABLE = 1 << 13
    QUESTIONABLE = 1 << 14
    INVALID = 1 << 15


# Bits 13-15 mean "not usable"; bits 10-11 mark demonstration or testing data.
PLX_UNUSABLE: Final = (
    PlxMeasurementStatus.UNAVAILABLE
    | PlxMeasurementStatus.QUESTIONABLE
    | PlxMeasurementStatus.INVALID
)
PLX_NOT_PATIENT_DATA: Final = PlxMeasurementStatus.DEMONSTRATION | PlxMeasurementStatus.TESTING


class PlxSensorStatus(IntFlag):
    """PLX Device and Sensor Status bits (uint24)."""

    EXTENDED_DISPLAY_UPDATE = 1 << 0
    EQUIPMENT_MALFUNCTION = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY = 1 << 2
    INADEQUATE_SIGNAL = 1 << 3
    POOR_SIGNAL = 1 << 4
    LOW_PERFUSION = 1 << 5
    ERRATIC_SIGNAL = 1 << 6
    NON_PULSATILE_SIGNAL = 1 << 7
    QUESTIONABLE_PULSE = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE = 1 << 10
    SENSOR_NOT_CONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


class BpMeasurementStatus(IntFlag):
    """Blood Pressure Measurement Status bits (uint16).

    Bits 3-4 are one 2-bit pulse-rate range field (0 in range, 1 above, 2 below); as
    flags, 1 and 2 are exactly the two members below, and 3 (reserved) sets both.
    """

    BODY_MOVEMENT = 1 << 0
    CUFF_TOO_LOOSE = 1 << 1
    IRREGULAR_PULSE = 1 << 2
    PULSE_ABOVE_UPPER_LIMIT = 1 << 3
    PULSE_BELOW_LOWER_LIMIT = 1 << 4
    IMPROPER_POSITION = 1 << 5


def flag_names(flags: IntFlag) -> tuple[str, ...]:
    """The defined bits set in ``flags`` as lower-case slugs, in bit order."""
    return tuple(member.name.lower() for member in type(flags) if member in flags and member.name)


# Health Thermometer Temperature Type codes; 0 and 10-255 are reserved.
TEMPERATURE_SITES: Final[Mapping[int, str]] = {
    1: "armpit",
    2: "body",
    3: "ear",
    4: "finger",
    5: "gastrointestinal_tract",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum",
}


class GlucoseSensorStatus(IntFlag):
    """Glucose Sensor Status Annunciation bits (uint16); bits 12-15 are reserved."""

    BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH = 1 << 5  # higher than the device can process ("HI")
    RESULT_TOO_LOW = 1 << 6  # lower than the device can process ("LO")
    TEMPERATURE_TOO_HIGH = 1 << 7
    TEMPERATURE_TOO_LOW = 1 << 8
    STRIP_PULLED_TOO_SOON = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


# The meter says its result is not a valid measurement. HI and LO are not here: the value is
# then the meter's limit and the truth beyond it, which is exactly what must raise an alert.
GLUCOSE_UNUSABLE: Final = (
    GlucoseSensorStatus.SENSOR_MALFUNCTION
    | GlucoseSensorStatus.SAMPLE_SIZE_INSUFFICIENT
    | GlucoseSensorStatus.STRIP_INSERTION_ERROR
    | GlucoseSensorStatus.STRIP_TYPE_INCORRECT
    | GlucoseSensorStatus.TEMPERATURE_TOO_HIGH
    | GlucoseSensorStatus.TEMPERATURE_TOO_LOW
    | GlucoseSensorStatus.STRIP_PULLED_TOO_SOON
    | GlucoseSensorStatus.GENERAL_DEVICE_FAULT
)

# Glucose Measurement "Type" (low nibble of the type-sample location byte); 0, 11-15 reserved.
GLUCOSE_SAMPLE_TYPES: Final[Mapping[int, str]] = {
    1: "capillary_whole_blood",
    2: "capillary_plasma",
    3: "venous_whole_blood",
    4: "venous_plasma",
    5: "arterial_whole_blood",
    6: "arterial_plasma",
    7: "undetermined_whole_blood",
    8: "undetermined_plasma",
    9: "interstitial_fluid",
    10: "control_solution",
}
GLUCOSE_TYPE_CONTROL_SOLUTION: Final = 10
GLUCOSE_TYPE_INTERSTITIAL_FLUID: Final = 9
# "Sample Location" (high nibble); 15 = not available, 0 and 5-14 reserved.
GLUCOSE_SAMPLE_LOCATIONS: Final[Mapping[int, str]] = {
    1: "finger",
    2: "alternate_site",
    3: "earlobe",
    4: "control_solution",
}
GLUCOSE_LOCATION_CONTROL_SOLUTION: Final = 4
# Glucose Measurement Context code tables.
GLUCOSE_MEALS: Final[Mapping[int, str]] = {
    1: "preprandial",
    2: "postprandial",
    3: "fasting",
    4: "casual",
    5: "bedtime",
}
GLUCOSE_CARBOHYDRATES: Final[Mapping[int, str]] = {
    1: "breakfast",
    2: "lunch",
    3: "dinner",
    4: "snack",
    5: "drink",
    6: "supper",
    7: "brunch",
}
GLUCOSE_TESTERS: Final[Mapping[int, str]] = {
    1: "self",
    2: "health_care_professional",
    3: "lab_test",
}
GLUCOSE_HEALTH: Final[Mapping[int, str]] = {
    1: "minor_health_issues",
    2: "major_health_issues",
    3: "during_menses",
    4: "under_stress",
    5: "no_health_issues",
}
GLUCOSE_MEDICATIONS: Final[Mapping[int, str]] = {
    1: "rapid_acting_insulin",
    2: "short_acting_insulin",
    3: "intermediate_acting_insulin",
    4: "long_acting_insulin",
    5: "pre_mixed_insulin",
}

"""Status flags and code tables of the Bluetooth GATT health characteristics.

The bit meanings of the PLX and blood pressure status fields
and the Temperature Type codes, shared by the decoders in :mod:`encounters.gatt`
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

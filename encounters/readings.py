"""Device readings: one data-channel message in, validated readings out.

Message shapes, kinds, units and nack codes: docs/api.md, "Data channel `readings`".
A message is a reading the client decoded (``kind``, ``value``, ``unit``) or a
Bluetooth characteristic value (``gatt``, ``data``) decoded by :func:`readings_from_gatt`.
One Bluetooth value can give several readings (an oximeter's or a cuff's pulse becomes
a ``heart_rate`` reading); they share the message's id, so a store keys on (id, kind).

Readings keep the units of the vital-sign catalogue (mm[Hg], Cel, kg; glucose in mmol/L or
mg/dL, as the meter reports it). A special value (NaN, NRes, ±INF)
or an unsuccessful weighing is kept as absent with its FHIR dataAbsentReason, never
as a number. Every refusal is a :class:`ReadingError` whose
``code`` the server sends back as the nack code.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, TypeGuard, TypeVar, cast, get_args, get_origin, get_type_hints

from encounters import gatt
from encounters.gatt_readings import readings_from_gatt
from encounters.ieee11073 import AbsentReason
from encounters.reading_types import (
    ABSENT_REASONS,
    BP_COMPONENT_LOINC,
    KINDS,
    LOINC,
    PLAUSIBLE,
    SOURCES,
    TIME_SOURCES,
    UNITS,
    Kind,
    Reading,
    ReadingDetails,
    ReadingError,
    Source,
    TimeSource,
    check_plausible,
    require_aware,
)
from encounters.vital_signs import VITAL_SIGNS

# The public names of readings, wherever they are defined; import them from here.
__all__ = [
    "ABSENT_REASONS",
    "BP_COMPONENT_LOINC",
    "FUTURE_TOLERANCE",
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
    "CLIENT_ID_CHARS",
    "check_plausible",
    "is_client_id",
    "parse_message",
    "reading_to_dict",
    "readings_from_gatt",
]

FUTURE_TOLERANCE: Final = timedelta(minutes=5)  # phone clocks often run a little fast
CLIENT_ID_CHARS: Final = r"[A-Za-z0-9_.:-]{1,64}"  # a UUID fits; nothing to escape
_ID_PATTERN: Final = re.compile(CLIENT_ID_CHARS)
_DETAIL_TEXT: Final = re.compile(r"[A-Za-z0-9_.:/\[\]-]{1,64}")  # slugs, UCUM, ISO times
_DETAIL_ITEMS_MAX: Final = 64
_DETAIL_TYPES: Final = get_type_hints(ReadingDetails)
_T = TypeVar("_T", bound=str)


def is_client_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a message id as the readings channel accepts one."""
    return isinstance(value, str) and _ID_PATTERN.fullmatch(value) is not None


def parse_message(
    obj: object,
    *,
    now: datetime,
    not_before: datetime | None = None,
    device_utc_offset: timedelta | None = None,
) -> list[Reading]:
    """Validate one decoded JSON message of the ``readings`` channel.

    ``not_before`` is the encounter's start. ``device_utc_offset``, when known, lets a
    device's own timestamp (a zoneless wall-clock time) become ``taken_at``.
    """
    require_aware(now, "now")
    if not_before is not None:
        require_aware(not_before, "not_before")
    if not isinstance(obj, Mapping) or not all(isinstance(key, str) for key in obj):
        raise ReadingError("A reading message must be a JSON object.", code="bad_message")
    message = cast(Mapping[str, object], obj)
    client_id = _parse_id(message.get("id"))
    try:
        readings = _parse_body(message, client_id, device_utc_offset)
        for reading in readings:
            if reading.taken_at > now + FUTURE_TOLERANCE:
                raise ReadingError(
                    "Field 'taken_at' is more than 5 minutes in the future.",
                    code="future_time",
                    field="taken_at",
                )
        if not_before is not None:
            check_not_before(readings, not_before)
    except ReadingError as error:
        error.client_id = client_id
        raise
    return readings


def check_not_before(readings: Sequence[Reading], not_before: datetime) -> None:
    """Refuse a message whose readings were taken before ``not_before`` (the encounter's
    start, less a margin): they are not of this visit. Apart from ``parse_message`` for a
    caller that validates a message before it has loaded the visit."""
    require_aware(not_before, "not_before")
    for reading in readings:
        if reading.taken_at < not_before:
            raise ReadingError(
                "Field 'taken_at' is before the start of this visit.",
                code="before_start",
                field="taken_at",
                client_id=reading.client_id,
            )


def _parse_body(
    message: Mapping[str, object], client_id: str, utc_offset: timedelta | None
) -> list[Reading]:
    source = _choice(message, "source", SOURCES, "unknown_source")
    taken_at = _parse_aware_time(message.get("taken_at"))
    if "gatt" not in message:
        return [_parse_decoded(message, client_id, source, taken_at)]
    if source != "ble" or any(key in message for key in ("kind", "value", "unit")):
        raise ReadingError(
            "A Bluetooth message has 'gatt' and 'data' with source 'ble', and no 'kind', "
            "'value' or 'unit'.",
            code="bad_message",
        )
    uuid = message["gatt"]
    if not isinstance(uuid, str):
        raise ReadingError("Field 'gatt' must be a string such as '2a37'.", code="bad_gatt")
    data = _strict_base64(message.get("data"))
    # A glucose meter's context (0x2A34) travels with the measurement of its sequence number.
    context = _strict_base64(message["context"], "context") if "context" in message else None
    try:
        return readings_from_gatt(
            uuid,
            data,
            client_id=client_id,
            received_at=taken_at,
            device_utc_offset=utc_offset,
            context=context,
        )
    except gatt.GattDecodeError as error:
        raise ReadingError(error.message, code=error.code, field=error.field) from None


def _parse_decoded(
    message: Mapping[str, object], client_id: str, source: Source, taken_at: datetime
) -> Reading:
    kind = _choice(message, "kind", KINDS, "unknown_kind")
    unit = message.get("unit")
    units = VITAL_SIGNS[kind].units
    if unit not in units:
        raise ReadingError(
            f"Field 'unit' for kind '{kind}' must be {' or '.join(repr(u) for u in units)}.",
            code="missing_unit" if unit is None else "wrong_unit",
            field="unit",
        )
    value = value2 = reason = reason2 = None
    raw_reason = message.get("absent_reason")
    if raw_reason is not None and (
        raw_reason not in ABSENT_REASONS or message.get("value") is not None
    ):
        raise ReadingError(
            f"Field 'absent_reason' must be one of {', '.join(ABSENT_REASONS)}, with a null "
            "'value'.",
            code="bad_value",
            field="absent_reason",
        )
    if kind == "blood_pressure":
        value, value2, reason, reason2 = _parse_pressure(
            message.get("value"), raw_reason, message.get("absent_reasons")
        )
    elif "absent_reasons" in message:
        raise ReadingError(
            "Field 'absent_reasons' is for the components of a blood_pressure.",
            code="bad_value",
            field="absent_reasons",
        )
    elif raw_reason is None:
        value = _number(message.get("value"), "value")
    else:
        reason = raw_reason
    time_source: TimeSource = "received"
    if "time_source" in message:
        time_source = _choice(message, "time_source", TIME_SOURCES, "bad_time_source")
    details = _parse_details(message.get("details", {}))
    reading = Reading(
        client_id,
        kind,
        value,
        unit,
        source,
        taken_at,
        value2,
        reason,
        time_source,
        details,
        absent_reason2=reason2,
    )
    check_plausible(reading)
    return reading


_PRESSURES: Final = ("systolic", "diastolic")


def _parse_pressure(
    raw: object, whole_reason: object, raw_reasons: object
) -> tuple[float | None, float | None, AbsentReason | None, AbsentReason | None]:
    """Systolic, diastolic and each one's absent reason. Each component stands on its own: a
    null component carries its reason in ``absent_reasons``; a null ``value`` with
    ``absent_reason`` means neither was measured."""
    reasons = _component_reasons(raw_reasons)
    if whole_reason is not None:
        whole = cast(AbsentReason, whole_reason)
        return None, None, reasons.get("systolic", whole), reasons.get("diastolic", whole)
    if not isinstance(raw, Mapping) or set(raw) != set(_PRESSURES):
        raise ReadingError(
            "Field 'value' for blood_pressure must be an object with exactly 'systolic' and "
            "'diastolic'.",
            code="missing_value" if raw is None else "bad_value",
            field="value",
        )
    numbers: list[float | None] = []
    for name in _PRESSURES:
        item = raw[name]
        if item is not None and name in reasons:
            raise ReadingError(
                f"Field 'absent_reasons.{name}' is for a null 'value.{name}'.",
                code="bad_value",
                field=f"absent_reasons.{name}",
            )
        if item is None and name not in reasons:
            raise ReadingError(
                f"Field 'value.{name}' is required; a component the device could not measure "
                f"is null with its reason in 'absent_reasons.{name}'.",
                code="missing_value",
                field=f"value.{name}",
            )
        numbers.append(None if item is None else _number(item, f"value.{name}"))
    return numbers[0], numbers[1], reasons.get("systolic"), reasons.get("diastolic")


def _component_reasons(raw: object) -> dict[str, AbsentReason]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not set(raw) <= set(_PRESSURES):
        raise ReadingError(
            "Field 'absent_reasons' must be an object with 'systolic' and/or 'diastolic'.",
            code="bad_value",
            field="absent_reasons",
        )
    found: dict[str, AbsentReason] = {}
    for name, reason in raw.items():
        if reason not in ABSENT_REASONS:
            raise ReadingError(
                f"Field 'absent_reasons.{name}' must be one of {', '.join(ABSENT_REASONS)}.",
                code="bad_value",
                field=f"absent_reasons.{name}",
            )
        found[name] = cast(AbsentReason, reason)
    return found


def _parse_id(raw: object) -> str:
    if raw is None:
        raise ReadingError("Field 'id' is required.", code="missing_id", field="id")
    if not isinstance(raw, str) or not _ID_PATTERN.fullmatch(raw):
        raise ReadingError(
            "Field 'id' must be a UUID or 1 to 64 letters, digits, '_', '.', ':' or '-'.",
            code="bad_id",
            field="id",
        )
    return raw


def _choice(message: Mapping[str, object], name: str, allowed: tuple[_T, ...], code: str) -> _T:
    raw = message.get(name)
    for option in allowed:
        if raw == option:
            return option
    raise ReadingError(
        f"Field '{name}' must be one of {', '.join(allowed)}.",
        code=f"missing_{name}" if raw is None else code,
        field=name,
    )


def _number(raw: object, name: str) -> float:
    if raw is None:
        raise ReadingError(f"Field '{name}' is required.", code="missing_value", field=name)
    # bool is an int in Python, but true is not a reading.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ReadingError(f"Field '{name}' must be a number.", code="bad_value", field=name)
    value = float(raw) if isinstance(raw, float) or abs(raw) < 2**1000 else math.inf
    if not math.isfinite(value):
        raise ReadingError(f"Field '{name}' must be finite.", code="not_finite", field=name)
    return value


def _parse_aware_time(raw: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(raw) if isinstance(raw, str) and len(raw) <= 64 else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise ReadingError(
            "Field 'taken_at' must be an ISO-8601 date and time with a time zone, such as "
            "2024-03-05T14:30:00Z.",
            code="missing_time" if raw is None else "bad_time",
            field="taken_at",
        )
    return parsed.astimezone(UTC)


def _strict_base64(raw: object, name: str = "data") -> bytes:
    # Strict: standard alphabet and padding, and the canonical encoding of its bytes.
    try:
        data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
    except (binascii.Error, ValueError):
        data = None
    if data is None or base64.b64encode(data).decode("ascii") != raw:
        raise ReadingError(
            f"Field '{name}' must be the standard, padded base64 of the characteristic value.",
            code="bad_gatt",
            field=name,
        )
    return data


def _parse_details(raw: object) -> ReadingDetails:
    """Check ``details`` against the types ReadingDetails declares."""
    if not isinstance(raw, Mapping):
        raise ReadingError("Field 'details' must be an object.", code="bad_details")
    details: dict[str, object] = {}
    for key, item in raw.items():
        hint = _DETAIL_TYPES.get(key)
        is_list = get_origin(hint) is tuple
        items = item if is_list and isinstance(item, list | tuple) else [item]
        if hint is None or (is_list and items is not item) or len(items) > _DETAIL_ITEMS_MAX:
            raise ReadingError(f"Field 'details.{key}' is not known.", code="bad_details")
        parsed = tuple(_detail(get_args(hint)[0] if is_list else hint, x, key) for x in items)
        details[key] = parsed if is_list else parsed[0]
    return cast(ReadingDetails, details)


def _detail(kind: object, item: object, key: str) -> object:
    if kind is float:
        return _number(item, f"details.{key}")
    if kind is int and isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 2**32:
        return item
    if kind is str and isinstance(item, str) and _DETAIL_TEXT.fullmatch(item):
        return item
    raise ReadingError(f"Field 'details.{key}' has the wrong type.", code="bad_details")


def reading_to_dict(reading: Reading) -> dict[str, object]:
    """The stored and broadcast shape (docs/api.md); :func:`parse_message` reads it back.

    A blood pressure's ``value`` is null only when neither component was measured; a
    component that was not is null in ``value``, its reason in ``absent_reasons``."""
    value: object = reading.value
    extra: dict[str, object] = {}
    if reading.kind == "blood_pressure":
        value = {"systolic": reading.value, "diastolic": reading.value2}
        pairs = zip(_PRESSURES, (reading.absent_reason, reading.absent_reason2), strict=True)
        extra["absent_reasons"] = {name: reason for name, reason in pairs if reason is not None}
        if not reading.has_value:
            value = None
    return {
        "id": reading.client_id,
        "kind": reading.kind,
        "value": value,
        "unit": reading.unit,
        "taken_at": reading.taken_at.isoformat(),
        "source": reading.source,
        "time_source": reading.time_source,
        "absent_reason": None if reading.has_value else reading.absent_reason,
        **extra,
        "loinc": list(reading.loinc),
        "details": {
            key: list(item) if isinstance(item, tuple) else item
            for key, item in reading.details.items()
        },
    }

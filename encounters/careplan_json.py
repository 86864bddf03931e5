"""The care plan as the API's JSON: :func:`care_plan_to_dict`, :func:`diff_care_plans` and
:func:`validate_care_plan`.

The API sends and receives the shape :func:`care_plan_to_dict` produces; :func:`validate_care_plan`
is strict about it: an unknown field is refused, a missing top-level field takes its default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from encounters.careplan import (
    DEFAULT_MODERATE_THRESHOLD,
    DEFAULT_SEVERE_THRESHOLD,
    DOSES_PER_24H_MAX,
    EMAIL_PATTERN,
    LIST_MAX_ITEMS,
    LONG_TEXT_MAX_CHARS,
    PHONE_DIGITS_MAX,
    PHONE_DIGITS_MIN,
    PHONE_PATTERN,
    ROLE_PATTERN,
    SCORE_MAX,
    SCORE_MIN,
    SHORT_TEXT_MAX_CHARS,
    SYMPTOM_ITEMS,
    USER_ID_PATTERN,
    VITAL_UNITS,
    AdvanceCare,
    CarePlan,
    CeilingOfCare,
    Change,
    ContactKind,
    CrisisInstruction,
    CrisisPlan,
    CrisisType,
    GivenBy,
    JSONValue,
    JustInCaseMedicine,
    PhoneContact,
    Place,
    Resuscitation,
    Route,
    SymptomThreshold,
    TeamContact,
)
from encounters.errors import ValidationError
from encounters.escalation import ACK_DEADLINE_MAX_MIN, ACK_DEADLINE_MIN_MIN, EscalationLadder, Tier
from encounters.vital_signs import BAND_UNITS, Band


def care_plan_to_dict(plan: CarePlan) -> dict[str, JSONValue]:
    result = _to_json(plan)
    assert isinstance(result, dict)
    return result


def diff_care_plans(old: CarePlan, new: CarePlan) -> list[Change]:
    """Field-level changes, paths like ``escalation_ladder.tiers[1].ack_deadline_min``.

    Lists compare by position; an added or removed element shows None on the missing side.
    """
    changes: list[Change] = []
    _diff(care_plan_to_dict(old), care_plan_to_dict(new), "", changes)
    return changes


def _to_json(value: object) -> JSONValue:
    if isinstance(value, StrEnum):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in sorted(value.items())}
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"Cannot convert {type(value).__name__} to JSON.")


def _diff(old: JSONValue, new: JSONValue, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            _diff(old.get(key), new.get(key), f"{path}.{key}" if path else key, out)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            before = old[i] if i < len(old) else None
            after = new[i] if i < len(new) else None
            _diff(before, after, f"{path}[{i}]", out)
    elif old != new or type(old) is not type(new):
        out.append(Change(path, old, new))


# --- reading the API's JSON --------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class _Reader:
    """One JSON object at ``path``: refuses unknown keys, reads typed fields with messages
    that name the field and what was expected (never the text a person typed)."""

    def __init__(self, value: object, path: str, allowed: Collection[str]) -> None:
        where = path or "The care plan"
        if not isinstance(value, Mapping):
            raise ValidationError(f"{where} must be an object.", code="wrong_type", field=path)
        unknown = sorted(str(k)[:40] for k in value if k not in allowed)
        if unknown:
            raise ValidationError(
                f"{where} has an unknown field {unknown[0]!r}; expected {', '.join(allowed)}.",
                code="unknown_field",
                field=self._join(path, unknown[0]),
            )
        self.obj: Mapping[str, object] = value
        self.path = path

    @staticmethod
    def _join(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def at(self, key: str) -> str:
        return self._join(self.path, key)

    def _fail(self, key: str, expected: str, code: str = "invalid_value") -> ValidationError:
        return ValidationError(f"{self.at(key)} must be {expected}.", code=code, field=self.at(key))

    def text(
        self, key: str, *, default: str | None = None, limit: int = SHORT_TEXT_MAX_CHARS
    ) -> str:
        if key not in self.obj and default is not None:
            return default
        value = self.obj.get(key)
        blank_ok = default is not None
        if not isinstance(value, str) or len(value) > limit or not (blank_ok or value.strip()):
            raise self._fail(
                key, f"{'' if blank_ok else 'non-blank '}text of at most {limit} characters"
            )
        return value

    def pattern(self, key: str, pattern: re.Pattern[str], expected: str) -> str | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self._fail(key, expected)
        return value

    def phone(self, key: str) -> str | None:
        value = self.pattern(key, PHONE_PATTERN, "a phone number such as +44 20 7946 0000")
        if (
            value is not None
            and not PHONE_DIGITS_MIN <= sum(c.isdigit() for c in value) <= PHONE_DIGITS_MAX
        ):
            raise self._fail(
                key, f"a phone number of {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits"
            )
        return value

    def integer(self, key: str, low: int, high: int, default: int | None = None) -> int:
        value = self.obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._fail(key, f"a whole number from {low} to {high}", "out_of_range")
        return value

    def number(self, key: str) -> float | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self._fail(key, "a number or null")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.obj.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", "wrong_type")
        return value

    def choice(self, key: str, cls: type[E], default: E | None = None) -> E:
        value = self.obj.get(key, default)
        found = next((member for member in cls if member.value == value), None)
        if found is None:
            raise self._fail(key, f"one of {', '.join(m.value for m in cls)}")
        return found

    def listed(self, key: str, read: Callable[[object, str], T]) -> tuple[T, ...]:
        value = self.obj.get(key, [])
        if not isinstance(value, list) or len(value) > LIST_MAX_ITEMS:
            raise self._fail(key, f"a list of at most {LIST_MAX_ITEMS} items", "wrong_type")
        return tuple(read(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value))

    def keyed(self, key: str, names: Collection[str]) -> list[tuple[str, object, str]]:
        value = self.obj.get(key, {})
        if not isinstance(value, Mapping):
            raise self._fail(key, "an object", "wrong_type")
        _Reader(value, self.at(key), sorted(names))
        return [(str(k), v, f"{self.at(key)}.{k}") for k, v in sorted(value.items())]


def validate_care_plan(obj: Mapping[str, object]) -> CarePlan:
    """Read a care plan from the API's JSON; raises ValidationError naming the bad field."""
    r = _Reader(obj, "", [f.name for f in fields(CarePlan)])
    default = CarePlan()
    return CarePlan(
        goals_of_care=r.text("goals_of_care", default="", limit=LONG_TEXT_MAX_CHARS),
        preferred_place_of_care=r.choice("preferred_place_of_care", Place, Place.NOT_DISCUSSED),
        preferred_place_of_death=r.choice("preferred_place_of_death", Place, Place.NOT_DISCUSSED),
        advance_care=_advance_care(r.obj.get("advance_care", {}), r.at("advance_care")),
        ceiling_of_care=r.choice("ceiling_of_care", CeilingOfCare, default.ceiling_of_care),
        monitoring_enabled=r.flag("monitoring_enabled", default.monitoring_enabled),
        escalation_ladder=_ladder(r.obj["escalation_ladder"], r.at("escalation_ladder"))
        if "escalation_ladder" in r.obj
        else default.escalation_ladder,
        symptom_thresholds=MappingProxyType(
            {k: _threshold(v, p) for k, v, p in r.keyed("symptom_thresholds", SYMPTOM_ITEMS)}
        ),
        vital_bands=MappingProxyType(
            {k: _band(k, v, p) for k, v, p in r.keyed("vital_bands", VITAL_UNITS)}
        ),
        crisis_plan=_crisis_plan(r.obj.get("crisis_plan", {}), r.at("crisis_plan")),
        care_team=r.listed("care_team", _team_contact),
    )


def _advance_care(value: object, path: str) -> AdvanceCare:
    r = _Reader(value, path, [f.name for f in fields(AdvanceCare)])
    return AdvanceCare(
        advance_directive_on_file=r.flag("advance_directive_on_file", False),
        resuscitation=r.choice("resuscitation", Resuscitation, Resuscitation.NOT_RECORDED),
        polst_on_file=r.flag("polst_on_file", False),
        form_location=r.text("form_location", default=""),
    )


def _ladder(value: object, path: str) -> EscalationLadder:
    tiers = _Reader(value, path, ["tiers"]).listed("tiers", _tier)
    for position, tier in enumerate(tiers, start=1):
        where = f"{path}.tiers[{position - 1}]"
        if tier.tier != position:
            raise ValidationError(
                f"{where}.tier must be {position}: tiers are numbered 1, 2, 3... in call order "
                "without gaps.",
                code="tier_order",
                field=f"{where}.tier",
            )
        if position == 1 and tier.is_emergency_services:
            raise ValidationError(
                f"{where} cannot be emergency services: the hospice line comes first, so "
                "the team that knows the patient hears of a crisis before anyone else.",
                code="tier_order",
                field=f"{where}.is_emergency_services",
            )
    if not tiers:
        raise ValidationError(f"{path}.tiers needs at least one tier.", field=f"{path}.tiers")
    return EscalationLadder(tiers)


def _tier(value: object, path: str) -> Tier:
    r = _Reader(value, path, [f.name for f in fields(Tier)])
    user_id = r.pattern("user_id", USER_ID_PATTERN, "a user id (letters, digits, '-', '_')")
    role = r.pattern("role", ROLE_PATTERN, "a role such as on_call_nurse (lower case, '_')")
    if user_id is None and role is None:
        raise ValidationError(
            f"{path} needs a user_id or a role: someone must be able to answer.",
            code="required",
            field=f"{path}.user_id",
        )
    return Tier(
        tier=r.integer("tier", 1, LIST_MAX_ITEMS),
        label=r.text("label"),
        ack_deadline_min=r.integer("ack_deadline_min", ACK_DEADLINE_MIN_MIN, ACK_DEADLINE_MAX_MIN),
        user_id=user_id,
        role=role,
        is_emergency_services=r.flag("is_emergency_services", False),
    )


def _threshold(value: object, path: str) -> SymptomThreshold:
    r = _Reader(value, path, ["moderate", "severe"])
    # 0 would flag a patient with no symptom at all: a threshold starts at 1.
    moderate = r.integer("moderate", SCORE_MIN + 1, SCORE_MAX, DEFAULT_MODERATE_THRESHOLD)
    severe = r.integer("severe", SCORE_MIN, SCORE_MAX, DEFAULT_SEVERE_THRESHOLD)
    if moderate >= severe:
        raise ValidationError(
            f"{path}.moderate must be below {path}.severe; got {moderate} and {severe}.",
            code="out_of_range",
            field=f"{path}.moderate",
        )
    return SymptomThreshold(moderate, severe)


def _band(parameter: str, value: object, path: str) -> Band:
    r = _Reader(value, path, ["parameter", "unit", "low", "high", "high_inclusive"])
    units = BAND_UNITS[parameter]
    unit = r.obj.get("unit", units[0])
    if r.obj.get("parameter", parameter) != parameter:
        raise r._fail("parameter", f"{parameter!r}, the key it is stored under")
    if unit not in units:
        shown = " or ".join(repr(u) for u in units)
        raise r._fail("unit", f"{shown} (UCUM), a unit {parameter} readings are stored in")
    assert isinstance(unit, str)
    low, high = r.number("low"), r.number("high")
    if low is None and high is None:
        raise r._fail("low", "a number when high is null: a band needs at least one limit")
    if low is not None and high is not None and low >= high:
        raise r._fail("low", f"below high ({high:g})", "out_of_range")
    return Band(parameter, unit, low, high, r.flag("high_inclusive", False))


def _crisis_plan(value: object, path: str) -> CrisisPlan:
    r = _Reader(value, path, ["instructions", "medicines", "call_tree"])
    instructions = r.listed("instructions", _instruction)
    crises = [i.crisis for i in instructions]
    if len(set(crises)) != len(crises):
        raise r._fail("instructions", "one entry per crisis type")
    call_tree = r.listed("call_tree", _phone_contact)
    if call_tree and call_tree[0].kind is not ContactKind.HOSPICE_LINE:
        # Over half of caregivers in one US study called 911 before hospice (Phongtankuel 2017).
        raise ValidationError(
            f"{path}.call_tree[0] must be the hospice line: it is called first.",
            code="call_order",
            field=f"{path}.call_tree[0].kind",
        )
    return CrisisPlan(instructions, r.listed("medicines", _medicine), call_tree)


def _plain_text(value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > LONG_TEXT_MAX_CHARS:
        raise ValidationError(
            f"{path} must be non-blank text of at most {LONG_TEXT_MAX_CHARS} characters.",
            field=path,
        )
    return value


def _instruction(value: object, path: str) -> CrisisInstruction:
    r = _Reader(value, path, [f.name for f in fields(CrisisInstruction)])
    steps = r.listed("first_steps", _plain_text)
    if not steps:
        raise r._fail("first_steps", "a list with at least one step in plain language")
    return CrisisInstruction(
        r.choice("crisis", CrisisType), r.listed("triggers", _plain_text), steps
    )


def _medicine(value: object, path: str) -> JustInCaseMedicine:
    r = _Reader(value, path, [f.name for f in fields(JustInCaseMedicine)])
    expiry = r.pattern("expiry", re.compile(r"\d{4}-\d{2}-\d{2}"), "a date YYYY-MM-DD or null")
    try:
        expiry_date = None if expiry is None else date.fromisoformat(expiry)
    except ValueError:
        raise r._fail("expiry", "a real calendar date YYYY-MM-DD") from None
    return JustInCaseMedicine(
        drug=r.text("drug"),
        dose=r.text("dose"),
        route=r.choice("route", Route),
        indication=r.text("indication"),
        min_interval_min=r.integer("min_interval_min", 1, ACK_DEADLINE_MAX_MIN),
        max_doses_per_24h=r.integer("max_doses_per_24h", 1, DOSES_PER_24H_MAX),
        given_by=r.choice("given_by", GivenBy),
        location=r.text("location", default=""),
        expiry=expiry_date,
    )


def _phone_contact(value: object, path: str) -> PhoneContact:
    r = _Reader(value, path, [f.name for f in fields(PhoneContact)])
    kind = r.choice("kind", ContactKind)
    phone = r.phone("phone")
    if phone is None:
        raise r._fail("phone", "a phone number", "required")
    when = r.text("when", default="")
    if kind is ContactKind.EMERGENCY_SERVICES and not when.strip():
        raise r._fail("when", "the conditions for calling emergency services")
    return PhoneContact(kind, r.text("name"), phone, r.text("hours", default=""), when)


def _team_contact(value: object, path: str) -> TeamContact:
    r = _Reader(value, path, [f.name for f in fields(TeamContact)])
    return TeamContact(
        name=r.text("name"),
        role=r.text("role"),
        user_id=r.pattern("user_id", USER_ID_PATTERN, "a user id (letters, digits, '-', '_')"),
        phone=r.phone("phone"),
        email=r.pattern("email", EMAIL_PATTERN, "an e-mail address"),
    )

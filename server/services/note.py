"""The visit note: one calm, printable HTML page of what was done in a visit, and by whom.

Pure: the caller hands in the visit as plain dicts (the encounter, the patient, the
clinician, ``workflow.state_to_dict``'s state, stored readings, and the template's steps as
``server.services.workflow_view.describe_template`` describes them) and a ``translate`` gettext
callable; nothing is read from the database or the clock. Every sentence a person reads is
in ``web/templates/note.html`` and goes through ``translate``; this module only shapes the
data (times in the patient's own zone, the latest reading of each kind, instrument answers
beside their wording). Instrument wording is shown as its data file has it: ESAS-r may not be
changed, and a translated instrument needs its own validated data file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

NOTE_TEMPLATE = "note.html"
# UCUM codes as a reader writes them; the code itself stays in the FHIR export.
UNIT_SHOWN = {"mm[Hg]": "mmHg", "Cel": "°C", "/min": "/min", "%": "%", "kg": "kg"}
READING_ORDER = (
    "spo2",
    "heart_rate",
    "respiratory_rate",
    "blood_pressure",
    "temperature",
    "weight",
)

Translate = Callable[[str], str]


class _Clock:
    """Times and numbers as the patient's zone and the reader's language write them."""

    def __init__(self, zone_name: object, language: str) -> None:
        try:
            self.zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")
        try:
            self.locale = Locale.parse(language.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.locale = Locale.parse("en")

    def at(self, value: object) -> dict[str, str] | None:
        """A moment as date, time and the zone's name (IANA key and abbreviation)."""
        moment = _datetime(value)
        if moment is None:
            return None
        local = moment.astimezone(self.zone)
        zone = f"{self.zone.key}, {local.tzname()}" if local.tzname() else self.zone.key
        return {
            "date": format_date(local, "full", locale=self.locale),
            "time": format_time(local, "short", locale=self.locale),
            "zone": zone,
            "iso": local.isoformat(),
        }

    def day(self, value: object) -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return format_date(value, "long", locale=self.locale) if isinstance(value, date) else ""

    def number(self, value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format_decimal(value, locale=self.locale)
        return str(value)


def _datetime(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    return value if isinstance(value, datetime) and value.utcoffset() is not None else None


def _paragraphs(text: object) -> list[str]:
    # Line breaks the clinician typed stay breaks, without relying on a stylesheet.
    return [line for line in str(text or "").splitlines() if line.strip()]


def _who(actor: object, clinician: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, str]:
    """Who acted: a name when it is known, else the kind of person (the template words it)."""
    if not isinstance(actor, Mapping):
        return {"kind": "unknown", "name": ""}
    actor_id = str(actor.get("id", ""))
    if actor_id in names:
        return {"kind": "named", "name": names[actor_id]}
    if actor_id == f"user:{clinician.get('id')}":
        return {"kind": "named", "name": str(clinician.get("name", ""))}
    return {"kind": str(actor.get("role", "unknown")), "name": ""}


def _instruments(step: Mapping[str, Any], shape: Mapping[str, Any], clock: _Clock) -> list[Any]:
    answers, scores = step.get("answers") or {}, step.get("scores") or {}
    used = []
    for use in shape.get("instruments", []):
        given = answers.get(use["key"])
        if not isinstance(given, Mapping):
            continue
        instrument = use["instrument"]
        items = []
        for item in instrument.get("items", []):
            value = given.get(item["id"])
            if value is None:
                continue
            options = {o["code"]: o["label"] for o in item.get("options", [])}
            shown = options.get(str(value)) if item.get("kind") == "choice" else None
            numeric = item.get("kind") in ("integer", "decimal")  # decimals are stored as text
            items.append(
                {
                    "text": item["text"],
                    "kind": item.get("kind"),
                    "value": value,
                    "shown": shown or clock.number(_plain_number(value) if numeric else value),
                }
            )
        score = scores.get(use["key"]) or {}
        total = score.get("total")
        used.append(
            {
                "name": instrument.get("name", use["key"]),
                "short_name": instrument.get("short_name", use["key"]),
                "acknowledgement": instrument.get("acknowledgement", ""),
                "items": items,
                "total": None if total is None else clock.number(_plain_number(total)),
                "band_label": score.get("band_label"),
                "band_validated": score.get("band_validated"),
                "subscores": {
                    k: clock.number(_plain_number(v))
                    for k, v in (score.get("subscores") or {}).items()
                },
            }
        )
    return used


def _plain_number(value: object) -> object:
    # Decimal totals are stored as exact text ("0.5").
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return value
    return value


def _latest_readings(readings: Sequence[Mapping[str, Any]], clock: _Clock) -> list[Any]:
    latest: dict[str, Mapping[str, Any]] = {}
    for reading in readings:
        if reading.get("is_drill"):
            continue
        kind, taken = str(reading["kind"]), _datetime(reading["taken_at"])
        held = latest.get(kind)
        if held is None or (taken and taken > (_datetime(held["taken_at"]) or taken)):
            latest[kind] = reading
    rows = []
    order = {kind: index for index, kind in enumerate(READING_ORDER)}
    for kind in sorted(latest, key=lambda k: (order.get(k, len(order)), k)):
        reading = latest[kind]
        value = reading.get("value")
        if isinstance(value, Mapping):
            systolic, diastolic = value.get("systolic"), value.get("diastolic")
            shown = f"{clock.number(systolic)}/{clock.number(diastolic)}"
        else:
            shown = "" if value is None else clock.number(value)
        unit = str(reading.get("unit", ""))
        rows.append(
            {
                "kind": kind,
                "value": shown,
                "unit": UNIT_SHOWN.get(unit, unit),
                "absent_reason": reading.get("absent_reason"),
                "source": reading.get("source"),
                "at": clock.at(reading["taken_at"]),
            }
        )
    return rows


def render_note(
    env: jinja2.Environment,
    *,
    encounter: Mapping[str, Any],
    patient: Mapping[str, Any],
    clinician: Mapping[str, Any],
    state: Mapping[str, Any] | None,
    readings: Sequence[Mapping[str, Any]],
    template_steps: Sequence[Mapping[str, Any]],
    translate: Translate,
    language: str = "en",
    actor_names: Mapping[str, str] | None = None,
) -> str:
    """The visit note as a standalone HTML page (``web/templates/note.html``).

    ``language`` sets how dates and numbers are written (``translate`` should speak it);
    ``actor_names`` maps workflow actor ids (``user:7``, ``link:3``) to names to show.
    """
    clock = _Clock(patient.get("time_zone") or "UTC", language)
    names = dict(actor_names or {})
    state = state or {}
    done = {str(s["step"]): s for s in state.get("steps", [])}
    steps = []
    for shape in template_steps:
        step = done.get(str(shape["id"]), {})
        answers = step.get("answers") or {}
        steps.append(
            {
                "id": shape["id"],
                "kind": shape.get("kind"),
                "title": shape.get("title", shape["id"]),
                "status": step.get("status", "open"),
                "skip_reason": step.get("skip_reason"),
                "answers": answers,
                "by": _who(step.get("done_by"), clinician, names),
                "at": clock.at(step.get("done_at")),
                "instruments": _instruments(step, shape, clock),
                "teach_back": step.get("teach_back"),
                "plan": _paragraphs(answers.get("plan")),
            }
        )
    reopenings = [
        {
            "step": r.get("step"),
            "reason": r.get("reason"),
            "by": _who(r.get("by"), clinician, names),
            "at": clock.at(r.get("at")),
        }
        for r in state.get("reopenings", [])
    ]
    context = {
        "lang": clock.locale.language,
        "patient": {
            "name": patient.get("name", ""),
            "birth_date": clock.day(patient.get("birth_date")),
        },
        "clinician": {"name": clinician.get("name", "")},
        "encounter": {
            "id": encounter.get("id"),
            "kind": encounter.get("kind"),
            "status": encounter.get("status"),
            "is_drill": bool(encounter.get("is_drill")),
        },
        "visit_at": clock.at(state.get("started_at") or encounter.get("starts_at")),
        "started": {
            "by": _who(state.get("started_by"), clinician, names),
            "at": clock.at(state.get("started_at")),
        },
        "finished": {
            "by": _who(state.get("finished_by"), clinician, names),
            "at": clock.at(state.get("finished_at")),
        },
        "steps": steps,
        "reopenings": reopenings,
        "readings": _latest_readings(readings, clock),
        "number": clock.number,
    }
    template = env.get_template(NOTE_TEMPLATE)
    return template.render(**context, _=translate, gettext=translate)

"""The visit note: one calm, printable HTML page of what was done in a visit, and by whom.

Pure: the caller hands in the visit as the export handler read it (the booking and the people
of :mod:`server.services.visit_record`, the workflow state as the domain's typed
``EncounterState``, the stored readings, and the visit's ``Template``) and a ``translate``
gettext callable; nothing is read from the database or the clock. Every sentence a person reads
is in ``web/templates/note.html`` and goes through ``translate``; this module only shapes the
data (times in the patient's own zone, the latest reading of each kind, every reading that
crossed the patient's band or raised an alert, instrument answers beside their wording, scores
as exact numbers written the reader's way, the clinician's narrative, the sign-off and the
addenda). Instrument wording is shown as its data file has it: ESAS-r may not be changed, and
a translated instrument needs its own validated data file.

With ``editor`` the same note is the clinician's page for writing it: the narrative form and
the Sign button before the sign-off, the addendum form after it, and the page's script. The
forms are hidden on paper, so the printed note is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from encounters.answers import stored_instrument_answers
from encounters.encounter_state import Actor, EncounterState, JsonValue, StepState
from encounters.instruments import Answer, Item, ItemKind
from encounters.templates import Step, Template
from encounters.visit_note import ADDENDUM_MAX_CHARS, EMPTY_NOTE, NARRATIVE_MAX_CHARS, NoteRecord
from server.services.call_guests import ParticipantFacts
from server.services.reading_flags import ReadingFlag, ReadingKey
from server.services.visit_record import (
    ClinicianFacts,
    EncounterFacts,
    PatientFacts,
    StoredReading,
)

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

    def __init__(self, zone_name: str, language: str) -> None:
        try:
            self.zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = ZoneInfo("UTC")
        try:
            self.locale = Locale.parse(language.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            self.locale = Locale.parse("en")

    def at(self, value: object) -> dict[str, str] | None:
        """A moment as date, time and the zone's short name ("GMT"): a reader elsewhere
        knows whose clock it is, and no page shows an IANA key ("Europe/London")."""
        moment = _datetime(value)
        if moment is None:
            return None
        local = moment.astimezone(self.zone)
        zone = local.tzname() or self.zone.key
        return {
            "date": format_date(local, "full", locale=self.locale),
            "time": format_time(local, "short", locale=self.locale),
            "zone": zone,
            "iso": local.isoformat(),
        }

    def day(self, value: date | str) -> str:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return format_date(value, "long", locale=self.locale)

    def number(self, value: object) -> str:
        """A number as the reader's language writes it (a Decimal exactly); else its text."""
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return format_decimal(value, locale=self.locale)
        return str(value)


def _datetime(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    return value if isinstance(value, datetime) and value.utcoffset() is not None else None


def _paragraphs(text: object) -> list[str]:
    # Line breaks the clinician typed stay breaks, without relying on a stylesheet.
    return [line for line in str(text or "").splitlines() if line.strip()]


def _who(
    actor: Actor | None, clinician: ClinicianFacts, names: Mapping[str, str]
) -> dict[str, str]:
    """Who acted: a name when it is known, else the kind of person (the template words it)."""
    if actor is None:
        return {"kind": "unknown", "name": ""}
    if actor.actor_id in names:
        return {"kind": "named", "name": names[actor.actor_id]}
    if actor.actor_id == f"user:{clinician['id']}":
        return {"kind": "named", "name": clinician["name"]}
    return {"kind": actor.role.value, "name": ""}


def _shown(item: Item, answer: Answer, clock: _Clock) -> str:
    """An item's answer as the note writes it: a choice by its label, a number localised."""
    if item.kind is ItemKind.CHOICE:
        option = item.option(str(answer))
        if option is not None and option.label:
            return option.label
    return clock.number(answer)


def _instruments(step: StepState, definition: Step, clock: _Clock) -> list[dict[str, object]]:
    used: list[dict[str, object]] = []
    for use in definition.instruments:
        answers = stored_instrument_answers(use, step.answers)
        if answers is None:
            continue
        instrument = use.instrument
        items = [
            {
                "text": item.text,
                "kind": item.kind.value,
                "value": answer,
                "shown": _shown(item, answer, clock),
            }
            for item in instrument.items
            if (answer := answers.get(item.item_id)) is not None
        ]
        score = step.scores.get(use.key)
        total = None if score is None else score.total
        used.append(
            {
                "name": instrument.name,
                "short_name": instrument.short_name,
                "acknowledgement": instrument.acknowledgement,
                "items": items,
                "total": None if total is None else clock.number(total),
                "band_label": None if score is None else score.band_label,
                "band_validated": None if score is None else score.band_validated,
                "subscores": {}
                if score is None
                else {key: clock.number(value) for key, value in score.subscores.items()},
            }
        )
    return used


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_ANSWERS: Mapping[str, JsonValue] = MappingProxyType({})


def _step(
    definition: Step,
    state: EncounterState | None,
    clinician: ClinicianFacts,
    names: Mapping[str, str],
    clock: _Clock,
) -> dict[str, object]:
    """One of the template's steps as the note shows it, open until the visit records it."""
    step = None if state is None else state.step(definition.step_id)
    answers = _NO_ANSWERS if step is None else step.answers
    return {
        "id": definition.step_id,
        "kind": definition.kind.value,
        "title": definition.title,
        "status": "open" if step is None else step.status.value,
        "skip_reason": None if step is None else step.skip_reason,
        "answers": answers,
        "by": _who(None if step is None else step.done_by, clinician, names),
        "at": clock.at(None if step is None else step.done_at),
        "instruments": [] if step is None else _instruments(step, definition, clock),
        "teach_back": None if step is None else step.teach_back,
        "plan": _paragraphs(answers.get("plan")),
    }


def _unit(ucum: str) -> str:
    return UNIT_SHOWN.get(ucum, ucum)


def _reading_row(reading: StoredReading, clock: _Clock) -> dict[str, object]:
    """One reading as a row of the note: its value and unit written for a reader."""
    value = reading.get("value")
    if isinstance(value, Mapping):
        # A component the device could not measure is a dash, never "None".
        systolic, diastolic = (
            "–" if part is None else clock.number(part)
            for part in (value.get("systolic"), value.get("diastolic"))
        )
        shown = f"{systolic}/{diastolic}"
    else:
        shown = "" if value is None else clock.number(value)
    unit = str(reading.get("unit", ""))
    return {
        "kind": str(reading["kind"]),
        "value": shown,
        "unit": _unit(unit),
        "absent_reason": reading.get("absent_reason"),
        "source": reading.get("source"),
        "at": clock.at(reading["taken_at"]),
    }


def _latest_readings(readings: Sequence[StoredReading], clock: _Clock) -> list[dict[str, object]]:
    latest: dict[str, StoredReading] = {}
    for reading in readings:
        if reading.get("is_drill"):
            continue
        kind, taken = str(reading["kind"]), _datetime(reading["taken_at"])
        held = latest.get(kind)
        if held is None or (taken and taken > (_datetime(held["taken_at"]) or taken)):
            latest[kind] = reading
    order = {kind: index for index, kind in enumerate(READING_ORDER)}
    return [
        _reading_row(latest[kind], clock)
        for kind in sorted(latest, key=lambda k: (order.get(k, len(order)), k))
    ]


def _flagged_readings(
    readings: Sequence[StoredReading], flags: Mapping[ReadingKey, ReadingFlag], clock: _Clock
) -> list[dict[str, object]]:
    """Every reading that crossed a band or raised an alert, in the order they were taken:
    the latest of a kind may be back in range, and the note must still show what was not."""
    rows: list[dict[str, object]] = []
    for reading in sorted(readings, key=lambda r: _datetime(r["taken_at"]) or _EPOCH):
        flag = flags.get((str(reading["id"]), str(reading["kind"])))
        if flag is None or reading.get("is_drill"):
            continue
        row = _reading_row(reading, clock)
        row["crossings"] = [
            {
                "parameter": crossing.parameter,
                "side": crossing.side,
                "inclusive": crossing.inclusive,
                "limit": f"{clock.number(crossing.limit)} {_unit(crossing.unit)}",
            }
            for crossing in flag.crossings
        ]
        row["alerts"] = [
            {"severity": alert.severity, "at": clock.at(alert.raised_at)} for alert in flag.alerts
        ]
        rows.append(row)
    return rows


def _written(note: NoteRecord, names: Mapping[int, str], clock: _Clock) -> dict[str, object]:
    """What the clinicians wrote: the narrative, the sign-off and the addenda, in order."""

    def person(user_id: int | None) -> dict[str, str]:
        if user_id is None:
            return {"kind": "unknown", "name": ""}
        name = names.get(user_id)
        return {"kind": "named", "name": name} if name else {"kind": "clinician", "name": ""}

    signed = note.sign_off
    return {
        "narrative": note.narrative,
        "paragraphs": _paragraphs(note.narrative),
        "narrative_by": person(note.narrative_by),
        "narrative_at": clock.at(note.narrative_at),
        "signed": None
        if signed is None
        else {"by": person(signed.user_id), "at": clock.at(signed.at)},
        "addenda": [
            {"by": person(a.author_id), "at": clock.at(a.at), "paragraphs": _paragraphs(a.text)}
            for a in note.addenda
        ],
        "narrative_max": NARRATIVE_MAX_CHARS,
        "addendum_max": ADDENDUM_MAX_CHARS,
    }


def render_note(
    env: jinja2.Environment,
    *,
    encounter: EncounterFacts,
    patient: PatientFacts,
    clinician: ClinicianFacts,
    state: EncounterState | None,
    readings: Sequence[StoredReading],
    template: Template,
    translate: Translate,
    language: str = "en",
    actor_names: Mapping[str, str] | None = None,
    reading_flags: Mapping[ReadingKey, ReadingFlag] | None = None,
    note_record: NoteRecord = EMPTY_NOTE,
    note_names: Mapping[int, str] | None = None,
    editor: Mapping[str, str] | None = None,
    participants: Sequence[ParticipantFacts] = (),
) -> str:
    """The visit note as a standalone HTML page (``web/templates/note.html``).

    ``state`` is ``None`` before the visit starts; ``template`` is the visit's, whose steps the
    note walks in order. ``language`` sets how dates and numbers are written (``translate``
    should speak it); ``actor_names`` maps workflow actor ids (``user:7``, ``link:3``) to names.
    ``reading_flags`` says which readings crossed a band or raised an alert; ``note_record`` is
    what the clinicians wrote, naming people by user id (``note_names``). ``editor`` (the
    page's JSON data block, already safe for a script element) makes it the writing page.
    ``participants`` are the people admitted to the call, with the role it showed them in.
    """
    clock = _Clock(patient["time_zone"] or "UTC", language)
    names = dict(actor_names or {})
    steps = [_step(definition, state, clinician, names, clock) for definition in template.steps]
    reopenings = [
        {
            "step": reopening.step_id,
            "reason": reopening.reason,
            "by": _who(reopening.by, clinician, names),
            "at": clock.at(reopening.at),
        }
        for reopening in (() if state is None else state.reopenings)
    ]
    started_at = None if state is None else state.started_at
    finished_at = None if state is None else state.finished_at
    context = {
        "lang": clock.locale.language,
        "patient": {"name": patient["name"], "birth_date": clock.day(patient["birth_date"])},
        "clinician": {"name": clinician["name"]},
        "encounter": {
            "id": encounter["id"],
            "kind": encounter["kind"],
            "status": encounter["status"],
            "is_drill": bool(encounter["is_drill"]),
        },
        "visit_at": clock.at(started_at or encounter["starts_at"]),
        "started": {
            "by": _who(None if state is None else state.started_by, clinician, names),
            "at": clock.at(started_at),
        },
        "finished": {
            "by": _who(None if state is None else state.finished_by, clinician, names),
            "at": clock.at(finished_at),
        },
        "steps": steps,
        "reopenings": reopenings,
        "readings": _latest_readings(readings, clock),
        "flagged": _flagged_readings(readings, reading_flags or {}, clock),
        "written": _written(note_record, note_names or {}, clock),
        "editor": editor,
        "number": clock.number,
        "participants": [
            {"name": p["name"], "role": p["role"], "at": clock.at(p["at"])} for p in participants
        ],
    }
    note = env.get_template(NOTE_TEMPLATE)
    return note.render(**context, _=translate, gettext=translate)

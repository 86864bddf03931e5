"""The printable visit note: every section of a finished visit, escaped, and all translated."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from encounters.templates import Role, load_template
from encounters.visit_note import EMPTY_NOTE, add_addendum, sign, write_narrative
from encounters.workflow import EncounterState, Event, EventType, apply, initial_state
from server.edge.rendering import make_jinja
from server.services.note import render_note
from server.services.reading_flags import Crossing, RaisedAlert, ReadingFlag

TEMPLATE = load_template()
ESAS_ACKNOWLEDGEMENT = next(
    use.instrument.acknowledgement
    for use in TEMPLATE.steps[2].instruments
    if use.instrument.instrument_id == "esas_r"
)
T0 = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
CLINICIAN_ACTOR, FAMILY_ACTOR = "user:7", "link:3"
ENCOUNTER = {"id": 42, "kind": "video_visit", "status": "finished", "is_drill": False,
             "starts_at": T0, "ends_at": T0 + timedelta(minutes=45)}  # fmt: skip
PATIENT = {"id": 5, "name": "Edith Example", "birth_date": "1941-07-14",
           "time_zone": "America/New_York", "language": "en"}  # fmt: skip
CLINICIAN = {"id": 7, "name": "Nurse Rowan Example"}
SCRIPT = "<script>alert('x')</script>"
ANSWERS: dict[str, dict[str, Any]] = {
    "identity": {"name_confirmed": True, "birth_date_confirmed": True,
                 "method": "known_to_clinician", "location": "Front room <b>downstairs</b>"},
    "consent": {"video_visit": True, "form": "verbal", "consenter": "surrogate",
                "surrogate_name": "Ann Example", "relationship": "daughter", "recording": False,
                "share_with_family": True, "shared_with": ["Ann Example"],
                "privacy_explained": True},
    "assessment": {"answered_by": "family",
                   "esas": {"pain": 5, "tiredness": 6, "drowsiness": 2, "nausea": 0,
                            "appetite": 7, "shortness_of_breath": 3, "depression": 1,
                            "anxiety": 4, "wellbeing": 6},
                   "breathlessness_nrs": {"score": 5},
                   "caregiver": {"coping": 4, "sleep": "poorly", "support_needed": True,
                                 "worries": SCRIPT}},
    "crisis_rehearsal": {"scenario": "breakthrough_pain", "plan_reviewed": True, "teach_back": [
        {"item": "Call the hospice line first", "result": "correct", "safety_critical": True},
        {"item": "Give the rescue dose", "result": "partly"}]},
    "wrap_up": {"plan": f"Review in two days.\nIncrease the night dose. {SCRIPT}"},
}  # fmt: skip


def reading(kind: str, value: Any, unit: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"{kind}-{minute}", "kind": kind, "value": value, "unit": unit,
            "taken_at": (T0 + timedelta(minutes=minute)).isoformat(), "source": "ble",
            "absent_reason": None, "loinc": [], "details": {}, **extra}  # fmt: skip


READINGS = [
    reading("heart_rate", 92.0, "/min", 10),
    reading("heart_rate", 88.0, "/min", 20),  # the latest heart rate
    reading("spo2", 93.0, "%", 20),
    reading("blood_pressure", {"systolic": 112.0, "diastolic": 68.0}, "mm[Hg]", 21),
    reading("temperature", None, "Cel", 22, absent_reason="not-a-number"),
    reading("heart_rate", 150.0, "/min", 30, is_drill=True),
]


def visit_state(skip: dict[str, str] | None = None) -> EncounterState:
    """A finished visit made by applying real workflow events to the default template."""
    skip = skip or {}
    events: list[tuple[str, str | None, str]] = [("start", None, CLINICIAN_ACTOR)]
    for step_id in TEMPLATE.step_ids:
        actor = FAMILY_ACTOR if step_id == "assessment" else CLINICIAN_ACTOR
        events.append(("skip" if step_id in skip else "complete", step_id, actor))
    events.append(("finish", None, CLINICIAN_ACTOR))
    state = initial_state(TEMPLATE)
    for minute, (kind, step, actor) in enumerate(events):
        role = Role.FAMILY if actor == FAMILY_ACTOR else Role.CLINICIAN
        answers = ANSWERS[step] if kind == "complete" and step else {}
        reason = skip.get(step or "", "")
        at = T0 + timedelta(minutes=5 * minute)
        event = Event(EventType(kind), role, actor, at, step=step, answers=answers, reason=reason)
        state = apply(TEMPLATE, state, event)
    return state


def render(state: EncounterState | None = None, translate: Any = None, **changes: Any) -> str:
    given: dict[str, Any] = {
        "encounter": ENCOUNTER, "patient": PATIENT, "clinician": CLINICIAN,
        "state": visit_state() if state is None else state, "readings": READINGS,
        "template": TEMPLATE, "translate": translate or (lambda message: message),
        **changes,
    }  # fmt: skip
    return render_note(make_jinja(), **given)


class _Text(HTMLParser):
    """The page's text, section by section (by the id of each section's heading)."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {"": ""}
        self.current = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2"):
            self.current = dict(attrs).get("id") or tag
            self.sections.setdefault(self.current, "")

    def handle_data(self, data: str) -> None:
        self.sections[self.current] += " " + data


def sections(html: str) -> dict[str, str]:
    parser = _Text()
    parser.feed(html)
    return {key: re.sub(r"\s+", " ", text).strip() for key, text in parser.sections.items()}


@pytest.fixture(scope="module")
def note() -> dict[str, str]:
    return sections(render())


def test_header_names_patient_birth_date_clinician_and_visit_time_in_patients_zone(
    note: dict[str, str],
) -> None:
    header = note["h1"]
    assert "Edith Example" in header and "July 14, 1941" in header
    assert "Nurse Rowan Example" in header
    # 14:00 UTC is 9:00 in New York in March (EST); the zone is named as people say it.
    assert "Sunday, March 1, 2026 at 9:00" in header and "(EST)" in header
    assert "America/New_York" not in header


def test_identity_and_consent_sections(note: dict[str, str]) -> None:
    identity, consent = note["step-identity"], note["step-consent"]
    assert "Known to the clinician" in identity and "Front room <b>downstairs</b>" in identity
    assert "Ann Example (daughter), on the patient's behalf" in consent
    assert "Recording No" in consent and "Sharing with family Yes: Ann Example" in consent
    assert "9:10" in consent  # when consent was recorded, in the patient's zone


def test_assessment_lists_items_totals_bands_and_the_esas_acknowledgement(
    note: dict[str, str],
) -> None:
    assessment = note["step-assessment"]
    assert "Answered by: A family caregiver" in assessment
    assert "Pain 5" in assessment and "Lack of Appetite 7" in assessment
    assert "Total 34" in assessment
    assert "Total 5 · Moderate" in assessment  # NRS breathlessness band
    assert "Poorly most nights" in assessment and "Do you need more help" in assessment
    assert ESAS_ACKNOWLEDGEMENT in assessment


def test_crisis_rehearsal_shows_teach_back_results_and_comprehension(
    note: dict[str, str],
) -> None:
    rehearsal = note["step-crisis_rehearsal"]
    assert "breakthrough pain" in rehearsal
    assert "Call the hospice line first (safety-critical) Correct" in rehearsal
    assert "Give the rescue dose Partly correct" in rehearsal
    assert "75% (3 of 4 points)" in rehearsal
    assert "Every safety-critical point fully correct Yes" in rehearsal


def test_readings_table_has_the_latest_of_each_kind_with_units(note: dict[str, str]) -> None:
    readings = note["readings"]
    assert "Heart rate 88 /min" in readings and "92" not in readings
    assert "150" not in readings  # a drill's reading is not the patient's
    assert "Oxygen saturation (SpO2) 93 %" in readings
    assert "Blood pressure 112/68 mmHg" in readings
    assert "No value (the device reported: not-a-number)" in readings


def test_plan_and_who_completed_each_step_when(note: dict[str, str]) -> None:
    assert "Review in two days. Increase the night dose." in note["step-wrap_up"]
    record = note["record"]
    assert "Symptom assessment Completed A family member, through the visit link" in record
    assert "Identity check Completed Nurse Rowan Example" in record
    assert "Visit finished Nurse Rowan Example" in record


def test_a_skipped_step_says_why() -> None:
    skipped = sections(render(visit_state(skip={"crisis_rehearsal": "Patient too tired today"})))
    assert (
        skipped["step-crisis_rehearsal"] == "Crisis plan rehearsal Skipped: Patient too tired today"
    )
    assert "Crisis plan rehearsal Skipped Nurse Rowan Example" in skipped["record"]


def test_free_text_is_escaped_never_markup() -> None:
    html = render()
    assert "<script" not in html and "<b>downstairs" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Front room &lt;b&gt;downstairs&lt;/b&gt;" in html


def test_a_standalone_page_with_print_css_and_nothing_inline() -> None:
    html = render()
    assert html.startswith("<!doctype html>")
    assert '<link rel="stylesheet" href="/static/css/hearth.css">' in html
    assert '<link rel="stylesheet" href="/static/css/print.css" media="print">' in html
    assert "<style" not in html and " style=" not in html and "<script" not in html


def test_every_sentence_goes_through_translate() -> None:
    text = sections(render(translate=lambda message: f"«{message}»"))
    assert "«Visit note»" in text["h1"] and "«Identity check»" in text["step-identity"]
    assert "«Skipped: %(reason)s»" not in str(text)  # formatted after translating
    assert "«Yes»" in text["step-consent"] and "«Heart rate»" in text["readings"]


def _flags() -> dict[tuple[str, str], ReadingFlag]:
    return {
        ("heart_rate-10", "heart_rate"): ReadingFlag(
            (Crossing("heart_rate", "high", 90.0, "/min", False),),
            (RaisedAlert(3, "high", T0 + timedelta(minutes=11)),),
        ),
        ("blood_pressure-21", "blood_pressure"): ReadingFlag(
            (Crossing("systolic_bp", "low", 115.0, "mm[Hg]", False),), ()
        ),
        # A drill's reading is never the patient's, flagged or not.
        ("heart_rate-30", "heart_rate"): ReadingFlag(
            (Crossing("heart_rate", "high", 90.0, "/min", False),), ()
        ),
    }


def test_flagged_readings_are_listed_with_their_limits_and_alerts_in_time_order() -> None:
    flagged = sections(render(reading_flags=_flags()))["flagged"]
    # 92 /min was not the latest heart rate, and it is still in the note.
    assert flagged.index("Heart rate 92 /min") < flagged.index("Blood pressure 112/68 mmHg")
    assert "above the patient's upper limit of 90 /min" in flagged
    assert "Raised an alert (high): Sunday, March 1, 2026 at 9:11" in flagged
    assert "Systolic: below the patient's lower limit of 115 mmHg" in flagged
    assert "150" not in flagged


def test_no_flagged_reading_is_said_in_words() -> None:
    assert "No reading of this visit crossed the patient's limits" in sections(render())["flagged"]


def test_narrative_sign_off_and_addenda_are_printed_in_order() -> None:
    draft = write_narrative(EMPTY_NOTE, f"Comfortable.\n{SCRIPT}", by=7, now=T0)
    signed = sign(draft, by=7, now=T0 + timedelta(hours=1), visit_finished=True)
    note = add_addendum(signed, "Daughter called.", by=9, now=T0 + timedelta(hours=2))
    html = render(note_record=note, note_names={7: "Nurse Rowan Example", 9: "Dr Ada Example"})
    text = sections(html)
    assert "Comfortable." in text["narrative"] and "<script" not in html
    assert "Signed by Nurse Rowan Example, Sunday, March 1, 2026 at 10:00" in text["narrative"]
    assert "Addendum 1 by Dr Ada Example, Sunday, March 1, 2026 at 11:00" in text["addenda"]
    assert "Daughter called." in text["addenda"]
    unsigned = sections(render(note_record=draft))
    assert "Not signed yet." in unsigned["narrative"] and "addenda" not in unsigned


def test_the_writing_page_has_the_forms_the_script_and_translated_strings() -> None:
    draft = write_narrative(EMPTY_NOTE, "Comfortable.", by=7, now=T0)
    page = render(
        note_record=draft, editor={"page_data": '{"page": "note"}'}, translate=lambda m: f"«{m}»"
    )
    assert 'id="narrative-form"' in page and 'id="sign-confirm"' in page
    assert ">Comfortable.</textarea>" in page
    assert '<script type="module" src="/static/js/pages/note.js"></script>' in page
    assert "«Yes, sign the note»" in page
    # The page's script shows its strings from a JSON block (non-ASCII written as escapes).
    assert "\\u00abWrite the narrative before signing the note.\\u00bb" in page
    assert 'id="addendum-form"' not in page
    signed = sign(draft, by=7, now=T0, visit_finished=True)
    page = render(note_record=signed, editor={"page_data": "{}"})
    assert 'id="addendum-form"' in page and 'id="narrative-form"' not in page

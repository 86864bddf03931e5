"""The visit note's rules: a draft narrative, one sign-off, and only addenda after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from encounters.errors import ConflictError, ValidationError
from encounters.visit_note import (
    ADDENDUM_MAX_CHARS,
    EMPTY_NOTE,
    NARRATIVE_MAX_CHARS,
    add_addendum,
    clean_text,
    sign,
    write_narrative,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NURSE, DOCTOR = 7, 9


def signed_note():  # type: ignore[no-untyped-def]
    draft = write_narrative(EMPTY_NOTE, "Comfortable.", by=NURSE, now=T0)
    return sign(draft, by=NURSE, now=T0 + timedelta(minutes=5), visit_finished=True)


def test_the_narrative_is_rewritten_freely_before_the_sign_off() -> None:
    first = write_narrative(EMPTY_NOTE, "Seen at home.", by=NURSE, now=T0)
    second = write_narrative(first, "Seen at home. Settled.", by=DOCTOR, now=T0 + timedelta(1))
    assert (second.narrative, second.narrative_by) == ("Seen at home. Settled.", DOCTOR)
    assert second.narrative_at == T0 + timedelta(1) and not second.is_signed


def test_text_keeps_its_lines_with_tidy_endings() -> None:
    cleaned = clean_text("\r\n  Pain 3.  \r\nSlept well\r\n\r\n", field="narrative", max_chars=100)
    assert cleaned == "  Pain 3.\nSlept well"


def test_text_over_its_bound_is_refused_naming_the_field() -> None:
    assert len(write_narrative(EMPTY_NOTE, "x" * NARRATIVE_MAX_CHARS, by=1, now=T0).narrative) == (
        NARRATIVE_MAX_CHARS
    )
    with pytest.raises(ValidationError) as refused:
        write_narrative(EMPTY_NOTE, "x" * (NARRATIVE_MAX_CHARS + 1), by=1, now=T0)
    assert (refused.value.code, refused.value.field) == ("too_long", "narrative")
    with pytest.raises(ValidationError) as refused:
        add_addendum(signed_note(), "y" * (ADDENDUM_MAX_CHARS + 1), by=1, now=T0)
    assert refused.value.code == "too_long"


def test_signing_records_who_and_when() -> None:
    note = signed_note()
    assert note.sign_off is not None
    assert (note.sign_off.user_id, note.sign_off.at) == (NURSE, T0 + timedelta(minutes=5))


def test_signing_needs_a_narrative_and_a_finished_visit() -> None:
    with pytest.raises(ValidationError) as refused:
        sign(EMPTY_NOTE, by=NURSE, now=T0, visit_finished=True)
    assert refused.value.code == "narrative_empty"
    blank = write_narrative(EMPTY_NOTE, " \n ", by=NURSE, now=T0)
    with pytest.raises(ValidationError):
        sign(blank, by=NURSE, now=T0, visit_finished=True)
    draft = write_narrative(EMPTY_NOTE, "Seen.", by=NURSE, now=T0)
    with pytest.raises(ConflictError) as conflict:
        sign(draft, by=NURSE, now=T0, visit_finished=False)
    assert conflict.value.code == "visit_not_finished"


def test_a_signed_note_is_not_signed_again_nor_edited() -> None:
    note = signed_note()
    with pytest.raises(ConflictError) as conflict:
        sign(note, by=DOCTOR, now=T0 + timedelta(hours=1), visit_finished=True)
    assert conflict.value.code == "already_signed"
    with pytest.raises(ConflictError) as conflict:
        write_narrative(note, "Changed", by=NURSE, now=T0 + timedelta(hours=1))
    assert conflict.value.code == "note_signed"


def test_addenda_come_only_after_the_sign_off_and_keep_their_order() -> None:
    draft = write_narrative(EMPTY_NOTE, "Seen.", by=NURSE, now=T0)
    with pytest.raises(ConflictError) as conflict:
        add_addendum(draft, "Later", by=NURSE, now=T0)
    assert conflict.value.code == "note_not_signed"
    note = signed_note()
    once = add_addendum(note, "Daughter called.", by=NURSE, now=T0 + timedelta(hours=2))
    twice = add_addendum(once, "Dose unchanged.", by=DOCTOR, now=T0 + timedelta(hours=3))
    assert [(a.author_id, a.text) for a in twice.addenda] == [
        (NURSE, "Daughter called."),
        (DOCTOR, "Dose unchanged."),
    ]
    assert twice.narrative == note.narrative and twice.sign_off == note.sign_off
    with pytest.raises(ValidationError) as refused:
        add_addendum(note, "  \n", by=NURSE, now=T0)
    assert refused.value.code == "addendum_empty"

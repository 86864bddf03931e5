"""The visit note's own record: the clinician's narrative, the sign-off, and the addenda.

A note is written freely until it is signed. Signing needs a narrative and a finished visit,
happens once, and names who and when. After that the note is never edited: anything the
clinician has to add or correct is an addendum, which keeps its author and time and comes
after the ones before it. These rules are plain functions over a frozen :class:`NoteRecord`;
the caller stores the result (and, since two requests can race, stores a sign-off only if the
stored note is still unsigned).

Who may write or sign (a clinician on the patient's care team) is the caller's check; this
module only knows ids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from encounters.errors import ConflictError, ValidationError

# A narrative is a page or two of prose; an addendum a paragraph or a few. Both fit well
# inside the 64 KiB a JSON body may have, in any script.
NARRATIVE_MAX_CHARS = 10_000
ADDENDUM_MAX_CHARS = 4_000


@dataclass(frozen=True)
class SignOff:
    user_id: int
    at: datetime


@dataclass(frozen=True)
class Addendum:
    author_id: int
    at: datetime
    text: str


@dataclass(frozen=True)
class NoteRecord:
    """What a clinician wrote on the note; the visit's own record is elsewhere."""

    narrative: str = ""
    narrative_by: int | None = None
    narrative_at: datetime | None = None
    sign_off: SignOff | None = None
    addenda: tuple[Addendum, ...] = ()

    @property
    def is_signed(self) -> bool:
        return self.sign_off is not None


EMPTY_NOTE = NoteRecord()


def clean_text(text: str, *, field: str, max_chars: int) -> str:
    """The text as it is kept: line endings made ``\\n``, trailing blanks of each line and
    blank lines at either end dropped. Refused (422) when longer than ``max_chars``."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned = "\n".join(lines).strip("\n")
    if len(cleaned) > max_chars:
        raise ValidationError(
            f"The {field} is {len(cleaned)} characters long; at most {max_chars} are kept.",
            code="too_long",
            field=field,
        )
    return cleaned


def _require_unsigned(note: NoteRecord) -> None:
    if note.is_signed:
        raise ConflictError(
            "The note is signed and can no longer be edited; add an addendum instead.",
            code="note_signed",
        )


def write_narrative(note: NoteRecord, text: str, *, by: int, now: datetime) -> NoteRecord:
    """The note with its narrative replaced; refused once the note is signed. An empty
    narrative is allowed while drafting (it is what a cleared field means)."""
    _require_unsigned(note)
    narrative = clean_text(text, field="narrative", max_chars=NARRATIVE_MAX_CHARS)
    return replace(note, narrative=narrative, narrative_by=by, narrative_at=now)


def sign(note: NoteRecord, *, by: int, now: datetime, visit_finished: bool) -> NoteRecord:
    """The note signed by ``by`` at ``now``.

    Refused when it is already signed (409 ``already_signed``), while the visit is still
    open (409 ``visit_not_finished``: its record could still change under the signature),
    and when the narrative is empty (422 ``narrative_empty``).
    """
    if note.sign_off is not None:
        raise ConflictError("The note has already been signed.", code="already_signed")
    if not visit_finished:
        raise ConflictError(
            "The visit is not finished yet; finish it before signing its note.",
            code="visit_not_finished",
        )
    if not note.narrative.strip():
        raise ValidationError(
            "Write the narrative before signing the note.",
            code="narrative_empty",
            field="narrative",
        )
    return replace(note, sign_off=SignOff(by, now))


def add_addendum(note: NoteRecord, text: str, *, by: int, now: datetime) -> NoteRecord:
    """The note with one more addendum at the end; only a signed note takes addenda (before
    sign-off the narrative itself is edited)."""
    if note.sign_off is None:
        raise ConflictError(
            "The note is not signed yet; edit the narrative instead of adding an addendum.",
            code="note_not_signed",
        )
    cleaned = clean_text(text, field="text", max_chars=ADDENDUM_MAX_CHARS)
    if not cleaned.strip():
        raise ValidationError("An addendum needs some text.", code="addendum_empty", field="text")
    return replace(note, addenda=(*note.addenda, Addendum(by, now, cleaned)))

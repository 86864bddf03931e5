"""The visit note in the FHIR R4 Bundle: a ``Composition`` and, after its sign-off, one more
per addendum.

FHIR R4 (4.0.1) Composition: ``status`` is ``preliminary`` while the narrative is a draft and
``final`` once it is signed, and the sign-off is an ``attester`` (mode ``legal``: the signer
takes responsibility for the content) with its time and the signer as ``party``. An addendum
is not a change to the signed Composition: R4 models it as a Composition of its own whose
``relatesTo`` is ``appends`` the original (CompositionRelationship ``appends``: "this document
adds additional information to the target document"), final and attested by its author when
it is added. The original's status then becomes ``amended``, which R4 defines as "modified
(edit or addenda) after the composition was marked final". The narrative is each
Composition's one section, as XHTML with every character escaped. LOINC 11506-3 (Progress
note) is the document type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape

from encounters.visit_note import NoteRecord

JsonObject = dict[str, object]
# ``_Bundle.add`` of the Bundle being built: (resource type, Hearth key, resource) -> fullUrl.
AddResource = Callable[[str, str, JsonObject], str]

LOINC = "http://loinc.org"
PROGRESS_NOTE = {
    "coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}],
    "text": "Visit note",
}
XHTML = "http://www.w3.org/1999/xhtml"


def _xhtml(text: str) -> JsonObject:
    lines = [line for line in text.splitlines() if line.strip()]
    paragraphs = "".join(f"<p>{escape(line, quote=False)}</p>" for line in lines)
    return {"status": "additional", "div": f'<div xmlns="{XHTML}">{paragraphs}</div>'}


def _ref(full_url: str) -> JsonObject:
    return {"reference": full_url}


def add_note(
    add: AddResource,
    *,
    note: NoteRecord,
    names: Mapping[int, str],
    encounter_id: int,
    subject: str,
    encounter: str,
    clinician: str,
) -> None:
    """Add the note's Compositions to the Bundle; nothing while no narrative is written.

    ``subject``, ``encounter`` and ``clinician`` are the fullUrls of the Patient, the
    Encounter and the visit's Practitioner; others who wrote or signed are added as
    Practitioners by their user id.
    """
    if not note.narrative.strip():
        return

    def practitioner(user_id: int | None) -> str:
        if user_id is None:
            return clinician
        name = names.get(user_id)
        resource: JsonObject = {"name": [{"text": name}]} if name else {}
        return add("Practitioner", str(user_id), resource)

    signed = note.sign_off
    status = "preliminary" if signed is None else "amended" if note.addenda else "final"
    composition: JsonObject = {
        "status": status,
        "type": PROGRESS_NOTE,
        "subject": _ref(subject),
        "encounter": _ref(encounter),
        "date": _iso(signed.at if signed else note.narrative_at),
        "author": [_ref(practitioner(note.narrative_by))],
        "title": "Visit note",
        "section": [{"title": "Clinician's narrative", "text": _xhtml(note.narrative)}],
    }
    if signed is not None:
        composition["attester"] = [
            {"mode": "legal", "time": _iso(signed.at), "party": _ref(practitioner(signed.user_id))}
        ]
    original = add("Composition", f"{encounter_id}-note", composition)
    for number, addendum in enumerate(note.addenda, start=1):
        author = _ref(practitioner(addendum.author_id))
        add(
            "Composition",
            f"{encounter_id}-note-addendum-{number}",
            {
                "status": "final",
                "type": PROGRESS_NOTE,
                "subject": _ref(subject),
                "encounter": _ref(encounter),
                "date": _iso(addendum.at),
                "author": [author],
                "title": f"Addendum {number} to the visit note",
                "attester": [{"mode": "legal", "time": _iso(addendum.at), "party": author}],
                "relatesTo": [{"code": "appends", "targetReference": _ref(original)}],
                "section": [{"title": "Addendum", "text": _xhtml(addendum.text)}],
            },
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()

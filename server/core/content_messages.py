"""The words people read in Hearth's data files (instruments, visit templates), translated
like every other string.

``make messages`` extracts them with :func:`extract_toml` (see ``babel.cfg``); the API gives a
template's description with them translated into the reader's language
(:func:`translate_content`). Only the keys below are text for a person; ids, codes, sources
and licences are not translated. The published English of an instrument stays its
reference: a translation of a validated instrument is marked unreviewed until checked
against the authors' own translation (docs/clinical.md).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from typing import IO, Any

CONTENT_KEYS = frozenset(
    {
        "name",
        "title",
        "text",
        "label",
        "guidance",
        "definition",
        "instructions",
        "total_label",
        "when",
        "bands_note",
    }
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in CONTENT_KEYS and isinstance(inner, str) and inner.strip():
                yield inner
            else:
                yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def extract_toml(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extraction method: each person-readable string of a TOML data file, with the
    line it is first written on."""
    raw = fileobj.read()
    lines = raw.decode("utf-8").splitlines()
    for text in _strings(tomllib.loads(raw.decode("utf-8"))):
        needle = text.replace("\\", "\\\\").replace('"', '\\"')
        lineno = next((n for n, line in enumerate(lines, 1) if needle in line), 1)
        yield lineno, "_", _escaped(text), []


def _escaped(text: str) -> str:
    # Gettext tools read "50% of" as a %-placeholder ("% o") and refuse translations without
    # one; the catalogues hold data-file text with "%" written "%%", as in every other string.
    return text.replace("%", "%%")


def translate_content(value: Any, gettext: Callable[[str], str]) -> Any:
    """A copy of a data file's description (dicts and lists, as the API sends it) with its
    person-readable strings in the reader's language."""
    if isinstance(value, dict):
        return {
            key: gettext(_escaped(inner)).replace("%%", "%")
            if key in CONTENT_KEYS and isinstance(inner, str) and inner
            else translate_content(inner, gettext)
            for key, inner in value.items()
        }
    if isinstance(value, list):
        return [translate_content(inner, gettext) for inner in value]
    return value

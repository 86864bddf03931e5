"""Values a database cannot store, found before they reach it.

PostgreSQL's text types refuse U+0000, and its UTF-8 encoding cannot hold a lone surrogate
(JSON ``"\\ud800"`` decodes to one; so does a header byte that is not UTF-8). SQLite stores
the first and fails on the second. Either, left to the database, fails a request with an error
that carries the value (patient data) into the log, or is stored on one database and not on
the other. So every input is checked here first and refused with the field named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Deeper JSON than this is refused: no Hearth body comes near it (a care plan is 4 deep), and
# walking it costs nothing, where Python's own recursion limit would fail with a 500.
MAX_JSON_DEPTH = 32
# Ids are INTEGER columns: a larger number cannot name a row, and PostgreSQL refuses to
# compare an INTEGER with it.
MAX_ID = 2**31 - 1

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_KEY_SHOWN = 40  # characters of a client's key repeated in a field path


@dataclass(frozen=True)
class Unstorable:
    """Where a value cannot be stored (a dotted path, None for the value itself) and why."""

    field: str | None
    message: str
    code: str = "invalid_field"


def unstorable_character(text: str) -> str | None:
    """What in ``text`` a database cannot store, as words, or None when it can all be stored."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "a NUL character (U+0000)"
    return "a lone surrogate (an unpaired \\ud800-\\udfff escape)"


def storable_text(text: str) -> str:
    """``text`` with every character a database cannot store replaced by U+FFFD: for input
    that is recorded as it came (a User-Agent header), never refused."""
    return _UNSTORABLE.sub("\ufffd", text)


def find_unstorable(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Unstorable | None:
    """The first place in a decoded JSON value (objects, arrays, strings and scalars) that a
    database cannot store, or that is nested deeper than ``max_depth``; None when all is well.

    Object keys are checked too. Walks with its own stack, so no depth can exhaust Python's.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = unstorable_character(item)
            if problem is not None:
                where = _dotted(path)
                subject = f"The field {where!r}" if where else "The value"
                return Unstorable(
                    where or None, f"{subject} contains {problem}, which cannot be stored."
                )
            continue
        if not isinstance(item, dict | list):
            continue
        if len(path) >= max_depth:
            return Unstorable(
                _dotted(path) or None,
                f"The JSON is nested more than {max_depth} levels deep.",
                code="too_deep",
            )
        if isinstance(item, list):
            children = [(child, (*path, str(i))) for i, child in enumerate(item)]
        else:
            children = []
            for key, child in item.items():
                problem = unstorable_character(key) if isinstance(key, str) else None
                if problem is not None:
                    where = _dotted(path)
                    place = f"in {where!r}" if where else "at the top level"
                    return Unstorable(
                        where or None,
                        f"A field name {place} contains {problem}, which cannot be stored.",
                    )
                children.append((child, (*path, str(key)[:_KEY_SHOWN])))
        # Reversed, so the first problem in document order is the one reported.
        stack.extend(reversed(children))
    return None


def parse_id(raw: str) -> int | None:
    """A row id written in a URL, or None: ASCII digits only (``"²".isdigit()`` is true, and
    ``int("²")`` fails) and no larger than an INTEGER column holds."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_ID)):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)

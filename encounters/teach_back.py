"""Teach-back answers of a crisis rehearsal and how comprehension is scored.

Each key point is scored 2 = correct and complete, 1 = partly
correct, 0 = incorrect or omitted (a common local rubric; there is no single
standard scale). Mastery is declared only when every safety-critical point is
fully correct, whatever the percentage. The number of teach-back cycles per
point is recorded when given, for the "% correct on the first attempt" drill metric.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from encounters.errors import ValidationError

# The rubric: 2 correct, 1 partly, 0 not yet.
TEACH_BACK_POINTS: Mapping[str, int] = MappingProxyType({"correct": 2, "partly": 1, "not_yet": 0})
MAX_POINTS_PER_ITEM = 2
TEACH_BACK_MAX_ITEMS = 50
TEACH_BACK_ITEM_MAX_CHARS = 200
TEACH_BACK_MAX_ATTEMPTS = 20
_ENTRY_KEYS = ("item", "result", "safety_critical", "attempts")


@dataclass(frozen=True)
class TeachBackScore:
    points: int
    max_points: int
    comprehension_pct: float  # points / max_points, one decimal place
    # % of key points correct on the first attempt; None unless every entry gives attempts.
    first_attempt_correct_pct: float | None
    items: int
    safety_critical_items: int
    mastery: bool


def _refuse(field: str, detail: str) -> ValidationError:
    return ValidationError(f"Field '{field}' {detail}.", field=field)


def _check_entry(entry: object, field: str) -> dict[str, object]:
    if not isinstance(entry, Mapping):
        raise _refuse(field, "must be an object with 'item' and 'result'")
    for key in entry:
        if key not in _ENTRY_KEYS:
            raise _refuse(field, f"may only have the keys {', '.join(_ENTRY_KEYS)}")
    item = entry.get("item")
    if not isinstance(item, str) or not item.strip() or len(item) > TEACH_BACK_ITEM_MAX_CHARS:
        raise _refuse(
            f"{field}.item", f"must be a text of 1 to {TEACH_BACK_ITEM_MAX_CHARS} characters"
        )
    result = entry.get("result")
    if not isinstance(result, str) or result not in TEACH_BACK_POINTS:
        raise _refuse(f"{field}.result", f"must be one of: {', '.join(TEACH_BACK_POINTS)}")
    checked: dict[str, object] = {"item": item, "result": result}
    critical = entry.get("safety_critical")
    if critical is not None:
        if not isinstance(critical, bool):
            raise _refuse(f"{field}.safety_critical", "must be true or false")
        checked["safety_critical"] = critical
    attempts = entry.get("attempts")
    if attempts is not None:
        if (
            not isinstance(attempts, int)
            or isinstance(attempts, bool)
            or not 1 <= attempts <= TEACH_BACK_MAX_ATTEMPTS
        ):
            raise _refuse(
                f"{field}.attempts", f"must be a whole number from 1 to {TEACH_BACK_MAX_ATTEMPTS}"
            )
        checked["attempts"] = attempts
    return checked


def check_teach_back(value: object, field: str = "teach_back") -> list[dict[str, object]]:
    """Validate a list of teach-back entries: each names an item once, with its result."""
    if not isinstance(value, list) or not 1 <= len(value) <= TEACH_BACK_MAX_ITEMS:
        raise _refuse(field, f"must be a list of 1 to {TEACH_BACK_MAX_ITEMS} entries")
    entries = [_check_entry(entry, f"{field}.{index}") for index, entry in enumerate(value)]
    names = [entry["item"] for entry in entries]
    if len(set(names)) != len(names):
        raise _refuse(field, "names the same item twice")
    return entries


def merge_teach_back(stored: object, new: Sequence[object]) -> list[object]:
    """Stored entries with each new entry replacing the one for the same item, else appended."""
    merged: list[object] = list(stored) if isinstance(stored, Sequence) else []
    for entry in new:
        name = entry.get("item") if isinstance(entry, Mapping) else None
        for index, old in enumerate(merged):
            if isinstance(old, Mapping) and old.get("item") == name:
                merged[index] = entry
                break
        else:
            merged.append(entry)
    return merged


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1)


def score_teach_back(value: object) -> TeachBackScore:
    """Score checked teach-back entries (see :func:`check_teach_back`)."""
    entries = check_teach_back(value)
    results = [str(entry["result"]) for entry in entries]
    points = sum(TEACH_BACK_POINTS[result] for result in results)
    max_points = MAX_POINTS_PER_ITEM * len(entries)
    critical = [entry for entry in entries if entry.get("safety_critical") is True]
    # When no point is marked safety-critical, every point counts as one:
    # declaring mastery because nothing was marked would be unsafe.
    must_be_correct = critical or entries
    with_attempts = [entry for entry in entries if "attempts" in entry]
    first_attempt: float | None = None
    if len(with_attempts) == len(entries):
        first_correct = sum(
            1 for entry in entries if entry["result"] == "correct" and entry["attempts"] == 1
        )
        first_attempt = _pct(first_correct, len(entries))
    return TeachBackScore(
        points=points,
        max_points=max_points,
        comprehension_pct=_pct(points, max_points),
        first_attempt_correct_pct=first_attempt,
        items=len(entries),
        safety_critical_items=len(critical),
        mastery=all(entry["result"] == "correct" for entry in must_be_correct),
    )


@dataclass(frozen=True)
class PointResult:
    """One education teach-back point as the family said it back at one visit or drill."""

    topic_id: str
    point_id: str
    result: str  # a key of TEACH_BACK_POINTS
    at: datetime


@dataclass(frozen=True)
class ComprehensionPoint:
    """A topic's comprehension at one sitting: the points asked then, scored 2 / 1 / 0."""

    topic_id: str
    at: datetime
    comprehension_pct: float
    points_asked: int


def points_to_revisit(history: Iterable[PointResult]) -> list[PointResult]:
    """The points whose latest answer is not yet fully correct, oldest first.

    Only the latest answer counts: a point answered "partly" and then "correct" is learnt; one
    answered "correct" once and "not yet" later has been forgotten and comes back.
    """
    latest: dict[tuple[str, str], PointResult] = {}
    for entry in sorted(history, key=lambda e: e.at):
        latest[(entry.topic_id, entry.point_id)] = entry
    return sorted(
        (entry for entry in latest.values() if entry.result != "correct"),
        key=lambda e: (e.at, e.topic_id, e.point_id),
    )


def comprehension_over_time(history: Iterable[PointResult]) -> list[ComprehensionPoint]:
    """Per topic and sitting (the answers recorded at one moment), the share of points scored,
    in time order: the family's comprehension of each topic as a line over time."""
    sittings: dict[tuple[str, datetime], list[str]] = {}
    for entry in history:
        sittings.setdefault((entry.topic_id, entry.at), []).append(entry.result)
    out = [
        ComprehensionPoint(
            topic_id=topic_id,
            at=at,
            comprehension_pct=_pct(
                sum(TEACH_BACK_POINTS[r] for r in results), MAX_POINTS_PER_ITEM * len(results)
            ),
            points_asked=len(results),
        )
        for (topic_id, at), results in sittings.items()
    ]
    return sorted(out, key=lambda p: (p.at, p.topic_id))

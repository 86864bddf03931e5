"""Comparing this visit's item scores with the last visit's and the patient's thresholds.

For ESAS-r, cut points are "commonly" >= 4 moderate-or-worse and >= 7
severe, but evidence differs by symptom (pain: 5 and 7, Oldenmenger 2013) and
programmes set personal goals, so thresholds are per item and per patient; the
instrument file only supplies the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from encounters.errors import ValidationError
from encounters.instruments.model import Instrument, ItemKind, Thresholds
from encounters.instruments.scoring import check_item_answer, shown_key

# A change of this many points or more between visits, either way, is flagged.
# Hearth's default (not a published minimal clinically important difference).
NOTABLE_CHANGE_POINTS = 2


class Severity(StrEnum):
    """Common bands in practice: 0 none, then mild, moderate, severe; ``not_rated`` for an
    item with no cut points (ECOG, AKPS, PAINAD and others have none that Hearth applies):
    its score and its change since last time are shown, and it is never flagged."""

    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"
    NOT_RATED = "not_rated"


@dataclass(frozen=True)
class ItemComparison:
    item_id: str
    score: int
    severity: Severity
    is_moderate_or_worse: bool
    is_severe: bool
    previous: int | None
    change: int | None  # score - previous; None when there is nothing to compare
    is_notable_change: bool


def check_thresholds(thresholds: Thresholds, item_id: str, high: int) -> Thresholds:
    """Refuse cut points that cannot work on a 0..``high`` item."""
    if not 1 <= thresholds.moderate <= thresholds.severe <= high:
        raise ValidationError(
            f"Thresholds for '{item_id}' must satisfy 1 <= moderate <= severe <= {high}; "
            f"got moderate {thresholds.moderate}, severe {thresholds.severe}.",
            field=f"thresholds.{item_id}",
        )
    return thresholds


def classify(score: int, thresholds: Thresholds) -> Severity:
    """The band of one item score under the given cut points."""
    if score >= thresholds.severe:
        return Severity.SEVERE
    if score >= thresholds.moderate:
        return Severity.MODERATE
    return Severity.MILD if score > 0 else Severity.NONE


def _same_named_problem(
    needs: tuple[str, ...], current: Mapping[str, object], previous: Mapping[str, object]
) -> bool:
    # ESAS-r "other" is a different symptom each time the patient names a
    # different problem; comparing "constipation 6" with "itch 2" means nothing.
    for needed in needs:
        now, before = current.get(needed), previous.get(needed)
        if not (isinstance(now, str) and isinstance(before, str)):
            return False
        if now.strip().casefold() != before.strip().casefold():
            return False
    return True


def compare_scores(
    instrument: Instrument,
    current: Mapping[str, object],
    previous: Mapping[str, object] | None = None,
    thresholds: Mapping[str, Thresholds] | None = None,
    *,
    notable_change_points: int = NOTABLE_CHANGE_POINTS,
) -> tuple[ItemComparison, ...]:
    """Per whole-number item answered now: its band, threshold flags and change since last time.

    ``current`` and ``previous`` are item answers as stored (other keys, such as
    the name of the "other" problem, are read but not compared). ``thresholds``
    overrides the instrument's defaults per item id; an item with neither is not rated.
    """
    overrides = dict(thresholds or {})
    for key in overrides:
        item = instrument.item(key)
        if item is None or item.kind is not ItemKind.INTEGER:
            raise ValidationError(
                f"{instrument.short_name} has no numeric item '{shown_key(key)}' to set "
                "thresholds for.",
                field=f"thresholds.{shown_key(key)}",
            )
    before = previous or {}
    results: list[ItemComparison] = []
    for item in instrument.items:
        value = current.get(item.item_id)
        if item.kind is not ItemKind.INTEGER or value is None:
            continue
        score = check_item_answer(instrument, item, value, item.item_id)
        assert isinstance(score, int)
        cut = overrides.get(item.item_id, instrument.item_thresholds)
        if cut is not None:
            check_thresholds(cut, item.item_id, int(item.values[-1]))
        old_value = before.get(item.item_id)
        old: int | None = None
        if old_value is not None and _same_named_problem(item.needs, current, before):
            old_score = check_item_answer(instrument, item, old_value, item.item_id)
            assert isinstance(old_score, int)
            old = old_score
        change = None if old is None else score - old
        results.append(
            ItemComparison(
                item_id=item.item_id,
                score=score,
                severity=Severity.NOT_RATED if cut is None else classify(score, cut),
                is_moderate_or_worse=cut is not None and score >= cut.moderate,
                is_severe=cut is not None and score >= cut.severe,
                previous=old,
                change=change,
                is_notable_change=change is not None and abs(change) >= notable_change_points,
            )
        )
    return tuple(results)

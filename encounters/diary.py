"""The daily symptom diary the family fills in between visits.

This is Hearth's own short check-in, not the ESAS-r (whose authors do not allow its wording
to be changed), so its questions are written for low literacy. Every scored item runs the
same way as the ESAS-r: 0 is the best end and 10 the worst, so one pair of thresholds
(moderate, severe) reads the same for every item. Questions ask about "now" or "today" because
recall is unreliable and the ESAS-r revision put weight on "now".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from encounters.errors import ValidationError

SCORE_MIN = 0
SCORE_MAX = 10
WORRY_MAX_CHARS = 1000
# Phones' clocks drift and entries are queued offline; more than this ahead is a wrong clock.
FUTURE_SKEW_MAX_MIN = 5
CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
WORRY_ITEM = "worry"


def N_(text: str) -> str:  # noqa: N802 - gettext's name for "mark for translation"
    """Marks a string for the translation catalogues; pages translate it when they show it."""
    return text


@dataclass(frozen=True)
class DiaryItem:
    """What the UI shows for one item: a label, a plain question and the words at each end."""

    item_id: str
    label: str
    question: str
    anchor_0: str
    anchor_10: str


DIARY_ITEMS: tuple[DiaryItem, ...] = (
    DiaryItem(
        "pain", N_("Pain"), N_("How much pain do you have now?"), N_("No pain"), N_("Worst pain")
    ),
    DiaryItem(
        "breathlessness",
        N_("Breathlessness"),
        N_("How short of breath are you now?"),
        N_("Breathing easily"),
        N_("Can't catch my breath at all"),
    ),
    DiaryItem(
        "sleep",
        N_("Sleep"),
        N_("How badly did you sleep last night?"),
        N_("Slept well"),
        N_("Did not sleep at all"),
    ),
    DiaryItem(
        "appetite",
        N_("Appetite"),
        N_("How little do you feel like eating today?"),
        N_("Eating as usual"),
        N_("Can't eat at all"),
    ),
    DiaryItem(
        "mood",
        N_("Low mood"),
        N_("How low or sad do you feel today?"),
        N_("Not sad"),
        N_("Saddest ever"),
    ),
    DiaryItem(
        "drowsiness",
        N_("Drowsiness"),
        N_("How sleepy do you feel now?"),
        N_("Wide awake"),
        N_("Can't stay awake"),
    ),
)
DIARY_SCORE_ITEMS: frozenset[str] = frozenset(item.item_id for item in DIARY_ITEMS)
WORRY_QUESTION = N_("What worries you most today? (You can leave this empty.)")
DIARY_ITEM_LABELS: Mapping[str, str] = MappingProxyType(
    {item.item_id: item.label for item in DIARY_ITEMS}
)


class AnsweredBy(StrEnum):
    PATIENT = "patient"
    FAMILY = "family"


@dataclass(frozen=True)
class DiaryEntry:
    """One check-in. Items the person skipped are absent from ``scores``."""

    client_id: str
    recorded_at: datetime
    scores: Mapping[str, int]
    worry: str | None = None
    answered_by: AnsweredBy = AnsweredBy.PATIENT


_ENTRY_FIELDS = frozenset({"client_id", "recorded_at", "answered_by", "items"})


def validate_diary_entry(obj: Mapping[str, object], *, now: datetime) -> DiaryEntry:
    """Check a diary entry as the API receives it.

    Shape: ``{"client_id": "<id chosen by the device>", "recorded_at": "<ISO 8601 with
    offset>", "answered_by": "patient" | "family" (optional), "items": {"pain": 0..10, ...,
    "worry": "<text>"}}``. A blank worry counts as skipped; at least one item must be answered.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now must be a time with a UTC offset.", field="now")
    unknown = sorted(set(obj) - _ENTRY_FIELDS)
    if unknown:
        raise ValidationError(
            f"Unknown field {unknown[0][:40]!r}; expected {', '.join(sorted(_ENTRY_FIELDS))}.",
            code="unknown_field",
            field=unknown[0][:40],
        )
    client_id = obj.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID_PATTERN.fullmatch(client_id):
        raise ValidationError(
            "client_id is required: 1 to 64 letters, digits, '-' or '_' (a UUID fits).",
            field="client_id",
        )
    recorded_at = _recorded_at(obj.get("recorded_at"), now)
    answered = obj.get("answered_by", AnsweredBy.PATIENT.value)
    answered_by = next((a for a in AnsweredBy if a.value == answered), None)
    if answered_by is None:
        raise ValidationError("answered_by must be 'patient' or 'family'.", field="answered_by")
    items = obj.get("items")
    if not isinstance(items, Mapping):
        raise ValidationError("items is required: an object of item ids to answers.", field="items")
    scores: dict[str, int] = {}
    worry: str | None = None
    for key, value in items.items():
        if key == WORRY_ITEM:
            worry = _worry(value)
        elif key in DIARY_SCORE_ITEMS:
            scores[key] = _score(key, value)
        else:
            expected = ", ".join(sorted(DIARY_SCORE_ITEMS | {WORRY_ITEM}))
            raise ValidationError(
                f"Unknown diary item {str(key)[:40]!r}; expected one of {expected}.",
                code="unknown_field",
                field=f"items.{str(key)[:40]}",
            )
    if not scores and worry is None:
        raise ValidationError(
            "A diary entry must answer at least one item.", code="empty_entry", field="items"
        )
    return DiaryEntry(client_id, recorded_at, MappingProxyType(scores), worry, answered_by)


def _recorded_at(value: object, now: datetime) -> datetime:
    expected = "recorded_at must be an ISO 8601 time with a UTC offset, e.g. 2025-01-31T09:30Z"
    if not isinstance(value, str):
        raise ValidationError(f"{expected}.", field="recorded_at")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{expected}; got {value[:40]!r}.", field="recorded_at") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{expected}; this one has no offset.", field="recorded_at")
    if moment - now > timedelta(minutes=FUTURE_SKEW_MAX_MIN):
        raise ValidationError(
            f"recorded_at is more than {FUTURE_SKEW_MAX_MIN} minutes in the future; "
            "check the device's clock.",
            code="in_future",
            field="recorded_at",
        )
    return moment.astimezone(UTC)


def _score(key: str, value: object) -> int:
    # bool is an int in Python; a checkbox value is not a score.
    if isinstance(value, bool) or not isinstance(value, int) or not SCORE_MIN <= value <= SCORE_MAX:
        raise ValidationError(
            f"items.{key} must be a whole number from {SCORE_MIN} to {SCORE_MAX}.",
            code="out_of_range",
            field=f"items.{key}",
        )
    return value


def _worry(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > WORRY_MAX_CHARS:
        raise ValidationError(
            f"items.worry must be text of at most {WORRY_MAX_CHARS} characters.",
            field="items.worry",
        )
    return value if value.strip() else None

"""What an instrument is, as frozen data read from its TOML file.

An instrument is a list of items (each with the answers it allows) and one
scoring rule. Nothing here knows a particular instrument: ESAS-r, 4AT and the
rest live in their data files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

Number = int | Decimal
# A validated answer to one item: a number for numeric items (Decimal for the
# decimal ones, so 0.5 on the modified Borg stays exact), an option code, a
# yes/no, or free text.
Answer = int | Decimal | str | bool


class ItemKind(StrEnum):
    INTEGER = "integer"  # whole numbers: min..max, or an explicit list of values
    DECIMAL = "decimal"  # an explicit list of decimal values
    CHOICE = "choice"  # one of the item's named options, each with an optional score
    BOOLEAN = "boolean"
    TEXT = "text"


class ScoringMethod(StrEnum):
    SUM = "sum"  # total = the sum of the listed items' scores
    NONE = "none"  # answers are recorded, no total (e.g. the caregiver check)


@dataclass(frozen=True)
class Anchor:
    """The words printed beside a number on the form, e.g. 0 = "No Pain"."""

    value: Number
    label: str


@dataclass(frozen=True)
class Option:
    """One answer of a choice item; ``score`` is what it adds to the total."""

    code: str
    label: str
    score: int | None


@dataclass(frozen=True)
class Item:
    item_id: str
    kind: ItemKind
    text: str
    definition: str = ""
    required: bool = True
    values: tuple[Number, ...] = ()
    anchors: tuple[Anchor, ...] = ()
    options: tuple[Option, ...] = ()
    max_length_chars: int | None = None
    # Items that must also be answered when this one is (ESAS-r "other" needs
    # the name of the problem; 4AT item 4 needs who supplied the information).
    needs: tuple[str, ...] = ()

    @property
    def is_numeric(self) -> bool:
        return self.kind in (ItemKind.INTEGER, ItemKind.DECIMAL)

    @property
    def is_scored(self) -> bool:
        """Whether a valid answer to this item carries a number."""
        if self.is_numeric:
            return True
        return self.kind is ItemKind.CHOICE and all(o.score is not None for o in self.options)

    def option(self, code: str) -> Option | None:
        for option in self.options:
            if option.code == code:
                return option
        return None

    def describe_allowed(self) -> str:
        """The allowed answers, in words, for error messages."""
        if self.kind is ItemKind.INTEGER:
            low, high = self.values[0], self.values[-1]
            if len(self.values) == int(high) - int(low) + 1:
                return f"a whole number from {low} to {high}"
            return "one of " + ", ".join(str(v) for v in self.values)
        if self.kind is ItemKind.DECIMAL:
            return "one of " + ", ".join(str(v) for v in self.values)
        if self.kind is ItemKind.CHOICE:
            return "one of: " + ", ".join(o.code for o in self.options)
        if self.kind is ItemKind.BOOLEAN:
            return "true or false"
        return f"a text of 1 to {self.max_length_chars} characters"


@dataclass(frozen=True)
class Band:
    """A named range of the total, inclusive at both ends."""

    code: str
    label: str
    low: Number
    high: Number

    def contains(self, total: Number) -> bool:
        return self.low <= total <= self.high


@dataclass(frozen=True)
class Subscore:
    subscore_id: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Scoring:
    method: ScoringMethod
    items: tuple[str, ...] = ()
    total_label: str = ""
    subscores: tuple[Subscore, ...] = ()
    # Which published definition the subscores follow; they vary by paper.
    subscore_definition: str = ""
    bands: tuple[Band, ...] = ()
    bands_validated: bool = False
    bands_note: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Per-item cut points: a score at or over ``moderate`` is moderate-or-worse."""

    moderate: int
    severe: int


@dataclass(frozen=True)
class Instrument:
    instrument_id: str
    name: str
    short_name: str  # used in messages, e.g. "ESAS-r"
    version: str
    source: str
    licence: str
    acknowledgement: str
    items: tuple[Item, ...]
    scoring: Scoring
    instructions: str = ""
    recall: str = ""
    # Default per-item cut points (ESAS-r); a patient's own thresholds override them.
    item_thresholds: Thresholds | None = None
    path: str = ""

    def item(self, item_id: str) -> Item | None:
        for item in self.items:
            if item.item_id == item_id:
                return item
        return None

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.item_id for item in self.items)


def _empty_subscores() -> Mapping[str, Number]:
    return MappingProxyType({})


@dataclass(frozen=True)
class InstrumentScore:
    """What one completed instrument scored: its total, the band it falls in, subscores."""

    instrument_id: str
    total: Number | None
    band: str | None = None
    band_label: str | None = None
    band_validated: bool | None = None
    subscores: Mapping[str, Number] = field(default_factory=_empty_subscores)

"""Loading instrument data files: the shipped ones, and any an organisation adds.

Instruments that need a licence or permission for electronic use (ZBI, CAM, PPSv2,
IPOS; docs/clinical.md, "Licences") are not shipped. An organisation that holds the
licence writes them in the same format and passes its directory to :func:`load_instruments`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from encounters.errors import DataFileError
from encounters.instruments.datafile import DataSource, Number, TableReader, parse_toml
from encounters.instruments.model import (
    Anchor,
    Band,
    Instrument,
    Item,
    ItemKind,
    Option,
    Scoring,
    ScoringMethod,
    Subscore,
    Thresholds,
)

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Long enough for any printed item; it only bounds what a data file may declare.
MAX_TEXT_LENGTH_CHARS = 10_000
_PACKAGE = "encounters.instruments"


def parse_instrument(text: str, path: str) -> Instrument:
    """Read one instrument file's text; refuse it with file and line if malformed."""
    top, source = parse_toml(text, path)
    top.allow_only(
        "id", "name", "short_name", "version", "source", "licence", "acknowledgement",
        "instructions", "recall", "item_thresholds", "items", "scoring",
    )  # fmt: skip
    instrument_id = _identifier(top, "id")
    items = tuple(_item(reader) for reader in top.children("items"))
    if not items:
        top.fail("an instrument needs at least one [[items]] block", "items")
    _check_item_ids(top, items)
    scoring_reader = top.child("scoring")
    if scoring_reader is None:
        top.fail('a [scoring] table is missing; write method = "none" if nothing is totalled')
    return Instrument(
        instrument_id=instrument_id,
        name=top.text("name"),
        short_name=top.text("short_name"),
        version=top.text("version"),
        source=top.text("source"),
        licence=top.text("licence"),
        acknowledgement=top.text("acknowledgement"),
        instructions=top.text("instructions", ""),
        recall=top.text("recall", ""),
        items=items,
        scoring=_scoring(scoring_reader, items),
        item_thresholds=_thresholds(top.child("item_thresholds")),
        path=path,
    )


def load_builtin_instruments() -> Mapping[str, Instrument]:
    """The instruments Hearth ships, by id, read from the package's data files."""
    found: dict[str, Instrument] = {}
    for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _add(found, entry.read_text(encoding="utf-8"), entry.name)
    return MappingProxyType(found)


def load_instruments(extra_dir: Path | None = None) -> Mapping[str, Instrument]:
    """The shipped instruments plus every ``*.toml`` in ``extra_dir``, by id.

    An extra file may not reuse a shipped id: replacing ESAS-r would modify a
    form its authors do not allow to be modified.
    """
    found = dict(load_builtin_instruments())
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise DataFileError("is not a directory of instrument files", path=str(extra_dir))
        for path in sorted(extra_dir.glob("*.toml")):
            _add(found, path.read_text(encoding="utf-8"), str(path))
    return MappingProxyType(found)


def _add(found: dict[str, Instrument], text: str, path: str) -> None:
    instrument = parse_instrument(text, path)
    previous = found.get(instrument.instrument_id)
    if previous is not None:
        DataSource(text, path).fail(
            f"instrument id '{instrument.instrument_id}' is already used by {previous.path}",
            ("id",),
        )
    found[instrument.instrument_id] = instrument


def _identifier(reader: TableReader, key: str) -> str:
    value = reader.text(key)
    if not _ID.match(value):
        reader.fail(
            f"'{key}' must be lower-case letters, digits and underscores, starting with a letter",
            key,
        )
    return value


def _item(reader: TableReader) -> Item:
    reader.allow_only(
        "id", "kind", "text", "definition", "required", "min", "max", "values", "anchors",
        "options", "max_length", "needs",
    )  # fmt: skip
    kind_text = reader.text("kind")
    try:
        kind = ItemKind(kind_text)
    except ValueError:
        allowed = ", ".join(k.value for k in ItemKind)
        reader.fail(f"item kind '{kind_text}' is unknown; expected one of: {allowed}", "kind")
    values = _values(reader, kind)
    options = tuple(_option(o) for o in reader.children("options"))
    if kind is ItemKind.CHOICE and not options:
        reader.fail("a choice item needs [[items.options]] blocks", "kind")
    if kind is not ItemKind.CHOICE and options:
        reader.fail("only a choice item has options", "options")
    if len({o.code for o in options}) != len(options):
        reader.fail("two options of this item share a code", "options")
    max_length: int | None = None
    if kind is ItemKind.TEXT:
        max_length = reader.integer("max_length")
        if not 1 <= max_length <= MAX_TEXT_LENGTH_CHARS:
            reader.fail(f"'max_length' must be from 1 to {MAX_TEXT_LENGTH_CHARS}", "max_length")
    elif reader.has("max_length"):
        reader.fail("only a text item has max_length", "max_length")
    anchors = tuple(_anchor(a) for a in reader.children("anchors"))
    for index, anchor in enumerate(anchors):
        if anchor.value not in values:
            reader.source.fail(
                f"anchor {anchor.value} is not one of the item's values",
                (*reader.where, "anchors", index),
            )
    return Item(
        item_id=_identifier(reader, "id"),
        kind=kind,
        text=reader.text("text"),
        definition=reader.text("definition", ""),
        required=reader.boolean("required", True),
        values=values,
        anchors=anchors,
        options=options,
        max_length_chars=max_length,
        needs=reader.texts("needs"),
    )


def _values(reader: TableReader, kind: ItemKind) -> tuple[Number, ...]:
    numeric = kind in (ItemKind.INTEGER, ItemKind.DECIMAL)
    if not numeric:
        for key in ("min", "max", "values"):
            if reader.has(key):
                reader.fail(f"only a numeric item has '{key}'", key)
        return ()
    if reader.has("values"):
        values = reader.numbers("values")
    elif kind is ItemKind.INTEGER:
        low, high = reader.integer("min"), reader.integer("max")
        if low >= high:
            reader.fail("'min' must be less than 'max'", "max")
        values = tuple(range(low, high + 1))
    else:
        reader.fail("a decimal item lists its allowed 'values'", "kind")
    if kind is ItemKind.INTEGER and not all(isinstance(v, int) for v in values):
        reader.fail("an integer item's values must be whole numbers", "values")
    if kind is ItemKind.DECIMAL:
        # Every answer of a decimal item is a Decimal, 1 as well as 0.5.
        values = tuple(Decimal(v) for v in values)
    if list(values) != sorted(set(values)):
        reader.fail("'values' must be listed from lowest to highest, without repeats", "values")
    return values


def _option(reader: TableReader) -> Option:
    reader.allow_only("code", "label", "score")
    score = reader.integer("score") if reader.has("score") else None
    return Option(code=_identifier(reader, "code"), label=reader.text("label"), score=score)


def _anchor(reader: TableReader) -> Anchor:
    reader.allow_only("value", "label")
    return Anchor(value=reader.number("value"), label=reader.text("label"))


def _check_item_ids(top: TableReader, items: tuple[Item, ...]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.item_id in seen:
            top.source.fail(f"item id '{item.item_id}' is used twice", ("items", index, "id"))
        seen.add(item.item_id)
    for index, item in enumerate(items):
        for needed in item.needs:
            if needed not in seen or needed == item.item_id:
                top.source.fail(
                    f"item '{item.item_id}' needs '{needed}', which is not another item here",
                    ("items", index, "needs"),
                )


def _scoring(reader: TableReader, items: tuple[Item, ...]) -> Scoring:
    reader.allow_only(
        "method", "items", "total_label", "subscores", "subscore_definition", "bands",
        "bands_validated", "bands_note",
    )  # fmt: skip
    method_text = reader.text("method")
    try:
        method = ScoringMethod(method_text)
    except ValueError:
        allowed = ", ".join(m.value for m in ScoringMethod)
        reader.fail(
            f"scoring method '{method_text}' is unknown; expected one of: {allowed}", "method"
        )
    by_id = {item.item_id: item for item in items}

    def scored_items(owner: TableReader, key: str) -> tuple[str, ...]:
        ids = owner.texts(key, required=True)
        for item_id in ids:
            item = by_id.get(item_id)
            if item is None:
                owner.fail(f"'{key}' names item '{item_id}', which is not in this file", key)
            # Only required, scored items can make a total, so a complete set
            # of answers always has one.
            if not (item.is_scored and item.required):
                owner.fail(f"item '{item_id}' is not a required item with a score", key)
        return ids

    if method is ScoringMethod.NONE:
        for key in ("items", "subscores", "bands"):
            if reader.has(key):
                reader.fail(f"method \"none\" has no '{key}'", key)
        return Scoring(method=method)
    subscores: list[Subscore] = []
    for sub in reader.children("subscores"):
        sub.allow_only("id", "label", "items")
        subscores.append(
            Subscore(
                subscore_id=_identifier(sub, "id"),
                label=sub.text("label"),
                items=scored_items(sub, "items"),
            )
        )
    bands = tuple(_band(b) for b in reader.children("bands"))
    for index in range(1, len(bands)):
        if bands[index].low <= bands[index - 1].high:
            reader.fail("bands must be listed from lowest to highest without overlap", "bands")
    return Scoring(
        method=method,
        items=scored_items(reader, "items"),
        total_label=reader.text("total_label"),
        subscores=tuple(subscores),
        subscore_definition=reader.text("subscore_definition", ""),
        bands=bands,
        bands_validated=reader.boolean("bands_validated", False),
        bands_note=reader.text("bands_note", ""),
    )


def _band(reader: TableReader) -> Band:
    reader.allow_only("code", "label", "min", "max")
    band = Band(
        code=_identifier(reader, "code"),
        label=reader.text("label"),
        low=reader.number("min"),
        high=reader.number("max"),
    )
    if band.low > band.high:
        reader.fail("a band's 'min' must not be above its 'max'", "max")
    return band


def _thresholds(reader: TableReader | None) -> Thresholds | None:
    if reader is None:
        return None
    reader.allow_only("moderate", "severe")
    thresholds = Thresholds(moderate=reader.integer("moderate"), severe=reader.integer("severe"))
    if not 1 <= thresholds.moderate <= thresholds.severe:
        reader.fail("thresholds need 1 <= moderate <= severe", "moderate")
    return thresholds

"""Reading clinician-edited TOML data files with line numbers in every error.

:mod:`tomllib` returns plain dicts without positions, so a small scan of the
text remembers on which line each table header and key starts. A refusal then
points the author at ``file:line`` rather than at "somewhere in the file".
The scan is deliberately simple (headers and ``key =`` lines, skipping
multi-line strings); when it cannot place a value it falls back to the
nearest enclosing key or table, which is still the right place to look.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from typing import NoReturn

from encounters.errors import DataFileError

Where = tuple[str | int, ...]
Number = int | Decimal

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+(?:\s*\.\s*[A-Za-z0-9_\-]+)*)\s*=")
_DECODE_LINE = re.compile(r"at line (\d+)")


class DataSource:
    """The text of one data file and where its tables and keys start."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self._lines: dict[Where, int] = {}
        self._scan(text)

    def _scan(self, text: str) -> None:
        array_counts: dict[Where, int] = {}
        current: Where = ()
        in_multiline = False
        for number, line in enumerate(text.splitlines(), start=1):
            # A line inside a multi-line string is text, not structure.
            quotes = line.count('"""') + line.count("'''")
            if in_multiline:
                in_multiline = quotes % 2 == 0
                continue
            if quotes % 2 == 1:
                in_multiline = True
            array = _ARRAY_HEADER.match(line)
            table = None if array else _TABLE_HEADER.match(line)
            if array or table:
                header = array or table
                assert header is not None
                parts = [p.strip() for p in header.group(1).split(".")]
                resolved: Where = ()
                for part in parts[:-1]:
                    resolved += (part,)
                    if resolved in array_counts:
                        resolved += (array_counts[resolved] - 1,)
                resolved += (parts[-1],)
                if array:
                    index = array_counts.get(resolved, 0)
                    array_counts[resolved] = index + 1
                    resolved += (index,)
                current = resolved
                self._lines.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                dotted = tuple(p.strip() for p in key.group(1).split("."))
                self._lines.setdefault(current + dotted, number)

    def line_of(self, where: Where) -> int | None:
        """The line of ``where``, or of its nearest enclosing key or table."""
        for end in range(len(where), 0, -1):
            line = self._lines.get(where[:end])
            if line is not None:
                return line
        return None

    def fail(self, message: str, where: Where = ()) -> NoReturn:
        raise DataFileError(message, path=self.path, line=self.line_of(where))


def parse_toml(text: str, path: str) -> tuple[TableReader, DataSource]:
    """Parse ``text``; a syntax error becomes a :class:`DataFileError` with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _DECODE_LINE.search(str(error))
        line = int(found.group(1)) if found else None
        raise DataFileError(f"is not valid TOML ({error})", path=path, line=line) from None
    source = DataSource(text, path)
    return TableReader(source, data, ()), source


def _describe_where(where: Where) -> str:
    return ".".join(str(part) if isinstance(part, str) else f"[{part + 1}]" for part in where)


class TableReader:
    """Typed access to one TOML table; every refusal names the key and its line."""

    def __init__(self, source: DataSource, table: Mapping[str, object], where: Where) -> None:
        self.source = source
        self.table = table
        self.where = where

    def fail(self, message: str, key: str | int | None = None) -> NoReturn:
        where = self.where if key is None else (*self.where, key)
        self.source.fail(message, where)

    def has(self, key: str) -> bool:
        return key in self.table

    def allow_only(self, *keys: str) -> None:
        """Refuse keys nobody reads: a typo would otherwise be silently ignored."""
        for key in self.table:
            if key not in keys:
                place = _describe_where(self.where) or "the top level"
                self.fail(
                    f"unknown key '{key}' in {place}; expected one of: {', '.join(keys)}", key
                )

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            self.fail(f"'{key}' is missing; it must be a non-empty text", key)
        if not isinstance(value, str) or (not value.strip() and default is None):
            self.fail(f"'{key}' must be a non-empty text in quotes", key)
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"'{key}' must be true or false", key)
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(f"'{key}' must be a whole number", key)
        return value

    def number(self, key: str) -> Number:
        return self._as_number(self.table.get(key), key, key)

    def _as_number(self, value: object, label: str, key: str | int) -> Number:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"'{label}' must be a number", key)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"'{label}' must be a finite number", key)
        # A TOML float such as 0.5 is read through its shortest text form so
        # that the stored value is the decimal the author wrote.
        return value if isinstance(value, int) else Decimal(repr(value))

    def texts(self, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.table.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f'\'{key}\' must be a list of non-empty texts, like ["a", "b"]', key)
        return tuple(value)

    def numbers(self, key: str) -> tuple[Number, ...]:
        value = self.table.get(key)
        if not isinstance(value, list) or not value:
            self.fail(f"'{key}' must be a non-empty list of numbers", key)
        return tuple(self._as_number(v, key, key) for v in value)

    def child(self, key: str) -> TableReader | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(f"'{key}' must be a table ([{key}])", key)
        return TableReader(self.source, value, (*self.where, key))

    def children(self, key: str) -> tuple[TableReader, ...]:
        value = self.table.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(f"'{key}' must be a list of tables ([[{key}]] blocks)", key)
        return tuple(
            TableReader(self.source, entry, (*self.where, key, index))
            for index, entry in enumerate(value)
        )

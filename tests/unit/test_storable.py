"""Values no database can store are found before they reach one, and a database's errors are
sorted into what the client can do about them."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import exc

from server.core.storable import (
    MAX_ID,
    MAX_JSON_DEPTH,
    find_unstorable,
    parse_id,
    storable_text,
)
from server.store.db import DatabaseFault, DatabaseUnavailableError, database_fault


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ({"name": "Win\x00ifred"}, "name", "NUL"),
        ({"name": "Win\ud800ifred"}, "name", "lone surrogate"),
        ({"name": "\udfff"}, "name", "lone surrogate"),
        ({"entry": {"items": {"worry": "a\x00"}}}, "entry.items.worry", "NUL"),
        ({"care_team": [1, {"name": "ok"}, {"name": "x\x00"}]}, "care_team.2.name", "NUL"),
        (["fine", "bad\x00"], "1", "NUL"),
        (json.loads('{"name": "\\ud800"}'), "name", "lone surrogate"),
    ],
)
def test_unstorable_text_is_found_with_its_field(value: object, field: str, words: str) -> None:
    problem = find_unstorable(value)
    assert problem is not None
    assert (problem.field, problem.code) == (field, "invalid_field")
    assert words in problem.message and field in problem.message


def test_the_first_problem_in_document_order_is_named() -> None:
    problem = find_unstorable({"a": "ok", "b": ["\x00"], "c": "\x00"})
    assert problem is not None and problem.field == "b.0"


def test_a_bad_key_names_the_object_it_is_in() -> None:
    problem = find_unstorable({"entry": {"it\x00ems": 1}})
    assert problem is not None and problem.field == "entry"
    assert "field name" in problem.message
    top = find_unstorable({"\ud800": 1})
    assert top is not None and top.field is None


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Winifred 😀 Ünïcödé", "n": 1, "x": 1.5, "t": True, "none": None},
        json.loads('"\\ud83d\\ude00 is a pair: the JSON decoder makes one character of it"'),
        [[[[["deep but not too deep"]]]]],
        {"tab\tand\nnewline": "control characters other than NUL are stored"},
    ],
)
def test_storable_values_pass(value: object) -> None:
    assert find_unstorable(value) is None


def test_nesting_is_bounded_without_recursion() -> None:
    ok: object = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        ok = [ok]
    assert find_unstorable(ok) is None
    too_deep: object = "leaf"
    for _ in range(MAX_JSON_DEPTH + 1):
        too_deep = {"k": too_deep}
    problem = find_unstorable(too_deep)
    assert problem is not None and problem.code == "too_deep"
    very_deep: object = []
    for _ in range(100_000):  # far past Python's recursion limit
        very_deep = [very_deep]
    assert find_unstorable(very_deep) is not None


def test_storable_text_replaces_what_cannot_be_stored() -> None:
    assert storable_text("Moz\udcffilla\x00/5.0") == "Moz\ufffdilla\ufffd/5.0"
    assert storable_text("Mozilla/5.0 😀") == "Mozilla/5.0 😀"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0", 0),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999", None),
        ("²", None),  # "²".isdigit() is true; int("²") raises
        ("١٢", None),  # Arabic-Indic digits
        ("", None),
        ("-1", None),
        ("1e3", None),
        ("0" * 40 + "1", None),
    ],
)
def test_ids_in_urls_are_ascii_and_fit_an_integer_column(raw: str, value: int | None) -> None:
    assert parse_id(raw) == value


class _PgError(Exception):
    """asyncpg's errors, as SQLAlchemy's adapter hands them on: a SQLSTATE attribute."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__("message")
        self.sqlstate = sqlstate


def _dbapi(orig: Exception, cls: type[exc.DBAPIError] = exc.DBAPIError) -> exc.DBAPIError:
    return cls("SELECT 1", {"name": "Winifred"}, orig)


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (_dbapi(sqlite3.IntegrityError("UNIQUE"), exc.IntegrityError), DatabaseFault.CONFLICT),
        (_dbapi(_PgError("23505")), DatabaseFault.CONFLICT),
        (_dbapi(sqlite3.DataError("x"), exc.DataError), DatabaseFault.BAD_VALUE),
        (_dbapi(_PgError("22021")), DatabaseFault.BAD_VALUE),  # NUL in text
        (_dbapi(_PgError("22003")), DatabaseFault.BAD_VALUE),  # numeric out of range
        (_dbapi(_PgError("22000")), DatabaseFault.BAD_VALUE),  # asyncpg: argument unencodable
        (_dbapi(_PgError("57014")), DatabaseFault.UNAVAILABLE),  # statement_timeout
        (_dbapi(_PgError("53300")), DatabaseFault.UNAVAILABLE),  # too many connections
        (_dbapi(_PgError("40001")), DatabaseFault.UNAVAILABLE),  # serialization failure
        (_dbapi(_PgError("42601"), exc.ProgrammingError), DatabaseFault.UNAVAILABLE),
        (
            _dbapi(sqlite3.OperationalError("database is locked"), exc.OperationalError),
            DatabaseFault.UNAVAILABLE,
        ),
        (_dbapi(Exception("closed"), exc.InterfaceError), DatabaseFault.UNAVAILABLE),
        (_dbapi(Exception("anything")), DatabaseFault.UNAVAILABLE),
        (exc.TimeoutError("QueuePool limit reached"), DatabaseFault.UNAVAILABLE),
        (TimeoutError(), DatabaseFault.UNAVAILABLE),
        (ConnectionRefusedError(), DatabaseFault.UNAVAILABLE),
        (DatabaseUnavailableError(), DatabaseFault.UNAVAILABLE),
        (exc.InvalidRequestError("a bug"), None),
        (ValueError("not the database"), None),
    ],
)
def test_database_errors_are_sorted_by_what_the_client_can_do(
    error: BaseException, fault: DatabaseFault | None
) -> None:
    assert database_fault(error) is fault

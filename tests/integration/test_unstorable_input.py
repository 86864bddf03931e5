"""Input no database can store (a NUL, a lone surrogate), JSON nested without end and ids
out of an INTEGER's range are refused with a clear error that names the field: never a 500,
never half-stored, never written to the log. And a database's own errors become 409, 422 or
503 with only their class in the log."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import exc, func, select, text

from server.edge.errors import error_middleware
from server.services.readings import Enterer, accept_message
from server.store.between_visits import DiaryEntry
from server.store.db import DatabaseUnavailableError
from server.store.models import AuditEvent, Patient, Reading
from tests.builders import PASSWORD, World
from tests.integration.test_between_visits import diary_token, entry

SECRET = "Uniquename"
# As a JSON text: the lone surrogate cannot even be written into a Python str sent as JSON
# by a careful client, but any client can write the six characters \ud800.
NUL = "\\u0000"
LONE_SURROGATE = "\\ud800"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the log received: messages, their arguments and any traceback."""
    return caplog.text + "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)


async def count(db: Any, model: Any, *where: Any) -> int:
    async with db.begin() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def post_raw(agent: Any, path: str, body: str) -> tuple[int, Any]:
    return await agent.call(
        "POST", path, data=body.encode(), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE])
async def test_a_patient_name_a_database_cannot_store_is_refused_naming_the_field(
    client, world: World, db, caplog, bad: str
) -> None:
    caplog.set_level(logging.DEBUG)
    coordinator = await world.agent("coord_a")
    care_team = [world.users["clin_a"].id, world.users["coord_a"].id]
    body = (
        f'{{"name": "Win{bad}ifred {SECRET}", "birth_date": "1931-07-04", '
        f'"care_team": {json.dumps(care_team)}}}'
    )
    status, answer = await post_raw(coordinator, "/api/patients", body)
    assert status == 422, answer
    assert answer["code"] == "invalid_field" and answer["field"] == "name"
    assert "'name'" in answer["error"] and SECRET not in answer["error"]
    assert await count(db, Patient, Patient.name.contains(SECRET)) == 0
    assert SECRET not in logged(caplog)


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE])
async def test_a_diary_entry_a_database_cannot_store_is_refused_naming_the_field(
    client, world: World, db, clock, caplog, bad: str
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await diary_token(world)
    made = entry("e1", clock.now(), pain=3, worry="placeholder")
    body = json.dumps({"token": token, "entry": made}).replace(
        '"placeholder"', f'"my {SECRET} {bad} worry"'
    )
    status, answer = await post_raw(await world.agent(), "/api/diary", body)
    assert status == 422, answer
    assert answer["code"] == "invalid_field" and answer["field"] == "entry.items.worry"
    assert await count(db, DiaryEntry) == 0
    assert SECRET not in logged(caplog)
    # The same entry without it is stored: the refusal was about that one character.
    status, answer = await (await world.agent()).call(
        "POST", "/api/diary", {"token": token, "entry": made}
    )
    assert status == 201, answer


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("[" * 5000 + "]" * 5000, 422, "too_deep"),  # past Python's recursion limit
        ('{"name": ' + "[" * 40 + "]" * 40 + "}", 422, "too_deep"),
        ('{"name": NaN, "birth_date": "1931-07-04", "care_team": [1]}', 400, "malformed_json"),
        (
            '{"name": "x", "birth_date": "1931-07-04", "care_team": [' + "9" * 5000 + "]}",
            400,
            "malformed_json",
        ),
        ('{"name": "Win\xffifred"}', 400, "malformed_json"),
    ],
    ids=["recursion", "deep", "nan", "huge-number", "latin-1"],
)
async def test_json_no_database_could_take_is_a_clear_error(
    client, world: World, db, caplog, body: str, status: int, code: str
) -> None:
    caplog.set_level(logging.DEBUG)
    coordinator = await world.agent("coord_a")
    before = await count(db, Patient)
    answer_status, answer = await coordinator.call(
        "POST",
        "/api/patients",
        data=body.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    assert (answer_status, answer["code"]) == (status, code), answer
    assert await count(db, Patient) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/patients?q=Win%00ifred", 422, "q"),
        ("/api/users?role=admin%00", 422, "role"),
        ("/api/audit?cursor=99999999999", 422, "cursor"),
        ("/api/patients/99999999999", 404, None),  # PostgreSQL: out of INTEGER's range
        ("/api/patients/%C2%B2", 404, None),  # "²".isdigit(), but int("²") fails
    ],
)
async def test_urls_a_database_cannot_take_are_refused(
    client, world: World, caplog, path: str, status: int, field: str | None
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await world.agent("admin")
    answer_status, answer = await admin.call("GET", path)
    assert answer_status == status, answer
    assert answer.get("field") == field
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_reading_with_a_device_name_a_database_cannot_store_is_refused(
    client, world: World, db, clock, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    encounter = world.encounters["a"]
    reading = {
        "id": "r-1",
        "kind": "spo2",
        "value": 95,
        "unit": "%",
        "taken_at": clock.now().isoformat(),
        "source": "simulator",
        "device": {"model": f"Oxi {SECRET} \x00", "id": "d1"},
    }
    # Over HTTP, as a clinician's manual entry ...
    nurse = await world.agent("clin_a")
    status, answer = await nurse.call("POST", f"/api/encounters/{encounter.id}/readings", reading)
    assert (status, answer["code"], answer["field"]) == (422, "invalid_field", "device.model")
    # ... and on the visit's data channel, where the reply is a nack naming it.
    outcome = await accept_message(
        db,
        clock,
        encounter_id=encounter.id,
        who=Enterer(world.users["clin_a"].id, None, "clinician"),
        text=json.dumps(reading),
    )
    assert outcome.reply["nack"] == "r-1" and outcome.reply["code"] == "invalid_field"
    assert outcome.reply["field"] == "device.model"
    assert await count(db, Reading) == 0
    assert SECRET not in logged(caplog)


async def test_a_user_agent_that_is_not_utf8_is_recorded_not_fatal(
    client, world: World, db
) -> None:
    # aiohttp reads a header byte that is not UTF-8 as a lone surrogate; the audit row of the
    # login used to carry it to the database, which failed the login with a 500.
    body = json.dumps({"email": "clin_a@hearth.test", "password": PASSWORD}).encode()
    request = (
        b"POST /api/session HTTP/1.1\r\nHost: hearth.test\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        b"User-Agent: Moz\xffilla/5.0\r\n\r\n" + body
    )
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"200", status_line
    async with db.begin() as s:
        agents = (
            await s.scalars(select(AuditEvent.user_agent).where(AuditEvent.action == "login"))
        ).all()
    assert "Moz\ufffdilla/5.0" in agents


async def test_bound_parameters_never_appear_in_a_database_error(client, world: World, db) -> None:
    # Errors are logged; the values of a statement are patient data.
    with pytest.raises(exc.DBAPIError) as raised:
        async with db.begin() as s:
            await s.execute(text("SELECT * FROM no_such_table WHERE name = :n"), {"n": SECRET})
    assert SECRET not in str(raised.value)


# -- the middleware's answer to each kind of database error ----------------------------------


class _PgError(Exception):
    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _dbapi(cls: type[exc.DBAPIError], orig: Exception) -> exc.DBAPIError:
    # As SQLAlchemy raises them: the statement and its parameters ride along.
    return cls(f"UPDATE patients SET name = :name -- {SECRET}", {"name": SECRET}, orig)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            _dbapi(exc.IntegrityError, _PgError("23505", f"Key (name)=({SECRET}) exists")),
            409,
            "conflict",
        ),
        (
            _dbapi(exc.DataError, _PgError("22001", f"value too long: {SECRET}")),
            422,
            "invalid_value",
        ),
        (
            _dbapi(exc.DBAPIError, _PgError("22000", f"invalid input for $1: '{SECRET}\\x00'")),
            422,
            "invalid_value",
        ),
        (
            _dbapi(exc.DBAPIError, _PgError("57014", "statement timeout")),
            503,
            "database_unavailable",
        ),
        (_dbapi(exc.OperationalError, _PgError("08006", SECRET)), 503, "database_unavailable"),
        (_dbapi(exc.InterfaceError, Exception(SECRET)), 503, "database_unavailable"),
        (_dbapi(exc.ProgrammingError, _PgError("42601", SECRET)), 503, "database_unavailable"),
        (_dbapi(exc.DBAPIError, Exception(SECRET)), 503, "database_unavailable"),
        (exc.TimeoutError(f"QueuePool limit {SECRET}"), 503, "database_unavailable"),
        (TimeoutError(SECRET), 503, "database_unavailable"),
        (DatabaseUnavailableError(SECRET), 503, "database_unavailable"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
async def test_each_database_error_has_its_status_and_logs_only_its_class(
    caplog, error: BaseException, status: int, code: str
) -> None:
    caplog.set_level(logging.DEBUG)

    async def handler(request: web.Request) -> web.Response:
        raise error

    async def page(request: web.Request, status: int, message: str) -> web.Response:
        return web.Response(status=status, text=message)

    app = web.Application(middlewares=[error_middleware(page)])
    app.router.add_get("/api/thing", handler)
    async with TestClient(TestServer(app)) as http:
        response = await http.get("/api/thing")
        body = await response.json()
    assert (response.status, body["code"]) == (status, code)
    assert set(body) == {"error", "code"}
    if status == 503:
        assert response.headers["Retry-After"] == "5"
    assert caplog.records
    assert SECRET not in logged(caplog)
    assert type(error).__name__ in logged(caplog)


async def test_a_database_error_on_a_page_is_a_page(caplog) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise exc.OperationalError("SELECT 1", {}, Exception("gone"))

    async def page(request: web.Request, status: int, message: str) -> web.Response:
        return web.Response(status=status, text=f"page: {message}")

    app = web.Application(middlewares=[error_middleware(page)])
    app.router.add_get("/visits", handler)
    async with TestClient(TestServer(app)) as http:
        response = await http.get("/visits")
        assert response.status == 503 and (await response.text()).startswith("page: ")
        assert response.headers["Retry-After"] == "5"

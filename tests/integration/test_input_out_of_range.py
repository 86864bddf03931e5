"""Input that once ended in a 500, each now refused with the field or parameter named: ids
that are digits to ``str.isdigit`` but not to ``int`` ("²"), ids past what an INTEGER column
holds (in a path, a query and a body), times out of any range a visit could be in (in a query
and a body), a body that does not decompress, and a Socket.IO id of 2**70."""

from __future__ import annotations

import gzip
import logging
from typing import Any

import pytest

from server.core.storable import MAX_ID
from tests.builders import World
from tests.visit_clients import VisitClient

TWENTY_THREE_DIGITS = "9" * 23


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "path",
    [
        "/api/patients/%C2%B2",  # "²"
        f"/api/patients/{TWENTY_THREE_DIGITS}",
        f"/api/patients/{MAX_ID + 1}",  # fits 12 digits, not PostgreSQL's INTEGER
        "/api/encounters/%C2%B2%C2%B3/links",
    ],
    ids=["superscript", "23-digits", "max-plus-one", "superscripts-in-a-sub-path"],
)
async def test_an_id_in_the_path_that_no_row_can_have_is_not_found(
    client, world: World, caplog, path: str
) -> None:
    caplog.set_level(logging.INFO)
    admin = await world.agent("admin")
    status, answer = await admin.call("GET", path)
    assert (status, answer["code"]) == (404, "not_found"), answer
    assert not errors_logged(caplog)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/encounters?clinician_id=%C2%B2", "clinician_id"),
        (f"/api/encounters?patient_id={TWENTY_THREE_DIGITS}", "patient_id"),
        ("/api/drills?patient_id=%C2%B2", "patient_id"),
        (f"/api/drills?patient_id={TWENTY_THREE_DIGITS}", "patient_id"),
        (f"/api/drill-trends?patient_id={TWENTY_THREE_DIGITS}", "patient_id"),
        ("/api/drill-trends?patient_id=%C2%B2", "patient_id"),
        (f"/api/audit?actor_id={MAX_ID + 1}", "actor_id"),
    ],
)
async def test_an_id_in_the_query_that_no_row_can_have_is_refused_by_name(
    client, world: World, caplog, path: str, field: str
) -> None:
    caplog.set_level(logging.INFO)
    who = await world.agent("admin" if path.startswith("/api/audit") else "coord_a")
    status, answer = await who.call("GET", path)
    assert (status, answer["field"]) == (422, field), answer
    assert not errors_logged(caplog)


@pytest.mark.parametrize("patient_id", [10**22, MAX_ID + 1, 0])
async def test_an_id_in_a_body_that_no_row_can_have_is_refused_by_name(
    client, world: World, caplog, patient_id: int
) -> None:
    caplog.set_level(logging.INFO)
    coordinator = await world.agent("coord_a")
    _, scenarios = await coordinator.call("GET", "/api/scenarios")
    status, answer = await coordinator.call(
        "POST",
        "/api/drills",
        {
            "patient_id": patient_id,
            "clinician_id": world.users["clin_a"].id,
            "scenario_id": scenarios["items"][0]["id"],
        },
    )
    assert (status, answer["field"]) == (422, "patient_id"), answer
    assert not errors_logged(caplog)


@pytest.mark.parametrize(
    ("path", "field", "code"),
    [
        # Past the last time Python can hold once converted to UTC.
        ("/api/encounters?from=9999-12-31T23:00-05:00", "from", "out_of_range"),
        # Converts, but the day after it does not exist.
        ("/api/encounters?from=9999-12-31T12:00Z", "from", "out_of_range"),
        ("/api/encounters?from=2026-03-01T09:00Z&to=0001-01-01T00:00%2B01:00", "to", None),
        ("/api/encounters?from=2026-03-01T09:00", "from", "naive_datetime"),
        ("/api/slots?kind=video_visit&patient_id={patient}&from=9999-12-31", "from", None),
        ("/api/slots?kind=video_visit&patient_id={patient}&from=0001-01-01", "from", None),
        ("/api/patients/{patient}/readings?since=0001-01-01T00:00%2B01:00", "since", None),
        ("/api/patients/{patient}/readings?since=2026-03-01", "since", "naive_datetime"),
    ],
)
async def test_a_date_in_the_query_out_of_range_is_refused_by_name(
    client, world: World, caplog, path: str, field: str, code: str | None
) -> None:
    caplog.set_level(logging.INFO)
    coordinator = await world.agent("coord_a")
    status, answer = await coordinator.call("GET", path.format(patient=world.patients["a"].id))
    assert (status, answer["field"]) == (422, field), answer
    assert answer["code"] == (code or "out_of_range")
    assert not errors_logged(caplog)


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:30:00Z", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"]
)
async def test_a_time_in_a_body_out_of_range_is_refused_by_name(
    client, world: World, caplog, when: str
) -> None:
    caplog.set_level(logging.INFO)
    coordinator = await world.agent("coord_a")
    admin = await world.agent("admin")
    clinician_id = world.users["clin_a"].id
    for who, method, path, body, field in [
        (
            coordinator,
            "POST",
            "/api/encounters",
            {
                "patient_id": world.patients["a"].id,
                "clinician_id": clinician_id,
                "kind": "video_visit",
                "starts_at": when,
                "duration_minutes": 30,
            },
            "starts_at",
        ),
        (
            coordinator,
            "POST",
            f"/api/encounters/{world.encounters['a'].id}/reschedule",
            {"starts_at": when},
            "starts_at",
        ),
        (
            admin,
            "PUT",
            f"/api/clinicians/{clinician_id}/availability",
            {"time_off": [{"starts_at": "2026-03-03T09:00Z", "ends_at": when}]},
            "time_off.0.ends_at",
        ),
    ]:
        status, answer = await who.call(method, path, body)
        assert (status, answer.get("field")) == (422, field), (path, answer)
    assert not errors_logged(caplog)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"this was never gzip"),
        ("gzip", gzip.compress(b'{"name": "Winifred"}')[:-12] + b"\x00" * 12),  # bad checksum
        ("deflate", b"nor deflate"),
    ],
    ids=["not-gzip", "gzip-bad-checksum", "not-deflate"],
)
async def test_a_body_that_does_not_decompress_is_a_bad_request(
    client, world: World, caplog, encoding: str, body: bytes
) -> None:
    caplog.set_level(logging.INFO)
    coordinator = await world.agent("coord_a")
    status, answer = await coordinator.call(
        "POST",
        "/api/patients",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert (status, answer["code"]) == (400, "malformed_body"), answer
    assert not errors_logged(caplog)


async def test_a_gzip_body_that_decompresses_is_read(client, world: World) -> None:
    coordinator = await world.agent("coord_a")
    status, answer = await coordinator.call(
        "POST",
        "/api/patients",
        data=gzip.compress(b'{"name": "Winifred"}'),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    # Read and validated: the missing fields are named, so the body was understood.
    assert (status, answer["code"]) == (422, "invalid_field"), answer


@pytest.mark.parametrize("encounter_id", [2**70, MAX_ID + 1, -1])
async def test_a_socket_id_no_row_can_have_is_a_bad_request(
    world: World, caplog, encounter_id: int
) -> None:
    caplog.set_level(logging.INFO)
    nurse = VisitClient(await world.agent("clin_a"))
    await nurse.connect()
    try:
        reply: Any = await nurse.call("join", {"encounter_id": encounter_id})
        assert reply["code"] == "bad_request" and "encounter_id" in reply["error"], reply
        # The socket is still good for a real visit.
        assert (await nurse.join(world.encounters["a"].id))["state"] == "admitted"
    finally:
        await nurse.close()
    assert not errors_logged(caplog)

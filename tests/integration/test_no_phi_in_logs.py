"""No patient data, token or password in any log record while people use Hearth."""

from __future__ import annotations

import logging

import pytest

from tests.builders import PASSWORD


async def test_a_whole_session_of_use_logs_no_patient_data(client, world, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    coordinator = await world.agent("coord_a")
    status, patient = await coordinator.call(
        "POST",
        "/api/patients",
        {
            "name": "Winifred Uniquename",
            "birth_date": "1931-07-04",
            "care_team": [world.users["clin_a"].id, world.users["coord_a"].id],
        },
    )
    assert status == 201
    await coordinator.call(
        "POST",
        f"/api/patients/{patient['id']}/family",
        {"name": "Horace Uniquename", "relationship": "husband", "phone": "+44 7700 900123"},
    )
    await coordinator.call("GET", f"/api/patients/{patient['id']}")
    status, visit = await coordinator.call(
        "POST",
        "/api/encounters",
        {
            "patient_id": patient["id"],
            "clinician_id": world.users["clin_a"].id,
            "starts_at": "2026-03-02T15:00:00Z",
            "duration_minutes": 30,
            "kind": "video_visit",
        },
    )
    token = visit["family_link"].rsplit("/", 1)[1]
    family = await world.agent()
    await client.get(f"/join/{token}")
    await family.call("POST", "/api/join", {"token": token, "display_name": "Horace"})
    await family.call("GET", f"/api/encounters/{visit['id']}")
    await (await world.agent()).call(
        "POST", "/api/session", {"email": "clin_a@hearth.test", "password": "wrong " + PASSWORD}
    )
    await coordinator.call("GET", "/api/patients/999")
    await coordinator.call("POST", "/api/patients", data=b"{broken")
    logged = "\n".join(record.getMessage() + repr(record.args) for record in caplog.records)
    assert caplog.records, "the requests above should have been logged"
    for secret in ("Uniquename", "1931-07-04", "+44 7700 900123", token, PASSWORD, "Horace"):
        assert secret not in logged


@pytest.mark.parametrize("path", ["/join/{token}", "/join/{token}?x=1"])
async def test_the_access_log_shows_the_route_not_the_token(client, world, caplog, path) -> None:
    caplog.set_level(logging.INFO, logger="hearth.access")
    await client.get(path.format(token=world.tokens["a"]))
    lines = [r.getMessage() for r in caplog.records if r.name == "hearth.access"]
    assert any("/join/{token}" in line for line in lines)
    assert not any(world.tokens["a"] in line for line in lines)

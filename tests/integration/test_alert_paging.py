"""Issue 8: alerts page the people on the tier by email (a real local SMTP server), and the
in-call band alerts use the patient's own care-plan bands."""

from __future__ import annotations

import json
import uuid

from server.services.context import SERVICES
from server.services.escalation import ALERTS
from server.services.readings import Enterer, accept_message
from tests.builders import World
from tests.integration.test_between_visits import diary_token, entry, ladder_plan
from tests.integration.test_reminders_and_calendars import (  # noqa: F401 - fixtures
    Mailbox,
    mailbox,
    settings,
)


async def test_new_alert_emails_tier_one_and_escalation_emails_tier_two(
    client,
    world: World,
    clock,
    mailbox: Mailbox,  # noqa: F811 - the fixture
) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    status, _ = await clin.call(
        "PUT", f"/api/patients/{patient_id}/care-plan", {"plan": ladder_plan(world)}
    )
    assert status == 200
    token = await diary_token(world)
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=9)}
    )
    assert status == 201
    service = client.app[ALERTS]
    await service.drain()
    assert mailbox.recipients == [["clin_a@hearth.test"]]
    body = mailbox.messages[0].get_payload()
    # A page names no patient and no symptom: only that an alert waits, and where.
    assert "Patient A" not in body and "Pain" not in body and "/alerts" in body
    clock.advance(minutes=15)
    assert await service.run_due(clock.now()) == 1
    await service.drain()
    assert mailbox.recipients[1:] == [["coord_a@hearth.test"]]


async def test_in_call_band_alerts_follow_the_care_plan_bands(client, world: World, clock) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    plan = ladder_plan(world) | {"vital_bands": {"spo2": {"unit": "%", "low": 94}}}
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    svc = client.app[SERVICES]
    clock.set(world.encounters["a"].starts_at)
    message = {
        "id": str(uuid.uuid4()),
        "kind": "spo2",
        "value": 92,
        "unit": "%",
        "taken_at": clock.now().isoformat(),
        "source": "manual",
    }
    outcome = await accept_message(
        svc.db,
        svc.clock,
        encounter_id=world.encounters["a"].id,
        who=Enterer(world.users["clin_a"].id, None, "clinician"),
        text=json.dumps(message),
    )
    assert outcome.reply == {"ack": message["id"]}
    # 92 % is inside the default home band (>= 90) but under this patient's own limit of 94.
    assert [a["parameter"] for a in outcome.alerts] == ["spo2"]

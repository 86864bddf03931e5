"""A new alert pages the people on its tier by email, through a real SMTP server (aiosmtpd),
with neither the patient's name nor the symptom in the message."""

from __future__ import annotations

import asyncio

from tests.integration.test_reminders_and_calendars import (  # noqa: F401 - fixtures
    Mailbox,
    mailbox,
    settings,
)


async def test_a_new_alert_emails_the_named_person_on_tier_one(
    world,
    clock,
    mailbox,  # noqa: F811 - the fixture imported above
) -> None:
    nurse = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    plan_url = f"/api/patients/{patient_id}/care-plan"
    status, current = await nurse.call("GET", plan_url)
    assert status == 200
    tiers = current["plan"]["escalation_ladder"]["tiers"]
    tiers[0] = {**tiers[0], "user_id": str(world.users["clin_a"].id), "role": None}
    plan = current["plan"] | {"escalation_ladder": {"tiers": tiers}}
    status, body = await nurse.call(
        "PUT", plan_url, {"plan": plan, "base_version": current["version"]}
    )
    assert status in (200, 201), body
    status, link = await nurse.call("POST", f"/api/patients/{patient_id}/diary-links")
    token = link["diary_link"].rsplit("/", 1)[1]
    family = await world.agent()
    status, body = await family.call(
        "POST",
        "/api/diary",
        {
            "token": token,
            "entry": {
                "client_id": "e-1",
                "recorded_at": clock.now().isoformat(),
                "items": {"pain": 9},
            },
        },
    )
    assert status == 201, body
    for _ in range(100):
        if mailbox.messages:
            break
        await asyncio.sleep(0.05)
    assert mailbox.recipients == [["clin_a@hearth.test"]]
    message = mailbox.messages[0]
    text = message.get_payload() if not message.is_multipart() else message.get_payload(0)
    body_text = str(text) + str(message["Subject"])
    assert "alert" in body_text.lower()
    for private in ("Patient A", "pain", "Pain", "9/10"):
        assert private not in body_text

"""One diary entry that crosses several rules is one alert in the coordinator's queue,
carrying every reason; a later entry with a finding it covers adds nothing while it is open."""

from __future__ import annotations

from tests.builders import World
from tests.integration.test_between_visits import diary_token, entry


async def test_one_entry_raises_one_alert_with_every_reason(world: World, clock) -> None:
    token = await diary_token(world)
    family = await world.agent()
    status, body = await family.call(
        "POST",
        "/api/diary",
        {"token": token, "entry": entry("e1", clock.now(), pain=8, breathlessness=9, mood=5)},
    )
    assert status == 201, body
    coordinator = await world.agent("coord_a")
    status, queue = await coordinator.call("GET", "/api/alerts")
    assert status == 200
    (alert,) = queue["items"]
    assert alert["severity"] == "high"
    for reason in ("Pain 8/10", "Breathlessness 9/10", "Low mood 5/10"):
        assert reason in alert["summary"]

    clock.advance(minutes=10)
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e2", clock.now(), mood=5)}
    )
    assert status == 201
    status, queue = await coordinator.call("GET", "/api/alerts")
    assert len(queue["items"]) == 1  # mood 5 again is covered by the open alert

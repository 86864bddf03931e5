"""Alert actions answer alike for an alert that exists and one that does not, so nobody can
learn which alert ids exist (and so which patients have trouble) by probing."""

from __future__ import annotations

import pytest

from tests.builders import World
from tests.integration.test_between_visits import diary_token, entry

MISSING_ID = 999_999


@pytest.mark.parametrize(
    ("who", "action", "body"),
    [
        ("clin_a", "reassign", {"to_user_id": 1, "reason": "x"}),  # may not reassign at all
        ("clin_b", "reassign", {"to_user_id": 1, "reason": "x"}),
        ("coord_b", "reassign", {"to_user_id": 1, "reason": "x"}),  # another team's alert
        ("sched", "acknowledge", None),
        ("admin", "resolve", {"outcome": "settled"}),
        ("coord_b", "acknowledge", None),
    ],
)
async def test_an_existing_alert_and_a_missing_one_answer_alike(
    world: World, clock, who, action, body
) -> None:
    token = await diary_token(world)
    family = await world.agent()
    status, _ = await family.call(
        "POST", "/api/diary", {"token": token, "entry": entry("e1", clock.now(), pain=8)}
    )
    assert status == 201
    coordinator = await world.agent("coord_a")
    status, queue = await coordinator.call("GET", "/api/alerts")
    (alert,) = queue["items"]
    prober = await world.agent(who)
    answers = []
    for alert_id in (alert["id"], MISSING_ID):
        status, reply = await prober.call("POST", f"/api/alerts/{alert_id}/{action}", body)
        answers.append((status, reply["code"]))
    assert answers[0] == answers[1] and answers[0][0] in (403, 404)

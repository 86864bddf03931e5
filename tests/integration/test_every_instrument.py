"""Every instrument of every shipped visit template, answered and completed through the API
as a clinician would, and read back: none may be refused for a reason of Hearth's own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from encounters.instruments.model import Instrument, ItemKind
from server.services.templates import templates
from tests.integration.test_between_visits import ladder_plan
from tests.integration.test_visit_workflow import event

USES = [
    (template.template_id, step.step_id, use)
    for template in templates().values()
    for step in template.steps
    for use in step.instruments
]


def full_answers(instrument: Instrument) -> dict[str, object]:
    """An answer to every item: the highest score where there is one, so that any threshold
    the instrument has is crossed."""
    answers: dict[str, object] = {}
    for item in instrument.items:
        if item.kind is ItemKind.INTEGER:
            answers[item.item_id] = int(item.values[-1])
        elif item.kind is ItemKind.DECIMAL:
            value = item.values[-1]
            answers[item.item_id] = float(value) if isinstance(value, Decimal) else value
        elif item.kind is ItemKind.CHOICE:
            answers[item.item_id] = item.options[-1].code
        elif item.kind is ItemKind.BOOLEAN:
            answers[item.item_id] = True
        else:
            answers[item.item_id] = "Daughter"
    return answers


IDENTITY = {
    "name_confirmed": True,
    "birth_date_confirmed": True,
    "method": "known_to_clinician",
    "location": "At home",
}
CONSENT = {
    "video_visit": True,
    "consenter": "patient",
    "recording": False,
    "share_with_family": True,
    "privacy_explained": True,
}


async def _started_visit(world) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    """A visit of patient A started, its identity and consent steps done."""
    nurse = await world.agent("clin_a")
    url = f"/api/encounters/{world.encounters['a'].id}/events"
    for step in (event("start"), event("complete", "identity", answers=IDENTITY)):
        status, body = await nurse.call("POST", url, step)
        assert status == 200, body
    status, body = await nurse.call("POST", url, event("complete", "consent", answers=CONSENT))
    assert status == 200, body
    return nurse, url


@pytest.mark.parametrize(
    ("template_id", "step_id", "use"), USES, ids=[f"{t}:{u.key}" for t, _s, u in USES]
)
async def test_each_instrument_is_answered_completed_and_read_back(
    world, template_id, step_id, use
) -> None:
    assert world.encounters["a"].template == template_id
    nurse, url = await _started_visit(world)
    answers = full_answers(use.instrument)
    step = next(s for s in templates()[template_id].steps if s.step_id == step_id)
    # The step's required instruments too, so that it can be completed.
    given = {u.key: full_answers(u.instrument) for u in step.instruments if u.required}
    given[use.key] = answers
    for key, value in given.items():
        status, body = await nurse.call("POST", url, event("answer", step_id, answers={key: value}))
        assert status == 200, body
    status, body = await nurse.call(
        "POST", url, event("complete", step_id, answers={"answered_by": "patient"})
    )
    assert status == 200, body
    step = next(s for s in body["state"]["steps"] if s["step"] == step_id)
    assert step["status"] == "completed"
    assert set(step["answers"][use.key]) == set(answers)
    status, read = await nurse.call("GET", f"/api/encounters/{world.encounters['a'].id}")
    assert status == 200, read
    rows = (read["comparison"] or {}).get(use.key, [])
    numbered = [i.item_id for i in use.instrument.items if i.kind is ItemKind.INTEGER]
    assert [row["item_id"] for row in rows] == numbered
    for row in rows:
        if use.instrument.item_thresholds is None:
            assert row["severity"] == "not_rated" and not row["is_moderate_or_worse"]


async def test_the_visit_flags_at_the_patients_own_thresholds(world) -> None:
    clin = await world.agent("clin_a")
    patient_id = world.patients["a"].id
    plan = ladder_plan(world) | {"symptom_thresholds": {"pain": {"moderate": 2, "severe": 3}}}
    status, body = await clin.call("PUT", f"/api/patients/{patient_id}/care-plan", {"plan": plan})
    assert status == 200, body
    nurse, url = await _started_visit(world)
    status, body = await nurse.call(
        "POST", url, event("answer", "assessment", answers={"esas": {"pain": 3, "nausea": 3}})
    )
    assert status == 200, body
    flags = {row["item_id"]: row for row in body["comparison"]["esas"]}
    # Pain 3 is severe under this patient's plan; nausea 3 stays mild under the defaults.
    assert flags["pain"]["severity"] == "severe" and flags["pain"]["is_severe"]
    assert flags["nausea"]["severity"] == "mild" and not flags["nausea"]["is_moderate_or_worse"]


async def test_a_threshold_of_zero_is_refused_by_the_care_plan(world) -> None:
    clin = await world.agent("clin_a")
    plan = ladder_plan(world) | {"symptom_thresholds": {"pain": {"moderate": 0, "severe": 7}}}
    status, body = await clin.call(
        "PUT", f"/api/patients/{world.patients['a'].id}/care-plan", {"plan": plan}
    )
    assert status == 422 and body["field"].endswith("pain.moderate")

"""The clinician walks the visit's steps beside the video; the family answers ESAS-r on
their own page; the clinician sees the scores appear without reloading."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.test_video_visit import clinician_in_visit, family_in_lobby


async def open_step(steps, step_id: str):
    """The current step opens by itself (issue 17); any other opens from its line."""
    step = steps.locator(f'.step[data-step="{step_id}"]')
    if await step.get_attribute("open") is None:
        await step.locator("summary").click()
    return step


ESAS_ITEMS = (
    "pain",
    "tiredness",
    "drowsiness",
    "nausea",
    "appetite",
    "shortness_of_breath",
    "depression",
    "anxiety",
    "wellbeing",
)


async def test_family_answers_esas_and_the_clinician_sees_the_scores(live_server, new_page) -> None:
    # The patient's crisis plan, which the rehearsal step shows.
    coordinator = await live_server.world.agent("coord_a")
    plan_url = f"/api/patients/{live_server.world.patients['a'].id}/care-plan"
    status, current = await coordinator.call("GET", plan_url)
    assert status == 200
    plan = current["plan"] | {
        "advance_care": {**current["plan"]["advance_care"], "resuscitation": "dnr"},
        "crisis_plan": {
            **current["plan"]["crisis_plan"],
            "instructions": [
                {
                    "crisis": "breathlessness",
                    "triggers": ["Breathing fast and frightened"],
                    "first_steps": ["Sit upright, fan on the face, window open"],
                }
            ],
        },
    }
    status, body = await coordinator.call(
        "PUT", plan_url, {"plan": plan, "base_version": current["version"]}
    )
    assert status in (200, 201), body

    clinician = await clinician_in_visit(live_server, new_page)
    family = await family_in_lobby(live_server, new_page)
    await clinician.locator("#lobby li").get_by_role("button", name="Let in").click()
    await expect(family.locator("#call")).to_be_visible()

    steps = clinician.locator("#steps")
    await steps.get_by_role("button", name="Start the visit").click()
    # The visit has started when its current step opens by itself; opening consent before
    # then could be undone by that redraw, or undo it.
    await expect(steps.locator(".step[open]")).to_have_count(1)
    consent = await open_step(steps, "consent")
    await consent.get_by_label("Agrees to a video visit").check()
    await consent.get_by_text("The patient", exact=True).click()
    await consent.locator('[data-field="recording"]').get_by_text("No").click()
    await consent.locator('[data-field="share_with_family"]').get_by_text("Yes").click()
    await consent.get_by_label("Privacy explained").check()
    await consent.get_by_role("button", name="Complete step").click()
    await expect(consent.locator(".status")).to_have_text("done")

    identity = await open_step(steps, "identity")
    await identity.get_by_label("Full name confirmed").check()
    await identity.get_by_label("Date of birth confirmed").check()
    await identity.get_by_text("Known to me").click()
    await identity.get_by_label("Where the patient is now (address)").fill("Home, 1 High St")
    # After consent, a still from the family's video with OpenCV's face hint (a hint only).
    await identity.get_by_role("button", name="Take a still from the patient's video").click()
    await expect(identity.locator(".still-image")).to_be_visible()
    await expect(identity.locator(".still [role=status]")).to_contain_text("a hint only")
    await identity.get_by_role("button", name="Complete step").click()
    await expect(identity.locator(".status")).to_have_text("done")

    # The family's page now asks the symptom questions, in large buttons.
    questions = family.locator("#questions")
    await expect(questions).to_be_visible()
    for index, item in enumerate(ESAS_ITEMS):
        group = questions.locator(f'.item[data-item="{item}"]')
        await group.locator(".choice").nth(index % 6).click()
    await questions.get_by_text("The patient", exact=True).click()
    await family.get_by_role("button", name="Send my answers").click()
    await expect(family.locator("#question-status")).to_contain_text("Thank you")
    nurse_api = await live_server.world.agent("clin_a")
    status, read = await nurse_api.call(
        "GET", f"/api/encounters/{live_server.world.encounters['a'].id}"
    )
    identity_state = next(x for x in read["state"]["steps"] if x["step"] == "identity")
    assert identity_state["answers"]["snapshot_ref"].startswith("still:")
    assert isinstance(identity_state["answers"]["face_present_hint"], bool)

    # The clinician's page shows the assessment done, with its total, without a reload.
    assessment = steps.locator('.step[data-step="assessment"]')
    await expect(assessment.locator(".status")).to_have_text("done")
    total = sum(i % 6 for i in range(len(ESAS_ITEMS)))
    await expect(assessment.locator(".scores")).to_contain_text(f"ESAS-r: {total}")

    # The rest of the visit, then the note opens from the steps panel.
    nurse = nurse_api
    url = f"/api/encounters/{live_server.world.encounters['a'].id}/events"
    # Crisis rehearsal in the panel: pick a scenario; its teach-back points fill in.
    rehearsal = await open_step(steps, "crisis_rehearsal")
    await expect(rehearsal.locator(".crisis-plan")).to_contain_text("Sit upright, fan on the face")
    await expect(rehearsal.locator(".crisis-plan .flag")).to_contain_text("DNR")
    await rehearsal.get_by_label("Scenario rehearsed").select_option("terminal_breathlessness")
    rows = rehearsal.locator(".tb-row")
    await expect(rows).to_have_count(3)
    for index, result in enumerate(("correct", "correct", "partly")):
        await rows.nth(index).locator("select").select_option(result)
    await rehearsal.get_by_role("button", name="Complete step").click()
    await expect(rehearsal.locator(".status")).to_have_text("done")
    await expect(rehearsal.locator(".scores")).to_contain_text("Understanding: 83 %")
    for body in (
        {"type": "complete", "step": "wrap_up", "answers": {"plan": "Video visit on Friday."}},
        {"type": "finish"},
    ):
        status, reply = await nurse.call("POST", url, body)
        assert status == 200, reply
    note_link = steps.get_by_role("link", name="Open the visit note")
    await expect(note_link).to_be_visible()
    async with clinician.context.expect_page() as opened:
        await note_link.click()
    note = await opened.value
    await note.wait_for_load_state()
    await expect(note.locator("body")).to_contain_text("Video visit on Friday.")
    await expect(note.locator("body")).to_contain_text("ESAS-r")

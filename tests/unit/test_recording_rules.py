"""The recording rules (issue 20): consent from every consent step, withdrawals, retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from encounters.encounter_state import EncounterStatus
from encounters.recording import Refusal, delete_after, is_expired, refusal
from tests.unit.test_workflow import CONSENT, T0, Visit, started


def consented() -> Visit:
    visit = started()
    visit.do("complete", "consent", {**CONSENT, "recording": True})
    return visit


def test_nothing_is_recorded_without_the_consent_step_agreeing_to_it() -> None:
    visit = Visit()
    assert refusal(visit.state, []) is Refusal.NOT_IN_PROGRESS
    visit.do("start")
    assert refusal(visit.state, []) is Refusal.NO_CONSENT
    visit.do("answer", "consent", {**CONSENT, "recording": True})  # answered, not completed
    assert refusal(visit.state, []) is Refusal.NO_CONSENT
    no = started()
    no.do("complete", "consent", CONSENT)  # consent to the visit, not to recording
    assert refusal(no.state, []) is Refusal.NO_CONSENT
    assert refusal(consented().state, []) is None


def test_a_withdrawal_holds_until_consent_is_given_again() -> None:
    visit = consented()
    given = T0 + timedelta(minutes=visit.minutes)
    assert refusal(visit.state, [given - timedelta(seconds=1)]) is None  # an older withdrawal
    withdrawn = given + timedelta(seconds=30)
    assert refusal(visit.state, [withdrawn]) is Refusal.WITHDRAWN
    visit.do("reopen", "consent", reason="family asked to talk about recording again")
    assert refusal(visit.state, [withdrawn]) is Refusal.NO_CONSENT
    visit.do("complete", "consent", {**CONSENT, "recording": True})
    assert refusal(visit.state, [withdrawn]) is None


def test_a_finished_visit_records_nothing() -> None:
    visit = consented()
    assert refusal(visit.state, []) is None
    visit.state = replace(visit.state, status=EncounterStatus.FINISHED)
    assert refusal(visit.state, []) is Refusal.NOT_IN_PROGRESS


def test_retention_counts_from_the_stop_or_else_the_start() -> None:
    stopped = T0 + timedelta(minutes=40)
    assert delete_after(T0, stopped, 30) == stopped + timedelta(days=30)
    assert delete_after(T0, None, 7) == T0 + timedelta(days=7)
    end = delete_after(T0, stopped, 1)
    assert not is_expired(end, end - timedelta(seconds=1)) and is_expired(end, end)
    with pytest.raises(ValueError):
        delete_after(T0, stopped, 0)

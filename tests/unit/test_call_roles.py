"""Which link roles reach the patient's record (issue 20): only the family's."""

from __future__ import annotations

from encounters.call_roles import CALL_ONLY, LINK_ROLES, LinkRole, parse_link_role, reaches_record


def test_only_the_familys_link_reaches_the_record() -> None:
    assert reaches_record("family")
    assert not reaches_record("interpreter")
    assert not reaches_record("guest_clinician")
    # An unknown role (a staff role, a typo, nothing) is never taken for the family's.
    for other in ("clinician", "coordinator", "Family", ""):
        assert not reaches_record(other)
    assert {r for r in LINK_ROLES if not reaches_record(r)} == CALL_ONLY


def test_link_roles_parse_strictly() -> None:
    assert parse_link_role("interpreter") is LinkRole.INTERPRETER
    assert parse_link_role("guest_clinician") is LinkRole.GUEST_CLINICIAN
    for bad in (None, 1, "Interpreter", "clinician", " family"):
        assert parse_link_role(bad) is None

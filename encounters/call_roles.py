"""Who a visit link brings into the call, and what each of them may see.

A visit link carries a role. The family's link brings the person into the call *and* the parts
of the visit addressed to the family (the symptom questions, readings from home devices,
education, the drill's prompts). An interpreter, or a clinician from outside the care team who
has no Hearth login, comes only into the call: they see and hear the people, and nothing of the
patient's record. Pure: no I/O.
"""

from __future__ import annotations

from enum import StrEnum


class LinkRole(StrEnum):
    FAMILY = "family"
    INTERPRETER = "interpreter"
    GUEST_CLINICIAN = "guest_clinician"


LINK_ROLES: tuple[str, ...] = tuple(role.value for role in LinkRole)
# Roles whose people come into the call and nothing else.
CALL_ONLY: frozenset[str] = frozenset({LinkRole.INTERPRETER, LinkRole.GUEST_CLINICIAN})


def parse_link_role(value: object) -> LinkRole | None:
    """The link role ``value`` names, or None for anything else (the default is the family's
    link, so an absent role is the caller's to fill in, never this function's)."""
    if not isinstance(value, str):
        return None
    try:
        return LinkRole(value)
    except ValueError:
        return None


def reaches_record(link_role: str) -> bool:
    """Whether a person who came in on a link of this role may see any of the patient's
    record (the family's questions, readings, education, drills). Unknown roles may not."""
    return link_role == LinkRole.FAMILY

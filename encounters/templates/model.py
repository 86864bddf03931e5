"""What a visit template is: an ordered list of steps, as frozen data.

The kinds of step are fixed in code, because each kind has its own answer rules
(``encounters.answers``); which fields a kind may collect is declared here so that
the template loader can refuse a template that asks for a field no rule knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from encounters.instruments import Instrument


class Role(StrEnum):
    """Who is acting in an encounter."""

    CLINICIAN = "clinician"
    FAMILY = "family"


class Who(StrEnum):
    """Who may complete a step."""

    CLINICIAN = "clinician"
    FAMILY = "family"
    EITHER = "either"

    def allows(self, role: Role) -> bool:
        return self is Who.EITHER or self.value == role.value


class StepKind(StrEnum):
    IDENTITY = "identity"
    CONSENT = "consent"
    ASSESSMENT = "assessment"
    CRISIS_REHEARSAL = "crisis_rehearsal"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True)
class KindFields:
    """The fields a kind of step knows: those it needs to complete, and optional ones."""

    required: frozenset[str]
    optional: frozenset[str]

    @property
    def known(self) -> frozenset[str]:
        return self.required | self.optional


# The least each step accepts (POST /api/encounters/{id}/events; listed in docs/api.md).
KIND_FIELDS: Mapping[StepKind, KindFields] = MappingProxyType(
    {
        StepKind.IDENTITY: KindFields(
            required=frozenset({"name_confirmed", "birth_date_confirmed", "method", "location"}),
            optional=frozenset({"snapshot_ref", "face_present_hint"}),
        ),
        StepKind.CONSENT: KindFields(
            required=frozenset(
                {"video_visit", "consenter", "recording", "share_with_family", "privacy_explained"}
            ),
            optional=frozenset(
                {"surrogate_name", "relationship", "form", "shared_with", "privacy_points"}
            ),
        ),
        StepKind.ASSESSMENT: KindFields(
            required=frozenset({"answered_by"}),
            optional=frozenset(),
        ),
        StepKind.CRISIS_REHEARSAL: KindFields(
            required=frozenset({"scenario", "teach_back"}),
            optional=frozenset({"plan_reviewed"}),
        ),
        StepKind.WRAP_UP: KindFields(
            required=frozenset({"plan"}),
            optional=frozenset(),
        ),
    }
)


@dataclass(frozen=True)
class InstrumentUse:
    """An instrument an assessment step collects, under the answer key ``key``."""

    key: str
    instrument: Instrument
    required: bool
    when: str = ""


@dataclass(frozen=True)
class ChecklistPoint:
    point_id: str
    text: str


@dataclass(frozen=True)
class Step:
    step_id: str
    kind: StepKind
    title: str
    who: Who
    skippable: bool
    skip_needs_reason: bool
    requires: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    instruments: tuple[InstrumentUse, ...] = ()
    checklist: tuple[ChecklistPoint, ...] = ()
    guidance: str = ""

    def instrument_use(self, key: str) -> InstrumentUse | None:
        for use in self.instruments:
            if use.key == key:
                return use
        return None


@dataclass(frozen=True)
class Template:
    template_id: str
    version: int
    title: str
    steps: tuple[Step, ...]
    path: str = ""

    def step(self, step_id: str) -> Step | None:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        return None

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.step_id for step in self.steps)

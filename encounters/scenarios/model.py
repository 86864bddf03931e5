"""What a mock crisis drill is, as frozen data read from its TOML file (GitHub issue 9).

A scenario is a timeline of events at offsets in seconds from the start of the drill, and the
responses the care team and the family are expected to give. Offsets, not times: the drill
runner adds them to the moment the coordinator presses start, so the domain needs no clock.
Ramps (a value drifting over a few minutes) are expanded into concrete readings by
:func:`expand_ramp` when the file is read, so a player only ever sees plain readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from encounters.careplan import CarePlan, CeilingOfCare, CrisisType, Resuscitation
from encounters.detection import Rule
from encounters.readings import Kind

Number = int | Decimal


@dataclass(frozen=True)
class ReadingEvent:
    """A device reading the drill plays. For blood pressure ``value`` is systolic."""

    event_id: str
    at_s: int
    kind: Kind
    value: float
    unit: str
    value2: float | None = None


@dataclass(frozen=True)
class PromptEvent:
    """Text shown to the family role-player, e.g. what the patient is doing now."""

    event_id: str
    at_s: int
    text: str


@dataclass(frozen=True)
class DiaryEvent:
    """A diary check-in the family role-player sends (items as in ``encounters.diary``)."""

    event_id: str
    at_s: int
    # Compared but not hashed, as in ``DiaryEntry``: a mapping proxy has no hash.
    scores: Mapping[str, int] = field(hash=False)
    worry: str | None = None


TimelineEvent = ReadingEvent | PromptEvent | DiaryEvent


@dataclass(frozen=True)
class Ramp:
    """A reading that moves in a straight line from ``start`` to ``end`` over ``over_s``,
    sampled every ``every_s`` seconds, both ends included."""

    event_id: str
    at_s: int
    kind: Kind
    unit: str
    start: Number
    end: Number
    over_s: int
    every_s: int


@dataclass(frozen=True)
class EscalationStep:
    """A ladder tier the alert should reach. ``line`` points a ladder mismatch at the file."""

    tier: int
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FamilyStep:
    """A first step of the crisis plan the family should take; actions name its id or text."""

    step_id: str
    text: str


@dataclass(frozen=True)
class TeachBackQuestion:
    """A key point the family explains back afterwards, in their own words (teach-back)."""

    item: str
    safety_critical: bool = False


@dataclass(frozen=True)
class ExpectedResponse:
    alert_rules: tuple[Rule, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()  # in call order, tiers increasing
    family_steps: tuple[FamilyStep, ...] = ()

    @property
    def tier(self) -> int | None:
        """The highest tier the drill should reach; going further is over-escalation."""
        return self.escalation[-1].tier if self.escalation else None


class PlanRecord(StrEnum):
    """Something a care plan may have on record that a scenario's steps rely on."""

    ADVANCE_DIRECTIVE = "advance_directive"
    POLST = "polst"
    FORM_LOCATION = "form_location"  # where in the home the signed forms are kept


@dataclass(frozen=True)
class PlanNeeds:
    """The care plan a scenario is written for. A scenario whose first steps say "call the
    hospice line, not 911" and "have the DNR form ready" must not be rehearsed with a family
    whose plan says full treatment and CPR. Empty fields accept any plan."""

    resuscitation: tuple[Resuscitation, ...] = ()
    ceiling_of_care: tuple[CeilingOfCare, ...] = ()
    documented: tuple[PlanRecord, ...] = ()


_RESUSCITATION_WORDS = {
    Resuscitation.NOT_RECORDED: "no resuscitation decision recorded",
    Resuscitation.ATTEMPT_CPR: "attempt CPR",
    Resuscitation.DNR: "do not attempt resuscitation (DNR)",
}
_CEILING_WORDS = {
    CeilingOfCare.COMFORT_ONLY: "comfort care only",
    CeilingOfCare.SELECTIVE: "selective treatment",
    CeilingOfCare.FULL: "full treatment",
}
_RECORD_WORDS = {
    PlanRecord.ADVANCE_DIRECTIVE: "an advance directive on file",
    PlanRecord.POLST: "a POLST form on file",
    PlanRecord.FORM_LOCATION: "where the signed forms are kept at home",
}


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def plan_misfits(needs: PlanNeeds, plan: CarePlan) -> tuple[str, ...]:
    """Why a scenario written for ``needs`` does not fit this care plan, in words a
    coordinator reads; empty when it fits."""
    reasons: list[str] = []
    care = plan.advance_care
    if needs.resuscitation and care.resuscitation not in needs.resuscitation:
        reasons.append(
            f"it is written for {_either([_RESUSCITATION_WORDS[r] for r in needs.resuscitation])}"
            f", and the plan records {_RESUSCITATION_WORDS[care.resuscitation]}"
        )
    if needs.ceiling_of_care and plan.ceiling_of_care not in needs.ceiling_of_care:
        reasons.append(
            f"it is written for {_either([_CEILING_WORDS[c] for c in needs.ceiling_of_care])}"
            f", and the plan's ceiling of care is {_CEILING_WORDS[plan.ceiling_of_care]}"
        )
    on_record = {
        PlanRecord.ADVANCE_DIRECTIVE: care.advance_directive_on_file,
        PlanRecord.POLST: care.polst_on_file,
        PlanRecord.FORM_LOCATION: bool(care.form_location.strip()),
    }
    for record in needs.documented:
        if not on_record[record]:
            reasons.append(f"it needs {_RECORD_WORDS[record]}, and the plan does not record it")
    return tuple(reasons)


@dataclass(frozen=True)
class Scenario:
    scenario_id: str
    title: str
    crisis: CrisisType
    summary: str
    events: tuple[TimelineEvent, ...]  # ramps expanded; sorted by offset, file order kept
    expected: ExpectedResponse
    teach_back: tuple[TeachBackQuestion, ...]
    path: str
    plan_needs: PlanNeeds = PlanNeeds()

    @property
    def duration_s(self) -> int:
        return max(event.at_s for event in self.events)


def _places(value: Number) -> int:
    exponent = Decimal(value).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def expand_ramp(ramp: Ramp) -> tuple[ReadingEvent, ...]:
    """The concrete readings of a ramp, ids ``<id>.1``, ``<id>.2``, ...

    Values are rounded to as many decimal places as the finer of the two ends (94 to 84
    gives whole percent, 37.2 to 38.6 gives tenths), half up, computed in Decimal so the
    same file always gives the same readings. ``over_s`` is a multiple of ``every_s``
    (the loader checks), so the last sample lands exactly on ``end``.
    """
    places = max(_places(ramp.start), _places(ramp.end))
    quantum = Decimal(1).scaleb(-places)
    start, end = Decimal(ramp.start), Decimal(ramp.end)
    steps = ramp.over_s // ramp.every_s
    readings: list[ReadingEvent] = []
    for index in range(steps + 1):
        exact = start + (end - start) * index / steps if steps else end
        value = exact.quantize(quantum, rounding=ROUND_HALF_UP)
        readings.append(
            ReadingEvent(
                event_id=f"{ramp.event_id}.{index + 1}",
                at_s=ramp.at_s + index * ramp.every_s,
                kind=ramp.kind,
                value=float(value),
                unit=ramp.unit,
            )
        )
    return tuple(readings)

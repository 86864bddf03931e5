"""Mock crisis drills: scenario files and the loader that reads them (GitHub issue 9).

Each scenario is one TOML file in this package: pain crisis, terminal breathlessness,
catastrophic bleed, seizure, terminal agitation and expected death at home. A coordinator
adds more from a directory with :func:`load_scenarios`. Scoring a drill that has been run
lives in :mod:`encounters.drills`.
"""

from encounters.scenarios.loader import (
    EVENT_TYPES,
    check_against_ladder,
    load_builtin_scenarios,
    load_scenarios,
    parse_scenario,
)
from encounters.scenarios.model import (
    DiaryEvent,
    EscalationStep,
    ExpectedResponse,
    FamilyStep,
    PromptEvent,
    Ramp,
    ReadingEvent,
    Scenario,
    TeachBackQuestion,
    TimelineEvent,
    expand_ramp,
)

__all__ = [
    "EVENT_TYPES",
    "DiaryEvent",
    "EscalationStep",
    "ExpectedResponse",
    "FamilyStep",
    "PromptEvent",
    "Ramp",
    "ReadingEvent",
    "Scenario",
    "TeachBackQuestion",
    "TimelineEvent",
    "check_against_ladder",
    "expand_ramp",
    "load_builtin_scenarios",
    "load_scenarios",
    "parse_scenario",
]

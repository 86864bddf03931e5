"""Symptom and assessment instruments: data files, answer checks, scores and comparison.

Each instrument is one TOML file in this package (ESAS-r, ECOG, AKPS, 4AT, PAINAD,
NRS breathlessness, modified Borg, Hearth's caregiver check), carrying its source,
licence and acknowledgement. Licensed instruments are not shipped; an organisation
adds them from its own directory with :func:`load_instruments`.
"""

from encounters.instruments.comparison import (
    NOTABLE_CHANGE_POINTS,
    ItemComparison,
    Severity,
    check_thresholds,
    classify,
    compare_scores,
)
from encounters.instruments.loader import (
    load_builtin_instruments,
    load_instruments,
    parse_instrument,
)
from encounters.instruments.model import (
    Anchor,
    Answer,
    Band,
    Instrument,
    InstrumentScore,
    Item,
    ItemKind,
    Number,
    Option,
    Scoring,
    ScoringMethod,
    Subscore,
    Thresholds,
)
from encounters.instruments.scoring import (
    check_answers,
    check_item_answer,
    item_score,
    score_answers,
)

__all__ = [
    "NOTABLE_CHANGE_POINTS",
    "Anchor",
    "Answer",
    "Band",
    "Instrument",
    "InstrumentScore",
    "Item",
    "ItemComparison",
    "ItemKind",
    "Number",
    "Option",
    "Scoring",
    "ScoringMethod",
    "Severity",
    "Subscore",
    "Thresholds",
    "check_answers",
    "check_item_answer",
    "check_thresholds",
    "classify",
    "compare_scores",
    "item_score",
    "load_builtin_instruments",
    "load_instruments",
    "parse_instrument",
    "score_answers",
]

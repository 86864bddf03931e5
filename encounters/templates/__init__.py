"""Visit templates: the steps of an encounter, as TOML files a clinician can read.

The default is ``home_palliative_visit`` (identity, consent, assessment,
crisis_rehearsal, wrap_up). Organisations may add templates from a directory.
"""

from encounters.templates.loader import (
    DEFAULT_TEMPLATE_ID,
    load_template,
    load_templates,
    parse_template,
)
from encounters.templates.model import (
    KIND_FIELDS,
    ChecklistPoint,
    InstrumentUse,
    KindFields,
    Role,
    Step,
    StepKind,
    Template,
    Who,
)

__all__ = [
    "DEFAULT_TEMPLATE_ID",
    "KIND_FIELDS",
    "ChecklistPoint",
    "InstrumentUse",
    "KindFields",
    "Role",
    "Step",
    "StepKind",
    "Template",
    "Who",
    "load_template",
    "load_templates",
    "parse_template",
]

"""Which visit templates exist (the workflow engine lives in ``encounters``)."""

from __future__ import annotations

from functools import cache


@cache
def known_templates() -> frozenset[str]:
    try:
        from encounters.templates import template_ids
    except ImportError:
        return frozenset({"home_palliative_visit"})
    return frozenset(template_ids())

"""The visit templates this server offers (the workflow engine lives in ``encounters``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from encounters.templates import Template, load_templates


@cache
def templates() -> Mapping[str, Template]:
    """Shipped templates, loaded and checked once per process."""
    return load_templates()


def known_templates() -> frozenset[str]:
    return frozenset(templates())

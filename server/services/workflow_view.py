"""Visit templates as the pages see them: steps, fields, checklists and instrument items.

The pages draw every form from this description, so a template or instrument an
organisation adds as a data file appears without code changes.
"""

from __future__ import annotations

from typing import Any

from encounters.instruments.model import Instrument, Item
from encounters.templates import Template


def _number(value: object) -> object:
    return str(value) if not isinstance(value, int | float) else value


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.item_id,
        "kind": str(item.kind),
        "text": item.text,
        "definition": item.definition,
        "required": item.required,
        "values": [_number(v) for v in item.values],
        "anchors": [{"value": _number(a.value), "label": a.label} for a in item.anchors],
        "options": [{"code": o.code, "label": o.label, "score": o.score} for o in item.options],
        "max_length": item.max_length_chars,
    }


def describe_instrument(instrument: Instrument) -> dict[str, Any]:
    return {
        "id": instrument.instrument_id,
        "name": instrument.name,
        "short_name": instrument.short_name,
        "instructions": instrument.instructions,
        "acknowledgement": instrument.acknowledgement,
        "items": [_item(item) for item in instrument.items],
    }


def describe_template(template: Template) -> dict[str, Any]:
    return {
        "id": template.template_id,
        "title": template.title,
        "steps": [
            {
                "id": step.step_id,
                "kind": str(step.kind),
                "title": step.title,
                "who": str(step.who),
                "skippable": step.skippable,
                "skip_needs_reason": step.skip_needs_reason,
                "requires": list(step.requires),
                "fields": list(step.fields),
                "guidance": step.guidance,
                "checklist": [{"id": p.point_id, "text": p.text} for p in step.checklist],
                "instruments": [
                    {
                        "key": use.key,
                        "required": use.required,
                        "when": use.when,
                        "instrument": describe_instrument(use.instrument),
                    }
                    for use in step.instruments
                ],
            }
            for step in template.steps
        ],
    }


def family_view(state: dict[str, Any] | None) -> dict[str, Any]:
    """What a family page may know of the visit's progress: steps and their status only."""
    if not state:
        return {"status": "not_started", "steps": []}
    return {
        "status": state.get("status"),
        "steps": [
            {"step": s["step"], "kind": s["kind"], "status": s["status"]}
            for s in state.get("steps", [])
        ],
    }

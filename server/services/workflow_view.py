"""Visit templates and progress as JSON for the API and the pages.

The pages draw every form from the template's description, so a template or instrument an
organisation adds as a data file appears without code changes. Code that needs a template
or a state uses the domain's typed objects; these functions only write them out.
"""

from __future__ import annotations

from encounters.encounter_state import EncounterState
from encounters.instruments.model import Instrument, Item, Number
from encounters.templates import Template


def _number(value: Number) -> int | str:
    # A decimal value (modified Borg) goes out as its exact text, as answers are sent back.
    return value if isinstance(value, int) else str(value)


def _item(item: Item) -> dict[str, object]:
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


def describe_instrument(instrument: Instrument) -> dict[str, object]:
    return {
        "id": instrument.instrument_id,
        "name": instrument.name,
        "short_name": instrument.short_name,
        "instructions": instrument.instructions,
        "acknowledgement": instrument.acknowledgement,
        "items": [_item(item) for item in instrument.items],
    }


def describe_template(template: Template) -> dict[str, object]:
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


def family_view(state: EncounterState | None) -> dict[str, object]:
    """What a family page may know of the visit's progress: steps and their status only."""
    if state is None:
        return {"status": "not_started", "steps": []}
    return {
        "status": state.status.value,
        "steps": [
            {"step": step.step_id, "kind": step.kind.value, "status": step.status.value}
            for step in state.steps
        ],
    }

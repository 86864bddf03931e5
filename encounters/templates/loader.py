"""Loading visit templates: TOML files a clinician can read and edit.

A template is refused at load, with file and line, when a step names an unknown
kind, field, instrument or step, or when its ``requires`` form a cycle: better a
clear error at start-up than a visit that cannot be finished.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from encounters.errors import DataFileError
from encounters.instruments import Instrument, load_builtin_instruments
from encounters.instruments.datafile import DataSource, TableReader, parse_toml
from encounters.templates.model import (
    KIND_FIELDS,
    ChecklistPoint,
    InstrumentUse,
    Step,
    StepKind,
    Template,
    Who,
)

DEFAULT_TEMPLATE_ID = "home_palliative_visit"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PACKAGE = "encounters.templates"
_E = TypeVar("_E", StepKind, Who)


def parse_template(
    text: str, path: str, instruments: Mapping[str, Instrument] | None = None
) -> Template:
    """Read one template file's text against the known instruments (default: shipped ones)."""
    known = load_builtin_instruments() if instruments is None else instruments
    top, source = parse_toml(text, path)
    top.allow_only("id", "version", "title", "steps")
    steps = tuple(_step(reader, known) for reader in top.children("steps"))
    if not steps:
        top.fail("a template needs at least one [[steps]] block", "steps")
    _check_steps(source, steps)
    version = top.integer("version")
    if version < 1:
        top.fail("'version' must be 1 or more", "version")
    return Template(
        template_id=_identifier(top, "id"),
        version=version,
        title=top.text("title"),
        steps=steps,
        path=path,
    )


def load_template(
    template_id: str = DEFAULT_TEMPLATE_ID,
    instruments: Mapping[str, Instrument] | None = None,
) -> Template:
    """A template shipped with Hearth, by id (its file is ``<id>.toml`` in this package)."""
    if not _ID.match(template_id):
        raise DataFileError("is not a template id (lower-case letters, digits, _)", path="?")
    entry = resources.files(_PACKAGE).joinpath(f"{template_id}.toml")
    if not entry.is_file():
        raise DataFileError(f"no shipped template '{template_id}'", path=f"{template_id}.toml")
    return parse_template(entry.read_text(encoding="utf-8"), entry.name, instruments)


def load_templates(
    extra_dir: Path | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> Mapping[str, Template]:
    """Every shipped template plus every ``*.toml`` in ``extra_dir``, by id."""
    texts: list[tuple[str, str]] = [
        (entry.read_text(encoding="utf-8"), entry.name)
        for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise DataFileError("is not a directory of template files", path=str(extra_dir))
        texts += [(p.read_text(encoding="utf-8"), str(p)) for p in sorted(extra_dir.glob("*.toml"))]
    found: dict[str, Template] = {}
    for text, path in texts:
        template = parse_template(text, path, instruments)
        if template.template_id in found:
            DataSource(text, path).fail(
                f"template id '{template.template_id}' is already used by "
                f"{found[template.template_id].path}",
                ("id",),
            )
        found[template.template_id] = template
    return MappingProxyType(found)


def _identifier(reader: TableReader, key: str) -> str:
    value = reader.text(key)
    if not _ID.match(value):
        reader.fail(f"'{key}' must be lower-case letters, digits and underscores", key)
    return value


def _enum_value(reader: TableReader, key: str, enum: type[_E]) -> _E:
    text = reader.text(key)
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        reader.fail(f"{key} '{text}' is unknown; expected one of: {allowed}", key)


def _step(reader: TableReader, instruments: Mapping[str, Instrument]) -> Step:
    reader.allow_only(
        "id", "kind", "title", "who", "skippable", "skip_needs_reason", "requires", "fields",
        "instruments", "checklist", "guidance",
    )  # fmt: skip
    kind = _enum_value(reader, "kind", StepKind)
    fields = reader.texts("fields")
    spec = KIND_FIELDS[kind]
    for field in fields:
        if field not in spec.known:
            reader.fail(
                f"a {kind.value} step has no field '{field}'; "
                f"known: {', '.join(sorted(spec.known))}",
                "fields",
            )
    missing = sorted(spec.required - set(fields))
    if missing:
        reader.fail(f"a {kind.value} step must collect {', '.join(missing)}", "fields")
    uses = tuple(_instrument_use(u, instruments) for u in reader.children("instruments"))
    if uses and kind is not StepKind.ASSESSMENT:
        reader.fail("only an assessment step collects instruments", "instruments")
    if kind is StepKind.ASSESSMENT and not uses:
        reader.fail("an assessment step needs at least one [[steps.instruments]]", "kind")
    keys = [u.key for u in uses]
    for index, key in enumerate(keys):
        if key in keys[:index] or key in fields:
            reader.source.fail(
                f"answer key '{key}' is used twice in this step",
                (*reader.where, "instruments", index),
            )
    checklist = tuple(_checklist_point(p) for p in reader.children("checklist"))
    if checklist and kind is not StepKind.CONSENT:
        reader.fail("only a consent step has a checklist", "checklist")
    return Step(
        step_id=_identifier(reader, "id"),
        kind=kind,
        title=reader.text("title"),
        who=_enum_value(reader, "who", Who),
        skippable=reader.boolean("skippable"),
        skip_needs_reason=reader.boolean("skip_needs_reason"),
        requires=reader.texts("requires"),
        fields=fields,
        instruments=uses,
        checklist=checklist,
        guidance=reader.text("guidance", ""),
    )


def _instrument_use(reader: TableReader, instruments: Mapping[str, Instrument]) -> InstrumentUse:
    reader.allow_only("instrument", "key", "required", "when")
    instrument_id = reader.text("instrument")
    instrument = instruments.get(instrument_id)
    if instrument is None:
        reader.fail(
            f"instrument '{instrument_id}' is unknown; known: {', '.join(sorted(instruments))}",
            "instrument",
        )
    return InstrumentUse(
        key=_identifier(reader, "key") if reader.has("key") else instrument_id,
        instrument=instrument,
        required=reader.boolean("required"),
        when=reader.text("when", ""),
    )


def _checklist_point(reader: TableReader) -> ChecklistPoint:
    reader.allow_only("id", "text")
    return ChecklistPoint(point_id=_identifier(reader, "id"), text=reader.text("text"))


def _check_steps(source: DataSource, steps: tuple[Step, ...]) -> None:
    index_of: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.step_id in index_of:
            source.fail(f"step id '{step.step_id}' is used twice", ("steps", index, "id"))
        index_of[step.step_id] = index
    for index, step in enumerate(steps):
        for required in step.requires:
            if required not in index_of:
                source.fail(
                    f"step '{step.step_id}' requires '{required}', which is not a step here",
                    ("steps", index, "requires"),
                )
    # Depth-first search; a step met again while still on the path closes a cycle.
    state: dict[str, str] = {}

    def visit(step_id: str, path: list[str]) -> None:
        state[step_id] = "on_path"
        for required in steps[index_of[step_id]].requires:
            if state.get(required) == "on_path":
                cycle = [*path[path.index(required) :], required]
                source.fail(
                    f"steps depend on each other in a cycle: {' -> '.join(cycle)}",
                    ("steps", index_of[step_id], "requires"),
                )
            if required not in state:
                visit(required, [*path, required])
        state[step_id] = "done"

    for step in steps:
        if step.step_id not in state:
            visit(step.step_id, [step.step_id])

"""Loading the education library: the shipped topics, and any a care team adds.

Topics are TOML files, one per topic and language, under ``content/<language>/``. A team adds
its own (or its own translations) by passing a directory of the same shape to
:func:`load_library`; no code changes. Every refusal names the file and the line, because the
person fixing it is a nurse with a text editor, not a developer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

from encounters.careplan import CrisisType
from encounters.education.model import (
    SOURCE_LANGUAGE,
    Level,
    Library,
    Origin,
    Picture,
    Section,
    Source,
    TeachBackPoint,
    Topic,
    Version,
)
from encounters.errors import DataFileError
from encounters.instruments.datafile import DataSource, TableReader, parse_toml
from encounters.teach_back import TEACH_BACK_ITEM_MAX_CHARS

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_PICTURE_FILE = re.compile(r"^[a-z0-9_\-]+\.svg$")
_PACKAGE = "encounters.education"
TITLE_MAX_CHARS = 120
SUMMARY_MAX_CHARS = 400
PARAGRAPH_MAX_CHARS = 1200
STEP_MAX_CHARS = 300
SECTIONS_MAX = 12
TEACH_BACK_POINTS_MAX = 8
# A topic a family reads on a phone: past this it is two topics.
SECTIONS_MIN = 1


def parse_topic(text: str, path: str, picture_files: Collection[str] | None = None) -> Topic:
    """Read one topic file's text; refuse it with file and line if malformed.

    ``picture_files`` are the drawings that exist; when given, a picture naming any other
    file is refused (a missing drawing would show as a broken image to a family).
    """
    top, _source = parse_toml(text, path)
    top.allow_only(
        "id",
        "language",
        "order",
        "origin",
        "reviewed_by",
        "crises",
        "sources",
        "pictures",
        "teach_back",
        *(level.value for level in Level),
    )
    topic_id = _identifier(top, "id")
    language = top.text("language")
    if not _LANGUAGE.match(language):
        top.fail(
            '\'language\' must be a two- or three-letter code such as "en" or "es"', "language"
        )
    origin_text = top.text("origin")
    try:
        origin = Origin(origin_text)
    except ValueError:
        allowed = ", ".join(o.value for o in Origin)
        top.fail(f"origin '{origin_text}' is unknown; expected one of: {allowed}", "origin")
    if language == SOURCE_LANGUAGE and origin is not Origin.ORIGINAL:
        top.fail('an English topic is the original; write origin = "original"', "origin")
    if language != SOURCE_LANGUAGE and origin is Origin.ORIGINAL:
        top.fail(
            "a topic in another language translates the English one; write origin = "
            '"human_translation" or "machine_translation"',
            "origin",
        )
    reviewed_by = top.text("reviewed_by", "").strip() or None
    crises = tuple(_crisis(top, name) for name in top.texts("crises"))
    pictures = _pictures(top, picture_files)
    versions = {level: _version(top, level, pictures) for level in Level}
    return Topic(
        topic_id=topic_id,
        language=language,
        origin=origin,
        reviewed_by=reviewed_by,
        crises=crises,
        versions=MappingProxyType(versions),
        teach_back=_teach_back(top),
        sources=_sources(top),
        pictures=MappingProxyType(pictures),
        path=path,
        order=top.integer("order", 1000),
    )


def load_builtin_library(picture_files: Collection[str] | None = None) -> Library:
    """The topics Hearth ships, in every language they are written in."""
    content = resources.files(_PACKAGE).joinpath("content")
    return _library(_files_under(content), picture_files)


def load_library(
    extra_dir: Path | None = None, picture_files: Collection[str] | None = None
) -> Library:
    """The shipped topics plus every ``<language>/*.toml`` under ``extra_dir``.

    An extra file may add a topic or a language of a topic, never replace one: two texts
    under one name would make "what the family was given" ambiguous in the record.
    """
    files = list(_files_under(resources.files(_PACKAGE).joinpath("content")))
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise DataFileError("is not a directory of education topics", path=str(extra_dir))
        files.extend(
            (str(path), path.read_text(encoding="utf-8"), path.parent.name)
            for path in sorted(extra_dir.glob("*/*.toml"))
        )
    return _library(files, picture_files)


def _files_under(content: Traversable) -> Iterable[tuple[str, str, str]]:
    for folder in sorted(content.iterdir(), key=lambda e: e.name):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                path = f"content/{folder.name}/{entry.name}"
                yield path, entry.read_text(encoding="utf-8"), folder.name


def _library(
    files: Iterable[tuple[str, str, str]], picture_files: Collection[str] | None
) -> Library:
    found: dict[tuple[str, str], Topic] = {}
    texts: dict[str, str] = {}
    for path, text, folder in files:
        topic = parse_topic(text, path, picture_files)
        texts[path] = text
        source = DataSource(text, path)
        if topic.language != folder:
            source.fail(
                f"language '{topic.language}' is not the folder's ('{folder}'); a topic in one "
                "language lives in the folder named after it",
                ("language",),
            )
        key = (topic.topic_id, topic.language)
        if key in found:
            source.fail(
                f"topic '{topic.topic_id}' in '{topic.language}' is already written in "
                f"{found[key].path}",
                ("id",),
            )
        found[key] = topic
    for (topic_id, language), topic in sorted(found.items()):
        if language == SOURCE_LANGUAGE:
            continue
        source = DataSource(texts[topic.path], topic.path)
        original = found.get((topic_id, SOURCE_LANGUAGE))
        if original is None:
            source.fail(
                f"topic '{topic_id}' has no English original; write it in English first", ("id",)
            )
        _check_translation(topic, original, source)
    return Library(MappingProxyType(found))


def _check_translation(topic: Topic, original: Topic, source: DataSource) -> None:
    """A translation teaches the same points: a point learnt in one language is one record."""
    mine = [p.point_id for p in topic.teach_back]
    theirs = [p.point_id for p in original.teach_back]
    if sorted(mine) != sorted(theirs):
        source.fail(
            f"teach-back points ({', '.join(mine)}) differ from the English original's "
            f"({', '.join(theirs)}); a translation has the same points with the same ids",
            ("teach_back", 0, "id"),
        )
    critical = {p.point_id: p.safety_critical for p in original.teach_back}
    for index, point in enumerate(topic.teach_back):
        if point.safety_critical != critical[point.point_id]:
            source.fail(
                f"teach-back point '{point.point_id}' must be safety_critical = "
                f"{str(critical[point.point_id]).lower()}, as in the English original",
                ("teach_back", index, "safety_critical"),
            )
    if topic.crises and set(topic.crises) != set(original.crises):
        source.fail("'crises' differ from the English original's; leave them out", ("crises",))


def _identifier(reader: TableReader, key: str) -> str:
    value = reader.text(key)
    if not _ID.match(value):
        reader.fail(
            f"'{key}' must be lower-case letters, digits and underscores, starting with a letter",
            key,
        )
    return value


def _crisis(reader: TableReader, name: str) -> CrisisType:
    try:
        return CrisisType(name)
    except ValueError:
        allowed = ", ".join(c.value for c in CrisisType)
        reader.fail(f"crisis '{name}' is unknown; expected one of: {allowed}", "crises")


def _bounded(reader: TableReader, key: str, limit: int) -> str:
    value = reader.text(key).strip()
    if len(value) > limit:
        reader.fail(f"'{key}' must be at most {limit} characters; it has {len(value)}", key)
    return value


def _pictures(top: TableReader, picture_files: Collection[str] | None) -> dict[str, Picture]:
    table = top.child("pictures")
    found: dict[str, Picture] = {}
    if table is None:
        return found
    for name in table.table:
        if not _ID.match(name):
            table.fail(f"picture name '{name}' must be lower-case letters, digits and _", name)
        reader = table.child(name)
        assert reader is not None
        reader.allow_only("file", "alt")
        file = reader.text("file")
        if not _PICTURE_FILE.match(file):
            reader.fail(f"picture file '{file}' must be an .svg file name, no folders", "file")
        if picture_files is not None and file not in picture_files:
            reader.fail(f"picture file '{file}' is not among the shipped drawings", "file")
        found[name] = Picture(file=file, alt=_bounded(reader, "alt", SUMMARY_MAX_CHARS))
    return found


def _version(top: TableReader, level: Level, pictures: Mapping[str, Picture]) -> Version:
    reader = top.child(level.value)
    if reader is None:
        top.fail(
            f"the [{level.value}] text is missing; every topic has a plain and a standard text",
            level.value,
        )
    reader.allow_only("title", "summary", "sections")
    blocks = reader.children("sections")
    if not SECTIONS_MIN <= len(blocks) <= SECTIONS_MAX:
        reader.fail(
            f"a text needs 1 to {SECTIONS_MAX} [[{level.value}.sections]] blocks", "sections"
        )
    sections: list[Section] = []
    for block in blocks:
        block.allow_only("heading", "text", "steps", "picture")
        paragraphs = tuple(
            part.strip() for part in re.split(r"\n\s*\n", block.text("text")) if part.strip()
        )
        for paragraph in paragraphs:
            if len(paragraph) > PARAGRAPH_MAX_CHARS:
                block.fail(f"a paragraph must be at most {PARAGRAPH_MAX_CHARS} characters", "text")
        steps = block.texts("steps")
        for step in steps:
            if len(step) > STEP_MAX_CHARS:
                block.fail(f"a step must be at most {STEP_MAX_CHARS} characters", "steps")
        picture = block.text("picture", "").strip() or None
        if picture is not None and picture not in pictures:
            known = ", ".join(sorted(pictures)) or "none"
            block.fail(
                f"picture '{picture}' is not declared under [pictures] (declared: {known})",
                "picture",
            )
        sections.append(
            Section(
                heading=_bounded(block, "heading", TITLE_MAX_CHARS),
                paragraphs=paragraphs,
                steps=tuple(s.strip() for s in steps),
                picture=picture,
            )
        )
    return Version(
        level=level,
        title=_bounded(reader, "title", TITLE_MAX_CHARS),
        summary=_bounded(reader, "summary", SUMMARY_MAX_CHARS),
        sections=tuple(sections),
    )


def _teach_back(top: TableReader) -> tuple[TeachBackPoint, ...]:
    readers = top.children("teach_back")
    if not 1 <= len(readers) <= TEACH_BACK_POINTS_MAX:
        top.fail(f"a topic needs 1 to {TEACH_BACK_POINTS_MAX} [[teach_back]] points", "teach_back")
    points: list[TeachBackPoint] = []
    seen: set[str] = set()
    for reader in readers:
        reader.allow_only("id", "text", "safety_critical")
        point_id = _identifier(reader, "id")
        if point_id in seen:
            reader.fail(f"teach-back point id '{point_id}' is used twice", "id")
        seen.add(point_id)
        points.append(
            TeachBackPoint(
                point_id=point_id,
                text=_bounded(reader, "text", TEACH_BACK_ITEM_MAX_CHARS),
                safety_critical=reader.boolean("safety_critical"),
            )
        )
    return tuple(points)


def _sources(top: TableReader) -> tuple[Source, ...]:
    readers = top.children("sources")
    if not readers:
        top.fail(
            "a topic names at least one [[sources]] block: where its advice comes from", "sources"
        )
    out: list[Source] = []
    for reader in readers:
        reader.allow_only("organisation", "title")
        out.append(
            Source(
                organisation=_bounded(reader, "organisation", TITLE_MAX_CHARS),
                title=_bounded(reader, "title", SUMMARY_MAX_CHARS),
            )
        )
    return tuple(out)

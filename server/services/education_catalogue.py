"""The education library as the server holds it: every topic, read and checked at start-up,
with the readability of each text measured once.

A bad topic file stops start-up with its file, line and reason, like a bad scenario. A picture
must be one of the drawings shipped under ``web/static/education/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from encounters.education import Level, Library, Topic, load_library
from server.core.readability import Readability, measure
from web import STATIC_DIR

PICTURE_DIR = STATIC_DIR / "education"
PICTURE_URL = "/static/education/"


@dataclass(frozen=True)
class Catalogue:
    library: Library
    readability: Mapping[tuple[str, str, Level], Readability]

    def score(self, topic: Topic, level: Level) -> Readability:
        return self.readability[(topic.topic_id, topic.language, level)]


def load_catalogue(extra_dir: Path | None = None) -> Catalogue:
    """The shipped topics plus those under ``extra_dir``, checked and measured."""
    if extra_dir is None:
        return _shipped_catalogue()
    return _read_and_measure(extra_dir)


@cache
def _shipped_catalogue() -> Catalogue:
    # The shipped topics are part of the installed package and cannot change while the process
    # runs, so they are read and measured once per process, not once per app: parsing and
    # measuring every topic in four languages costs a fifth of a second of CPU.
    return _read_and_measure(None)


def _read_and_measure(extra_dir: Path | None) -> Catalogue:
    pictures = {path.name for path in PICTURE_DIR.glob("*.svg")}
    library = load_library(extra_dir, picture_files=pictures)
    scores = {
        (topic.topic_id, topic.language, level): measure(
            topic.version(level).reading_text, topic.language
        )
        for topic in library.topics.values()
        for level in Level
    }
    return Catalogue(library, MappingProxyType(scores))

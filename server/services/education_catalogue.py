"""The education library as the server holds it: every topic, read and checked at start-up,
with the readability of each text measured once.

A bad topic file stops start-up with its file, line and reason, like a bad scenario. A picture
must be one of the drawings shipped under ``web/static/education/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from encounters.education import Level, Library, Topic, load_library
from server.core.readability import Readability, measure
from web import STATIC_DIR

PICTURE_DIR = STATIC_DIR / "education"
PICTURE_URL = "/static/education/"


@dataclass(frozen=True)
class Catalogue:
    library: Library
    readability: dict[tuple[str, str, Level], Readability]

    def score(self, topic: Topic, level: Level) -> Readability:
        return self.readability[(topic.topic_id, topic.language, level)]


def load_catalogue(extra_dir: Path | None = None) -> Catalogue:
    pictures = {path.name for path in PICTURE_DIR.glob("*.svg")}
    library = load_library(extra_dir, picture_files=pictures)
    scores = {
        (topic.topic_id, topic.language, level): measure(
            topic.version(level).reading_text, topic.language
        )
        for topic in library.topics.values()
        for level in Level
    }
    return Catalogue(library, scores)

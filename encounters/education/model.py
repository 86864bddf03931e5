"""What one education topic is: two reading levels of one text, its sources, its pictures and
the points a family says back in their own words (teach-back).

A topic is written once per language. The teach-back points carry ids that are the same in
every language, so a point taught back in Spanish at one visit and in English at the next is
one point with one history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from encounters.careplan import CrisisType


class Level(StrEnum):
    """Reading levels. Plain: short sentences and everyday words; standard: fuller detail."""

    PLAIN = "plain"
    STANDARD = "standard"


class Origin(StrEnum):
    """Who wrote this language's text. A machine translation is shown to the team as such
    until a person who reads the language has reviewed it (``reviewed_by``)."""

    ORIGINAL = "original"
    HUMAN_TRANSLATION = "human_translation"
    MACHINE_TRANSLATION = "machine_translation"


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...]
    # Things to do, in order: shown as a numbered list under the paragraphs.
    steps: tuple[str, ...] = ()
    picture: str | None = None


@dataclass(frozen=True)
class Version:
    level: Level
    title: str
    summary: str
    sections: tuple[Section, ...]

    @property
    def reading_text(self) -> str:
        """The running text a reader reads, for measuring readability: headings and list items
        are sentences of their own."""
        parts: list[str] = [_as_sentence(self.title), _as_sentence(self.summary)]
        for section in self.sections:
            parts.append(_as_sentence(section.heading))
            parts.extend(section.paragraphs)
            parts.extend(_as_sentence(step) for step in section.steps)
        return "\n".join(parts)


def _as_sentence(text: str) -> str:
    stripped = text.strip()
    return stripped if stripped[-1:] in ".!?؟" else stripped + "."


@dataclass(frozen=True)
class TeachBackPoint:
    point_id: str
    text: str
    safety_critical: bool


@dataclass(frozen=True)
class Source:
    organisation: str
    title: str


@dataclass(frozen=True)
class Picture:
    file: str
    alt: str


@dataclass(frozen=True)
class Topic:
    topic_id: str
    language: str
    origin: Origin
    reviewed_by: str | None
    # The crises of a care plan this topic prepares a family for: the crisis-rehearsal step
    # suggests it when the patient's plan has one of them.
    crises: tuple[CrisisType, ...]
    versions: Mapping[Level, Version]
    teach_back: tuple[TeachBackPoint, ...]
    sources: tuple[Source, ...]
    pictures: Mapping[str, Picture]
    path: str
    order: int

    @property
    def is_reviewed(self) -> bool:
        """Whether a person has checked this text: an original or a person's translation counts
        as checked by its writer only once someone has signed ``reviewed_by``."""
        return self.reviewed_by is not None

    def version(self, level: Level) -> Version:
        return self.versions[level]


@dataclass(frozen=True)
class Library:
    """Every topic in every language it is written in, by ``(topic_id, language)``."""

    topics: Mapping[tuple[str, str], Topic]

    def topic_ids(self) -> tuple[str, ...]:
        english = sorted(
            (t for t in self.topics.values() if t.language == SOURCE_LANGUAGE),
            key=lambda t: (t.order, t.topic_id),
        )
        return tuple(t.topic_id for t in english)

    def languages_of(self, topic_id: str) -> tuple[str, ...]:
        return tuple(sorted(lang for (tid, lang) in self.topics if tid == topic_id))

    def get(self, topic_id: str, language: str) -> Topic | None:
        return self.topics.get((topic_id, language))

    def best(self, topic_id: str, language: str) -> Topic:
        """The topic in ``language`` when written in it, else in English (always present)."""
        return self.topics.get((topic_id, language)) or self.topics[(topic_id, SOURCE_LANGUAGE)]

    def for_crises(self, crises: set[CrisisType]) -> tuple[str, ...]:
        """Topics that prepare for any of ``crises``, in library order."""
        return tuple(
            tid
            for tid in self.topic_ids()
            if crises & set(self.topics[(tid, SOURCE_LANGUAGE)].crises)
        )


# Every topic is written in English first; other languages translate it.
SOURCE_LANGUAGE = "en"

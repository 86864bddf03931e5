"""Translations: every string a person reads goes through gettext (Babel catalogues).

Catalogues live in ``web/locale/<lang>/LC_MESSAGES/messages.po``; ``make messages``
extracts new strings and compiles them. A language without a catalogue falls back to
English, the source language.
"""

from __future__ import annotations

from functools import cache

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from web import LOCALE_DIR

SOURCE_LANGUAGE = "en"


@cache
def available_languages() -> tuple[str, ...]:
    found = {SOURCE_LANGUAGE}
    if LOCALE_DIR.exists():
        found.update(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
    return tuple(sorted(found))


@cache
def translations(language: str) -> NullTranslations:
    if language == SOURCE_LANGUAGE or language not in available_languages():
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [language])


def pick_language(accept_language: str | None, preferred: str | None = None) -> str:
    """The first of the patient's language and the browser's that Hearth has, else English."""
    wanted: list[str] = [preferred] if preferred else []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            wanted.append(tag)
    have = available_languages()
    for tag in wanted:
        try:
            lang = Locale.parse(tag.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            continue
        if lang in have:
            return lang
    return SOURCE_LANGUAGE

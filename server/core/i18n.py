"""Translations: every string a person reads goes through gettext (Babel catalogues).

Catalogues live in ``web/locale/<lang>/LC_MESSAGES/messages.po``; ``make messages``
extracts new strings, updates every catalogue and compiles them to the ``.mo`` files Hearth
loads (both are committed). A language without a catalogue falls back to English, the
source language. Each catalogue's review record says who reviewed it; one nobody has
reviewed yet is marked so to the care team on the pages in that language.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.support import NullTranslations, Translations

from web import LOCALE_DIR

SOURCE_LANGUAGE = "en"
# Each catalogue's review record: who translated it, who reviewed it and when. ``pybabel
# update`` rewrites a catalogue's header, so the record lives beside it, not in it.
REVIEW_RECORD = "REVIEW.txt"
NOT_REVIEWED = "not yet reviewed by a person"


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


def known_language(tag: str | None) -> str | None:
    """The language Hearth has for a tag such as ``ar``, ``es-MX`` or ``fr_CA``, else None."""
    if not tag or len(tag) > 35:
        return None
    try:
        lang = Locale.parse(tag.strip().replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return lang if lang in available_languages() else None


def pick_language(accept_language: str | None, *preferred: str | None) -> str:
    """The first of the preferred languages (most wanted first: the person's own choice, then
    the patient's) that Hearth has, then the browser's Accept-Language, else English."""
    wanted: list[str] = [p for p in preferred if p]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if tag and tag != "*":
            wanted.append(tag)
    for tag in wanted:
        lang = known_language(tag)
        if lang is not None:
            return lang
    return SOURCE_LANGUAGE


def is_rtl(language: str) -> bool:
    """Whether the language is written right to left (Arabic, Hebrew, Persian, Urdu…)."""
    try:
        return Locale.parse(language.replace("-", "_")).character_order == "right-to-left"
    except (ValueError, TypeError, UnknownLocaleError):
        return False


def text_direction(language: str) -> str:
    return "rtl" if is_rtl(language) else "ltr"


@cache
def language_name(language: str) -> str:
    """A language's name in itself ("Español", "العربية"), as a chooser shows it."""
    try:
        name = Locale.parse(language).get_display_name(language) or language
    except (ValueError, TypeError, UnknownLocaleError):
        return language
    return name[:1].upper() + name[1:]


def language_choices() -> list[dict[str, str]]:
    return [
        {"code": lang, "name": language_name(lang), "dir": text_direction(lang)}
        for lang in available_languages()
    ]


@cache
def reviewed_by(language: str) -> str | None:
    """Who reviewed a catalogue, from the ``Reviewed-By:`` line of its review record
    (``web/locale/<lang>/REVIEW.txt``); None while no person has reviewed it. English, the
    source language, needs no review."""
    if language == SOURCE_LANGUAGE:
        return SOURCE_LANGUAGE
    record = LOCALE_DIR / language / REVIEW_RECORD
    if not record.exists():
        return None
    for line in record.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "reviewed-by":
            text = value.strip()
            return None if not text or text.lower().startswith(NOT_REVIEWED) else text
    return None


@cache
def plural_samples(language: str) -> dict[str, int]:
    """One whole number in each plural category of the language (CLDR's, as the browser's
    ``Intl.PluralRules`` names them): {"one": 1, "other": 0} in English, six in Arabic."""
    rule = Locale.parse(language).plural_form
    samples: dict[str, int] = {}
    for n in range(1000):
        samples.setdefault(rule(n), n)
    return samples


def format_moment(at: dt.datetime, zone: str, language: str = SOURCE_LANGUAGE) -> str:
    """A moment as the reader's language writes it, in the zone it names: "Thursday,
    December 3, 2026, 14:30 CET", "jeudi 3 décembre 2026, 14:30 CET", "الخميس، 3 ديسمبر
    2026، 14:30 CET". Hours run 00-23 in every language: a family reads no AM/PM mix-up."""
    local = at.astimezone(ZoneInfo(zone))
    day = format_date(local, "full", locale=language)
    comma = "، " if is_rtl(language) else ", "
    return f"{day}{comma}{format_skeleton('Hm', local, locale=language)} {local.tzname() or zone}"


def date_locale(language: str) -> str:
    """The locale dates are written in: Hearth's English puts the day before the month
    ("Thu 3 Dec"), as British English does; every other language its own way."""
    return "en_GB" if language == SOURCE_LANGUAGE else language


def format_stamp(
    at: dt.datetime,
    zone: str,
    language: str = SOURCE_LANGUAGE,
    *,
    now: dt.datetime | None = None,
    show_zone: bool = False,
) -> str:
    """The one short form every page writes a moment in: "Thu 3 Dec, 13:25", "jeu. 3 déc.,
    13:25", "الخميس، 3 ديسمبر، 13:25", in ``zone``. The year only when it is not ``now``'s
    year; the zone's short name ("GMT", "CET") only with ``show_zone``, for a reader whose own
    zone it is not. ``web/static/js/lib/time.js`` ``formatStamp`` writes the same in pages."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    locale = date_locale(language)
    this_year = now is None or now.astimezone(tz).year == local.year
    day = format_skeleton("MMMEd" if this_year else "yMMMEd", local, locale=locale)
    comma = "، " if is_rtl(language) else ", "
    text = f"{day}{comma}{format_skeleton('Hm', local, locale=locale)}"
    return f"{text} {local.tzname()}" if show_zone and local.tzname() else text

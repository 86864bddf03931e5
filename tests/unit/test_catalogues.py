"""The translation catalogues: every string of the template translated in every language,
placeholders kept, the right number of plural forms, the compiled files current, and each
catalogue's review record honest about who reviewed it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from server.core.i18n import NOT_REVIEWED, REVIEW_RECORD, available_languages, reviewed_by
from web import LOCALE_DIR

LANGUAGES = ("es", "fr", "ar")
# %(name)s and %s as Python formats them, {name} as str.format does.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|%%|\{\w*\}")


def _template() -> Catalog:
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        return read_po(f)


def _catalogue(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, (tuple, list)) else [string]


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_hearth_offers_english_spanish_french_and_arabic() -> None:
    assert set(available_languages()) >= {"en", *LANGUAGES}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_string_of_the_template_is_translated(lang: str) -> None:
    catalogue = _catalogue(lang)
    missing = []
    for wanted in _template():
        if not wanted.id:
            continue
        found = catalogue.get(wanted.id)
        if found is None or not all(form.strip() for form in _forms(found)):
            missing.append(wanted.id)
        elif found.fuzzy:
            missing.append(f"(fuzzy) {wanted.id}")
    assert missing == [], f"{len(missing)} strings not translated in {lang}: {missing[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_kept(lang: str) -> None:
    wrong = []
    for message in _catalogue(lang):
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):
            # Each form names the count or says it in words (Arabic "one minute", "two
            # minutes"), but brings in no placeholder the English lacks.
            allowed = set(_placeholders(message.id[1]))
            wrong += [(message.id, f) for f in _forms(message) if set(_placeholders(f)) - allowed]
            # The general form (English "other", the last) names the count.
            if _placeholders(message.id[1]) != _placeholders(_forms(message)[-1]):
                wrong.append((message.id, _forms(message)[-1]))
        elif _placeholders(message.id) != _placeholders(message.string):
            wrong.append((message.id, message.string))
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_messages_have_every_form_of_the_language(lang: str) -> None:
    catalogue = _catalogue(lang)
    expected = {"es": 3, "fr": 3, "ar": 6}[lang]
    # The language's plural categories (CLDR): Arabic has zero, one, two, few, many and other;
    # Spanish and French one, many (a million) and other.
    assert catalogue.num_plurals == expected
    assert len(Locale.parse(lang).plural_form.tags | {"other"}) == expected
    plurals = [m for m in catalogue if isinstance(m.id, tuple)]
    assert plurals, "the template has plural messages"
    for message in plurals:
        assert len(_forms(message)) == expected and all(_forms(message)), message.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(lang: str) -> None:
    """The .mo Hearth loads is the .po compiled (``make messages``), not an older one."""
    source = _catalogue(lang)
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    stale = [
        m.id
        for m in source
        if m.id and m.string and (compiled.get(m.id) is None or _forms(compiled[m.id]) != _forms(m))
    ]
    assert stale == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_catalogue_says_who_reviewed_it(lang: str) -> None:
    record = (LOCALE_DIR / lang / REVIEW_RECORD).read_text(encoding="utf-8")
    fields = dict(
        line.split(":", 1) for line in record.splitlines() if ":" in line and line[:1] != " "
    )
    assert fields["Translated-By"].strip()
    assert fields["Reviewed-By"].strip()
    # A machine wrote these; until a person signs the record, Hearth says so.
    if fields["Reviewed-By"].strip().lower().startswith(NOT_REVIEWED):
        assert reviewed_by(lang) is None


def test_a_catalogue_a_person_reviewed_is_known_as_reviewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.core.i18n as i18n

    (tmp_path / "es").mkdir()
    (tmp_path / "es" / REVIEW_RECORD).write_text(
        "Translated-By: machine\nReviewed-By: A. Reviewer, palliative care nurse, 2027-01-15\n"
    )
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / REVIEW_RECORD).write_text("Reviewed-By: not yet reviewed by a person\n")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.reviewed_by.cache_clear()
    try:
        assert i18n.reviewed_by("es") == "A. Reviewer, palliative care nurse, 2027-01-15"
        assert i18n.reviewed_by("fr") is None
        assert i18n.reviewed_by("ar") is None  # no record at all
        assert i18n.reviewed_by("en") == "en"
    finally:
        i18n.reviewed_by.cache_clear()

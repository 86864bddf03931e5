"""Messages between a family and the care team (issue 18): what makes one an alert.

A family writes to the team between visits. The thread is not for emergencies (the page says
so, and gives the 24/7 line), but families write what worries them where they are, so two
things put a message on the patient's escalation ladder:

- **red-flag words** in the family's language (English, Spanish, French, Arabic): words that
  may mean an emergency (cannot breathe, bleeding, a fit, will not wake, a fall...). Text and
  word lists are compared after the same normalisation: case folded, accents and Arabic
  diacritics (harakat, tatweel, hamza and madda marks on alef, waw and ya) taken off, the
  Arabic letters written two ways made one (alef maqsura and ya, ta marbuta and ha), and
  apostrophes dropped ("can't" is "cant", "n'arrive" is "narrive"). A list entry matches
  whole words, in order ("fell asleep" is no fall: the lists name "fell over", "has fallen");
  "emergency" is not listed, since a family told the thread is not for emergencies writes
  "this is not an emergency"; in Arabic a word may carry a leading conjunction or preposition
  (wa-, fa-, bi-, li-, al-). English is always checked too: families mix languages.
- **the team's hours**: a message that arrives outside them (e.g. 08:00-18:00 in the team's
  zone) reaches nobody reading the thread, so it climbs the on-call ladder instead.

Pure: no clock, no I/O; the caller passes the time, the hours and the zone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from encounters.detection import AlertCandidate, Rule, Severity

MESSAGE_MAX_CHARS = 2000
RED_FLAG_KEY = "message:red_flag"
AFTER_HOURS_KEY = "message:after_hours"

# Words that may mean an emergency, per language, as a family would write them. Each entry is
# normalised like the text before matching (accents and diacritics may be left in here).
RED_FLAG_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "en": (
            "can't breathe", "cannot breathe", "cant breath", "not breathing",
            "struggling to breathe", "stopped breathing", "choking", "chest pain",
            "bleeding", "vomiting blood", "coughing blood", "seizure", "fitting",
            "unconscious", "unresponsive", "won't wake", "will not wake", "fell over",
            "fell down", "has fallen", "had a fall", "suicide", "want to die", "wants to die",
            "kill myself", "overdose",
            "unbearable pain", "severe pain", "high fever", "suddenly confused",
            "can't pass urine", "ambulance",
        ),
        "es": (
            "no puede respirar", "no puedo respirar", "no respira", "se ahoga", "ahogando",
            "dolor de pecho", "dolor en el pecho", "sangra", "sangrado", "hemorragia",
            "vomita sangre", "tose sangre", "convulsión", "convulsiones", "inconsciente",
            "no despierta", "no se despierta", "se cayó", "se ha caído", "tuvo una caída",
            "suicidio",
            "quiere morir", "quiero morir", "sobredosis", "dolor insoportable",
            "mucho dolor", "fiebre alta", "confundido", "confundida", "no puede orinar",
            "ambulancia",
        ),
        "fr": (
            "ne respire plus", "n'arrive pas à respirer", "ne peut pas respirer",
            "étouffe", "douleur dans la poitrine", "douleur thoracique", "saigne",
            "saignement", "hémorragie", "vomit du sang", "crache du sang", "convulsion",
            "convulsions", "crise d'épilepsie", "inconscient", "inconsciente",
            "ne se réveille pas", "est tombé", "est tombée", "a fait une chute", "suicide",
            "veut mourir", "veux mourir", "surdose", "douleur insupportable",
            "forte fièvre", "désorienté", "désorientée", "ne peut pas uriner", "ambulance",
        ),
        "ar": (
            "لا يستطيع التنفس", "لا أستطيع التنفس", "لا تستطيع التنفس", "لا يتنفس",
            "لا تتنفس", "اختناق", "يختنق", "ألم في الصدر", "ألم بالصدر", "نزيف", "ينزف",
            "تنزف", "يتقيأ دم", "قيء دم", "تشنج", "تشنجات", "فاقد الوعي", "فاقدة الوعي",
            "غائب عن الوعي", "لا يستيقظ", "لا تستيقظ", "سقط", "سقطت", "انتحار",
            "يريد أن يموت", "تريد أن تموت", "جرعة زائدة", "ألم لا يحتمل", "حرارة عالية",
            "حمى شديدة", "مرتبك", "مرتبكة", "إسعاف",
        ),
    }
)  # fmt: skip

# Arabic letters written two ways, made one; tatweel (kashida) removed.
_ARABIC_LETTERS = str.maketrans({"ى": "ي", "ة": "ه", "ـ": None})
_APOSTROPHES = re.compile("['’ʼ`´]")
_WORD = re.compile(r"\w+")
# Clitics an Arabic word may carry in front (and, so, with, for, the): longest first.
_ARABIC_PREFIXES = ("وال", "بال", "فال", "لل", "ال", "و", "ف", "ب", "ل")


def normalise(text: str) -> str:
    """Words of ``text`` as compared: case folded, accents and diacritics off, one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.translate(_ARABIC_LETTERS)
    return " ".join(_WORD.findall(bare))


def _arabic_forms(word: str) -> set[str]:
    forms = {word}
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            forms.add(word[len(prefix) :])
    return forms


@dataclass(frozen=True)
class _Phrase:
    shown: str
    words: tuple[str, ...]


def _phrases(language: str) -> tuple[_Phrase, ...]:
    return tuple(_Phrase(p, tuple(normalise(p).split())) for p in RED_FLAG_WORDS.get(language, ()))


_PHRASES: Mapping[str, tuple[_Phrase, ...]] = MappingProxyType(
    {lang: _phrases(lang) for lang in RED_FLAG_WORDS}
)


def _matches_at(words: list[set[str]], start: int, phrase: _Phrase) -> bool:
    if start + len(phrase.words) > len(words):
        return False
    return all(w in words[start + i] for i, w in enumerate(phrase.words))


def red_flags(text: str, language: str | None) -> tuple[str, ...]:
    """The red-flag entries ``text`` contains (as listed), for the family's language and
    English, each once, in list order."""
    tokens = normalise(text).split()
    words = [_arabic_forms(t) if _is_arabic(t) else {t} for t in tokens]
    languages = dict.fromkeys([language or "en", "en"])
    found: list[str] = []
    for lang in languages:
        for phrase in _PHRASES.get(lang, ()):
            if phrase.words and any(_matches_at(words, i, phrase) for i in range(len(words))):
                found.append(phrase.shown)
    return tuple(dict.fromkeys(found))


def _is_arabic(word: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in word)


# -- the team's hours ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TeamHours:
    """When the team reads the thread, as wall-clock times; ``end`` before ``start`` runs
    past midnight (a night team, "20:00-08:00"). The setting is read and checked by
    ``server.core.settings.parse_team_hours``."""

    start: time
    end: time


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def within_hours(at: datetime, hours: TeamHours, zone: str | None) -> bool:
    """Whether the instant ``at`` falls in the team's hours, read in ``zone`` (an unknown
    zone is read as UTC)."""
    local = at.astimezone(_zone(zone)).time()
    if hours.start <= hours.end:
        return hours.start <= local < hours.end
    return local >= hours.start or local < hours.end


# -- the alert ---------------------------------------------------------------------------------
def message_alert(
    message_id: str, flags: Iterable[str], *, after_hours: bool
) -> AlertCandidate | None:
    """The alert a family's message raises, or None: red-flag words make it high (and it also
    stands for the hours: one climbing alert is enough), a message outside the team's hours
    only makes it moderate. The evidence is the message's id; the summary says why in words."""
    words = tuple(flags)
    if words:
        quoted = ", ".join(f"“{w}”" for w in words)
        summary = f"Message from the family with words that may mean an emergency: {quoted}"
        if after_hours:
            summary += ", sent outside the team's hours"
        return AlertCandidate(
            Rule.FAMILY_MESSAGE,
            Severity.HIGH,
            summary[:300],
            (message_id,),
            RED_FLAG_KEY,
            (RED_FLAG_KEY, AFTER_HOURS_KEY),
        )
    if after_hours:
        return AlertCandidate(
            Rule.FAMILY_MESSAGE,
            Severity.MODERATE,
            "Message from the family sent outside the team's hours",
            (message_id,),
            AFTER_HOURS_KEY,
        )
    return None

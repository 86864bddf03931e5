"""How hard a text is to read, with a formula made for its language.

- English: Flesch–Kincaid grade level (Kincaid et al. 1975): 0.39 × words per sentence
  + 11.8 × syllables per word − 15.59. Plain texts aim at grade 6 or below, the usual
  health-literacy target for patient information.
- Spanish: Fernández-Huerta's reading ease (1959, Flesch adapted to Spanish): 206.84
  − 0.60 × syllables per 100 words − 1.02 × words per sentence. Plain texts aim at 70 or more.
- French: Kandel & Moles's reading ease (1958, Flesch adapted to French): 207 − 1.015 × words
  per sentence − 73.6 × syllables per word. Plain texts aim at 70 or more.
- Arabic: OSMAN (El-Haj & Rayson 2016) in a simplified form, because OSMAN counts syllables
  from the short-vowel marks that everyday Arabic text leaves out: in a word that carries the
  marks, syllables are its long vowels (ا و ي ى) and short-vowel or tanween marks; in one
  without, about one syllable per two letters (Arabic syllables are CV, CVV or CVC); "hard"
  words have more than five such syllables and "long" words more than five letters.
  Score: 200.791 − 1.015 × words per sentence − 24.181 × (hard + long + syllables) / words.
  Higher is easier; plain texts aim at 70 or more. It is an approximation and says so on the
  library page.

Syllables in Spanish and French are counted from the hyphenation dictionaries of LibreOffice
(``pyphen``), one more than the hyphenation points of each word, as the ``textstat`` library
does for languages other than English. English syllables are counted by vowel groups
(English hyphenation patterns under-count them, and ``textstat``'s English mode downloads a
pronouncing dictionary at run time, which a server must not do).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import pyphen

_SENTENCE_END = re.compile(r"[.!?؟]+|\n")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_ARABIC_LONG_VOWELS = frozenset("اويى")
# Fatha, damma, kasra and the three tanween marks.
_ARABIC_SHORT_VOWELS = frozenset("\u064e\u064f\u0650\u064b\u064c\u064d")
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670]")


@dataclass(frozen=True)
class Formula:
    name: str
    # True when a higher score means easier (reading ease); False for a grade level.
    higher_is_easier: bool
    plain_target: float
    approximate: bool = False

    def meets_plain_target(self, score: float) -> bool:
        if self.higher_is_easier:
            return score >= self.plain_target
        return score <= self.plain_target


FLESCH_KINCAID = Formula("Flesch–Kincaid grade", higher_is_easier=False, plain_target=6.0)
FERNANDEZ_HUERTA = Formula("Fernández-Huerta", higher_is_easier=True, plain_target=70.0)
KANDEL_MOLES = Formula("Kandel–Moles", higher_is_easier=True, plain_target=70.0)
OSMAN_SIMPLIFIED = Formula(
    "OSMAN (simplified)", higher_is_easier=True, plain_target=70.0, approximate=True
)
FORMULAS = {
    "en": FLESCH_KINCAID,
    "es": FERNANDEZ_HUERTA,
    "fr": KANDEL_MOLES,
    "ar": OSMAN_SIMPLIFIED,
}
_HYPHENATION = {"es": "es", "fr": "fr"}


@dataclass(frozen=True)
class Readability:
    language: str
    formula: Formula
    score: float
    words: int
    sentences: int

    @property
    def meets_plain_target(self) -> bool:
        return self.formula.meets_plain_target(self.score)


class ReadabilityError(ValueError):
    """No formula for the language, or no words to measure."""


def formula_for(language: str) -> Formula | None:
    return FORMULAS.get(language)


def measure(text: str, language: str) -> Readability:
    formula = FORMULAS.get(language)
    if formula is None:
        raise ReadabilityError(
            f"no readability formula for language '{language}'; "
            f"known: {', '.join(sorted(FORMULAS))}"
        )
    words = _WORD.findall(text)
    if not words:
        raise ReadabilityError("the text has no words to measure")
    sentences = max(1, sum(1 for part in _SENTENCE_END.split(text) if _WORD.search(part)))
    per_sentence = len(words) / sentences
    if language == "ar":
        score = _osman(words, per_sentence)
    else:
        syllables = sum(count_syllables(word, language) for word in words)
        per_word = syllables / len(words)
        if language == "en":
            score = 0.39 * per_sentence + 11.8 * per_word - 15.59
        elif language == "es":
            score = 206.84 - 0.60 * (100 * per_word) - 1.02 * per_sentence
        else:
            score = 207 - 1.015 * per_sentence - 73.6 * per_word
    return Readability(language, formula, round(score, 1), len(words), sentences)


@cache
def _dictionary(language: str) -> pyphen.Pyphen:
    # left/right 1: count every syllable, not only those a typesetter would break at.
    return pyphen.Pyphen(lang=_HYPHENATION[language], left=1, right=1)


@cache
def count_syllables(word: str, language: str) -> int:
    lowered = word.lower()
    if language == "en":
        return _english_syllables(lowered)
    syllables = len(_dictionary(language).positions(lowered)) + 1
    if language == "fr" and syllables > 1 and lowered.endswith(("e", "es")):
        # The French mute final e ("heu-re") is written but not spoken.
        syllables -= 1
    return syllables


def _english_syllables(word: str) -> int:
    """Vowel groups, less a silent final e (not "-le") and a silent "-ed"/"-es" after most
    consonants: the usual rule-based count, within a syllable of a dictionary's for most
    everyday words. English hyphenation patterns count too few (one for "medicine")."""
    groups = len(re.findall(r"[aeiouy]+", word))
    if (
        word.endswith("e")
        and not word.endswith(("le", "ee", "ye"))
        and groups > 1
        or (
            word.endswith(("ed", "es"))
            and len(word) > 3
            and groups > 1
            and word[-3] not in "aeiouydtscxzgh"
        )
    ):
        groups -= 1
    return max(1, groups)


def _arabic_syllables(word: str) -> int:
    if any(ch in _ARABIC_SHORT_VOWELS for ch in word):
        return max(1, sum(1 for ch in word if ch in _ARABIC_LONG_VOWELS | _ARABIC_SHORT_VOWELS))
    # Undiacritised (as most text is): Arabic syllables are CV, CVV or CVC, so about one
    # syllable per two letters.
    return max(1, math.ceil(len(_ARABIC_MARKS.sub("", word)) / 2))


def _osman(words: list[str], per_sentence: float) -> float:
    syllables = [_arabic_syllables(w) for w in words]
    letters = [len(_ARABIC_MARKS.sub("", w)) for w in words]
    hard = sum(1 for s in syllables if s > 5)
    long_words = sum(1 for n in letters if n > 5)
    per_word = (hard + long_words + sum(syllables)) / len(words)
    return 200.791 - 1.015 * per_sentence - 24.181 * per_word

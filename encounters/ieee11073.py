"""IEEE 11073-20601 number formats: SFLOAT (16 bits) and FLOAT (32 bits).

Bluetooth health devices send measurements as a mantissa and a base-10 exponent.
We keep that pair exactly (so 36.6 stays 36.6 and 2.0 stays distinct from 2) and
convert to ``float`` only at the edge. Special words (NaN, NRes, ±INF, reserved)
are never numbers: they carry the FHIR dataAbsentReason instead, as the HL7 Personal
Health Device IG maps them.

Layouts and special words: docs/clinical.md, "Bluetooth health devices"; test vectors:
tests/unit/test_ieee11073.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final, Literal

AbsentReason = Literal["not-a-number", "error", "positive-infinity", "negative-infinity"]


class Special(Enum):
    """A reserved word that means "no number"; ``absent_reason`` is its FHIR mapping."""

    NAN = "nan"
    NRES = "nres"
    POSITIVE_INFINITY = "positive_infinity"
    NEGATIVE_INFINITY = "negative_infinity"
    RESERVED = "reserved"

    @property
    def absent_reason(self) -> AbsentReason:
        # HL7 Personal Health Device IG: NRes and RFU both map to "error".
        if self is Special.NAN:
            return "not-a-number"
        if self is Special.POSITIVE_INFINITY:
            return "positive-infinity"
        if self is Special.NEGATIVE_INFINITY:
            return "negative-infinity"
        return "error"


# Special words are compared on the whole word (the Wireshark
# approach), before any sign extension, so exponent-0 mantissa 0x800 is NRes, not -2048.
SFLOAT_SPECIALS: Final[Mapping[int, Special]] = {
    0x07FF: Special.NAN,
    0x0800: Special.NRES,
    0x07FE: Special.POSITIVE_INFINITY,
    0x0802: Special.NEGATIVE_INFINITY,
    0x0801: Special.RESERVED,
}
FLOAT_SPECIALS: Final[Mapping[int, Special]] = {
    0x007FFFFF: Special.NAN,
    0x00800000: Special.NRES,
    0x007FFFFE: Special.POSITIVE_INFINITY,
    0x00800002: Special.NEGATIVE_INFINITY,
    0x00800001: Special.RESERVED,
}

_SFLOAT_SPECIAL_WORDS = {special: word for word, special in SFLOAT_SPECIALS.items()}
_FLOAT_SPECIAL_WORDS = {special: word for word, special in FLOAT_SPECIALS.items()}


@dataclass(frozen=True)
class MderNumber:
    """A decoded SFLOAT or FLOAT: either ``mantissa × 10**exponent`` or a special.

    When ``special`` is set, mantissa and exponent are 0 and carry no meaning.
    """

    mantissa: int = 0
    exponent: int = 0
    special: Special | None = None

    @classmethod
    def of_special(cls, special: Special) -> MderNumber:
        return cls(special=special)

    @property
    def is_number(self) -> bool:
        return self.special is None

    @property
    def absent_reason(self) -> AbsentReason | None:
        return None if self.special is None else self.special.absent_reason

    def to_decimal(self) -> Decimal | None:
        """The exact value, or None for a special word."""
        if self.special is not None:
            return None
        digits = tuple(int(d) for d in str(abs(self.mantissa)))
        # Built from the tuple so no decimal context (precision, rounding) is involved.
        return Decimal((1 if self.mantissa < 0 else 0, digits, self.exponent))

    def to_float(self) -> float | None:
        value = self.to_decimal()
        return None if value is None else float(value)


def _sign_extend(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw >= 1 << (bits - 1) else raw


def decode_sfloat(word: int) -> MderNumber:
    """Decode a 16-bit SFLOAT word (already assembled little-endian)."""
    if not 0 <= word <= 0xFFFF:
        raise ValueError("an SFLOAT word is 16 bits: 0 to 0xFFFF")
    special = SFLOAT_SPECIALS.get(word)
    if special is not None:
        return MderNumber.of_special(special)
    return MderNumber(_sign_extend(word & 0x0FFF, 12), _sign_extend(word >> 12, 4))


def decode_float(word: int) -> MderNumber:
    """Decode a 32-bit FLOAT word (already assembled little-endian)."""
    if not 0 <= word <= 0xFFFFFFFF:
        raise ValueError("a FLOAT word is 32 bits: 0 to 0xFFFFFFFF")
    special = FLOAT_SPECIALS.get(word)
    if special is not None:
        return MderNumber.of_special(special)
    # The 24-bit mantissa's sign bit is 0x800000 (one public library wrongly uses 0x080000).
    return MderNumber(_sign_extend(word & 0xFFFFFF, 24), _sign_extend(word >> 24, 8))


def encode_sfloat(number: MderNumber) -> int:
    """The 16-bit word for ``number``; used by tests and simulators."""
    if number.special is not None:
        return _SFLOAT_SPECIAL_WORDS[number.special]
    if not -8 <= number.exponent <= 7 or not -2048 <= number.mantissa <= 2047:
        raise ValueError("an SFLOAT holds exponent -8..7 and mantissa -2048..2047")
    word = ((number.exponent & 0xF) << 12) | (number.mantissa & 0x0FFF)
    if word in SFLOAT_SPECIALS:
        raise ValueError("this mantissa at exponent 0 collides with a special word")
    return word


def encode_float(number: MderNumber) -> int:
    """The 32-bit word for ``number``; used by tests and simulators."""
    if number.special is not None:
        return _FLOAT_SPECIAL_WORDS[number.special]
    if not -128 <= number.exponent <= 127 or not -0x800000 <= number.mantissa <= 0x7FFFFF:
        raise ValueError("a FLOAT holds exponent -128..127 and mantissa -2**23..2**23-1")
    word = ((number.exponent & 0xFF) << 24) | (number.mantissa & 0xFFFFFF)
    if word in FLOAT_SPECIALS:
        raise ValueError("this mantissa at exponent 0 collides with a special word")
    return word

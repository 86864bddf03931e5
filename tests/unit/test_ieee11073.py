"""SFLOAT and FLOAT decoding: the HL7 PHD IG test vectors, special values, properties."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from encounters.ieee11073 import (
    FLOAT_SPECIALS,
    SFLOAT_SPECIALS,
    MderNumber,
    Special,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)


def _word(wire: str) -> int:
    return int.from_bytes(bytes.fromhex(wire), "little")


@pytest.mark.parametrize(
    ("wire", "exponent", "mantissa", "text"),
    [
        ("61 00", 0, 97, "97"),
        ("14 F0", -1, 20, "2.0"),
        ("C8 E0", -2, 200, "2.00"),
        ("02 10", 1, 2, "2E+1"),
        ("2E 0B", 0, -1234, "-1234"),
        ("6E F1", -1, 366, "36.6"),
        ("FB FF", -1, -5, "-0.5"),
    ],
)
def test_sfloat_test_vectors_decode_to_exact_mantissa_and_exponent(
    wire: str, exponent: int, mantissa: int, text: str
) -> None:
    number = decode_sfloat(_word(wire))
    assert (number.mantissa, number.exponent, number.special) == (mantissa, exponent, None)
    assert str(number.to_decimal()) == text
    assert encode_sfloat(number).to_bytes(2, "little") == bytes.fromhex(wire)


@pytest.mark.parametrize(
    ("wire", "special", "reason"),
    [
        ("FF 07", Special.NAN, "not-a-number"),
        ("00 08", Special.NRES, "error"),
        ("FE 07", Special.POSITIVE_INFINITY, "positive-infinity"),
        ("02 08", Special.NEGATIVE_INFINITY, "negative-infinity"),
        ("01 08", Special.RESERVED, "error"),
    ],
)
def test_sfloat_special_words_carry_their_data_absent_reason(
    wire: str, special: Special, reason: str
) -> None:
    number = decode_sfloat(_word(wire))
    assert number.special is special
    assert number.absent_reason == reason
    assert not number.is_number
    assert number.to_decimal() is None
    assert number.to_float() is None


def test_sfloat_nres_is_checked_before_sign_extension_so_it_is_not_minus_2048() -> None:
    assert decode_sfloat(0x0800).special is Special.NRES


def test_sfloat_specials_are_matched_on_the_whole_word_not_the_mantissa_alone() -> None:
    # Mantissa 0x7FF with exponent 1 is the number 20470, not NaN.
    assert decode_sfloat(0x17FF).to_decimal() == Decimal(20470)
    # Mantissa 0x800 with exponent -1 is -204.8, not NRes.
    assert decode_sfloat(0xF800).to_decimal() == Decimal("-204.8")


def test_sfloat_keeps_precision_so_2_and_2_point_00_are_distinct_encodings() -> None:
    two, two_hundredths = decode_sfloat(0xF014), decode_sfloat(0xE0C8)
    assert two != two_hundredths
    assert two.to_decimal() == two_hundredths.to_decimal() == 2


def test_sfloat_36_6_converts_to_the_float_36_6_exactly() -> None:
    assert decode_sfloat(0xF16E).to_float() == 36.6


@pytest.mark.parametrize(
    ("wire", "exponent", "mantissa", "text"),
    [
        ("14 00 00 FF", -1, 20, "2.0"),
        ("6E 01 00 FF", -1, 366, "36.6"),
        ("DA 03 00 FF", -1, 986, "98.6"),
        ("A6 0E 00 FE", -2, 3750, "37.50"),
        ("2E FB FF 00", 0, -1234, "-1234"),
    ],
)
def test_float_test_vectors_decode_to_exact_mantissa_and_exponent(
    wire: str, exponent: int, mantissa: int, text: str
) -> None:
    number = decode_float(_word(wire))
    assert (number.mantissa, number.exponent, number.special) == (mantissa, exponent, None)
    assert str(number.to_decimal()) == text
    assert encode_float(number).to_bytes(4, "little") == bytes.fromhex(wire)


@pytest.mark.parametrize(
    ("wire", "special", "reason"),
    [
        ("FF FF 7F 00", Special.NAN, "not-a-number"),
        ("00 00 80 00", Special.NRES, "error"),
        ("FE FF 7F 00", Special.POSITIVE_INFINITY, "positive-infinity"),
        ("02 00 80 00", Special.NEGATIVE_INFINITY, "negative-infinity"),
        ("01 00 80 00", Special.RESERVED, "error"),
    ],
)
def test_float_special_words_carry_their_data_absent_reason(
    wire: str, special: Special, reason: str
) -> None:
    number = decode_float(_word(wire))
    assert number.special is special
    assert number.absent_reason == reason
    assert number.to_float() is None


def test_float_sign_bit_of_the_mantissa_is_0x800000_not_0x080000() -> None:
    # One public library sign-extends at 0x080000; 0x080000 is the positive 524288.
    assert decode_float(0x00080000).to_decimal() == Decimal(524288)
    assert decode_float(0x00FFFFFF).to_decimal() == Decimal(-1)


def test_float_exponent_is_the_signed_top_byte() -> None:
    assert decode_float(0x7F000001).to_decimal() == Decimal("1E+127")
    assert decode_float(0x80000001).to_decimal() == Decimal("1E-128")


def test_decoders_refuse_words_wider_than_their_format() -> None:
    with pytest.raises(ValueError):
        decode_sfloat(0x10000)
    with pytest.raises(ValueError):
        decode_float(-1)


def test_encoders_refuse_numbers_that_do_not_fit_or_collide_with_specials() -> None:
    with pytest.raises(ValueError):
        encode_sfloat(MderNumber(2048, 0))
    with pytest.raises(ValueError):
        encode_sfloat(MderNumber(1, 8))
    with pytest.raises(ValueError):
        encode_sfloat(MderNumber(2047, 0))  # the NaN word
    with pytest.raises(ValueError):
        encode_float(MderNumber(0x800000, 0))
    with pytest.raises(ValueError):
        encode_float(MderNumber(-0x800000, 0))  # the NRes word


@given(st.integers(0, 0xFFFF))
def test_every_sfloat_word_decodes_and_encodes_back_to_itself(word: int) -> None:
    number = decode_sfloat(word)
    assert (number.special is not None) == (word in SFLOAT_SPECIALS)
    assert encode_sfloat(number) == word


@given(st.integers(0, 0xFFFFFFFF))
def test_every_float_word_decodes_and_encodes_back_to_itself(word: int) -> None:
    number = decode_float(word)
    assert (number.special is not None) == (word in FLOAT_SPECIALS)
    assert encode_float(number) == word


@given(st.integers(-2048, 2047), st.integers(-8, 7))
def test_sfloat_value_is_mantissa_times_ten_to_the_exponent(mantissa: int, exponent: int) -> None:
    number = MderNumber(mantissa, exponent)
    try:
        word = encode_sfloat(number)
    except ValueError:
        assert exponent == 0 and 0x7FE <= mantissa & 0xFFF <= 0x802
        return
    assert decode_sfloat(word).to_decimal() == Decimal(mantissa) * Decimal(10) ** exponent

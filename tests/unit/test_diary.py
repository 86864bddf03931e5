from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.diary import (
    DIARY_ITEMS,
    DIARY_SCORE_ITEMS,
    WORRY_MAX_CHARS,
    AnsweredBy,
    validate_diary_entry,
)
from encounters.errors import ValidationError

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def entry(**overrides: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "client_id": "0b6f2c1e-7c1d-4c38-9a55-1f2d3c4b5a69",
        "recorded_at": "2025-03-10T08:55:00+00:00",
        "items": {"pain": 3},
    }
    obj.update(overrides)
    return obj


def test_accepts_a_full_check_in_with_every_item_and_a_worry() -> None:
    items: dict[str, object] = {item: 5 for item in DIARY_SCORE_ITEMS}
    items["worry"] = "Whether we can manage at night"
    result = validate_diary_entry(entry(items=items), now=NOW)
    assert dict(result.scores) == {item: 5 for item in DIARY_SCORE_ITEMS}
    assert result.worry == "Whether we can manage at night"
    assert result.answered_by is AnsweredBy.PATIENT


def test_keeps_only_the_items_the_person_answered() -> None:
    result = validate_diary_entry(entry(items={"pain": 2, "sleep": 6}), now=NOW)
    assert dict(result.scores) == {"pain": 2, "sleep": 6}
    assert result.worry is None


def test_accepts_a_worry_alone_as_a_check_in() -> None:
    result = validate_diary_entry(entry(items={"worry": "Mum is not eating"}), now=NOW)
    assert dict(result.scores) == {}
    assert result.worry == "Mum is not eating"


@pytest.mark.parametrize("items", [{}, {"worry": "   "}, {"worry": None}])
def test_refuses_an_entry_with_no_answered_item(items: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(items=items), now=NOW)
    assert caught.value.code == "empty_entry"


def test_refuses_an_unknown_item_and_names_it() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(items={"pain": 2, "nausea": 4}), now=NOW)
    assert caught.value.code == "unknown_field"
    assert caught.value.field == "items.nausea"


def test_refuses_an_unknown_top_level_field() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(patient_id="p-1"), now=NOW)
    assert caught.value.code == "unknown_field"


@pytest.mark.parametrize("value", [-1, 11, 3.0, "3", True, None])
def test_refuses_a_score_that_is_not_a_whole_number_from_0_to_10(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(items={"pain": value}), now=NOW)
    assert caught.value.field == "items.pain"


@pytest.mark.parametrize("value", [0, 10])
def test_accepts_both_ends_of_the_scale(value: int) -> None:
    assert validate_diary_entry(entry(items={"mood": value}), now=NOW).scores["mood"] == value


@pytest.mark.parametrize("client_id", [None, "", "a" * 65, "has space", 42])
def test_refuses_a_missing_or_malformed_client_id(client_id: object) -> None:
    obj = entry(client_id=client_id)
    if client_id is None:
        del obj["client_id"]
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(obj, now=NOW)
    assert caught.value.field == "client_id"


@pytest.mark.parametrize("recorded_at", ["2025-03-10T08:55:00", "yesterday", 1741596900, None])
def test_refuses_a_recorded_at_without_offset_or_not_iso(recorded_at: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(recorded_at=recorded_at), now=NOW)
    assert caught.value.field == "recorded_at"


def test_accepts_a_recorded_at_exactly_five_minutes_ahead_of_now() -> None:
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert validate_diary_entry(entry(recorded_at=ahead), now=NOW).recorded_at == NOW + timedelta(
        minutes=5
    )


def test_refuses_a_recorded_at_more_than_five_minutes_ahead_of_now() -> None:
    ahead = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(recorded_at=ahead), now=NOW)
    assert caught.value.code == "in_future"


def test_stores_recorded_at_in_utc() -> None:
    result = validate_diary_entry(entry(recorded_at="2025-03-10T10:30:00+02:00"), now=NOW)
    assert result.recorded_at == datetime(2025, 3, 10, 8, 30, tzinfo=UTC)
    assert result.recorded_at.utcoffset() == timedelta(0)


def test_accepts_a_z_suffix_time() -> None:
    result = validate_diary_entry(entry(recorded_at="2025-03-10T08:00:00Z"), now=NOW)
    assert result.recorded_at == datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def test_refuses_a_naive_now() -> None:
    with pytest.raises(ValidationError):
        validate_diary_entry(entry(), now=NOW.replace(tzinfo=None))


def test_accepts_a_worry_of_the_maximum_length_and_refuses_one_more_character() -> None:
    at_limit = validate_diary_entry(entry(items={"worry": "w" * WORRY_MAX_CHARS}), now=NOW)
    assert at_limit.worry is not None and len(at_limit.worry) == WORRY_MAX_CHARS
    secret = "private words " * 80
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(items={"worry": secret[: WORRY_MAX_CHARS + 1]}), now=NOW)
    assert caught.value.field == "items.worry"
    assert "private" not in caught.value.message


def test_records_who_answered() -> None:
    result = validate_diary_entry(entry(answered_by="family"), now=NOW)
    assert result.answered_by is AnsweredBy.FAMILY
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(answered_by="neighbour"), now=NOW)
    assert caught.value.field == "answered_by"


def test_every_item_has_a_question_and_words_at_both_ends() -> None:
    assert {item.item_id for item in DIARY_ITEMS} == DIARY_SCORE_ITEMS
    expected = {"pain", "breathlessness", "sleep", "appetite", "mood", "drowsiness"}
    assert expected == DIARY_SCORE_ITEMS
    for item in DIARY_ITEMS:
        assert item.question.endswith("?")
        assert item.anchor_0 and item.anchor_10 and item.anchor_0 != item.anchor_10
        # Low literacy: short questions.
        assert len(item.question.split()) <= 10


@settings(deadline=None)
@given(
    scores=st.dictionaries(
        st.sampled_from(sorted(DIARY_SCORE_ITEMS)), st.integers(0, 10), min_size=1
    ),
    offset_min=st.integers(-14 * 24 * 60, 5),
    zone_h=st.integers(-12, 14),
)
def test_any_answered_subset_of_valid_scores_is_kept_exactly(
    scores: dict[str, int], offset_min: int, zone_h: int
) -> None:
    recorded = (NOW + timedelta(minutes=offset_min)).astimezone(timezone(timedelta(hours=zone_h)))
    result = validate_diary_entry(entry(items=scores, recorded_at=recorded.isoformat()), now=NOW)
    assert dict(result.scores) == scores
    assert result.recorded_at == recorded


@settings(deadline=None)
@given(
    item=st.sampled_from(sorted(DIARY_SCORE_ITEMS)),
    value=st.integers().filter(lambda v: not 0 <= v <= 10),
)
def test_any_score_outside_0_to_10_is_refused(item: str, value: int) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_diary_entry(entry(items={item: value}), now=NOW)
    assert caught.value.code == "out_of_range"

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from encounters.intervals import Interval, is_within_one, merge_intervals, subtract_intervals

BASE = datetime(2026, 3, 2, tzinfo=UTC)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def span(start_minute: int, end_minute: int) -> Interval:
    return (at(start_minute), at(end_minute))


def minutes_covered(intervals: list[Interval]) -> set[int]:
    covered: set[int] = set()
    for start, end in intervals:
        covered.update(
            range((start - BASE) // timedelta(minutes=1), (end - BASE) // timedelta(minutes=1))
        )
    return covered


def is_sorted_and_apart(intervals: list[Interval]) -> bool:
    return all(start < end for start, end in intervals) and all(
        first[1] < second[0] for first, second in zip(intervals, intervals[1:], strict=False)
    )


raw_intervals = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 300)).map(lambda pair: span(*pair)), max_size=12
)


def test_merge_joins_overlapping_and_touching_intervals_and_drops_empty_ones() -> None:
    merged = merge_intervals([span(50, 60), span(0, 10), span(10, 20), span(15, 30), span(40, 40)])

    assert merged == [span(0, 30), span(50, 60)]


def test_subtract_cuts_holes_and_trims_edges() -> None:
    result = subtract_intervals(
        [span(0, 100), span(200, 300)], [span(-10, 10), span(40, 50), span(90, 210)]
    )

    assert result == [span(10, 40), span(50, 90), span(210, 300)]


def test_is_within_one_needs_a_single_interval_to_hold_the_whole_span() -> None:
    intervals = [span(0, 60), span(60 + 1, 120)]

    assert is_within_one(intervals, at(0), at(60))
    assert is_within_one(intervals, at(70), at(120))
    assert not is_within_one(intervals, at(50), at(70))
    assert not is_within_one(intervals, at(-5), at(10))
    assert not is_within_one([], at(0), at(1))


@settings(deadline=None)
@given(raw_intervals)
def test_merge_covers_exactly_the_same_minutes_sorted_and_apart(intervals: list[Interval]) -> None:
    merged = merge_intervals(intervals)

    assert minutes_covered(merged) == minutes_covered(intervals)
    assert is_sorted_and_apart(merged)


@settings(deadline=None)
@given(raw_intervals, raw_intervals)
def test_subtract_covers_exactly_the_minutes_of_base_not_in_cuts(
    base: list[Interval], cuts: list[Interval]
) -> None:
    result = subtract_intervals(merge_intervals(base), merge_intervals(cuts))

    assert minutes_covered(result) == minutes_covered(base) - minutes_covered(cuts)
    assert is_sorted_and_apart(result)


@settings(deadline=None)
@given(raw_intervals, st.integers(0, 300), st.integers(1, 60))
def test_is_within_one_agrees_with_a_search_of_every_interval(
    intervals: list[Interval], start: int, length: int
) -> None:
    merged = merge_intervals(intervals)

    expected = any(low <= at(start) and at(start + length) <= high for low, high in merged)
    assert is_within_one(merged, at(start), at(start + length)) is expected

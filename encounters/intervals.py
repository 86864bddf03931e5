"""Half-open time intervals ``[start, end)`` kept as sorted, non-overlapping lists.

Free time is working time minus time off minus bookings. Working on sorted lists makes each
step one linear sweep, so a month of a clinician's diary costs microseconds per interval
rather than a loop over every minute.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import TypeAlias

Interval: TypeAlias = tuple[datetime, datetime]


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the union of ``intervals``, sorted, with touching intervals joined.

    Empty intervals (end not after start) are dropped.
    """
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract_intervals(base: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """Return the parts of ``base`` that no interval of ``cuts`` covers.

    Both lists must be sorted and non-overlapping, as :func:`merge_intervals` returns them.
    """
    result: list[Interval] = []
    cut_index = 0
    for start, end in base:
        # Cuts that end before this interval starts cannot touch it or any later one.
        while cut_index < len(cuts) and cuts[cut_index][1] <= start:
            cut_index += 1
        index = cut_index
        while index < len(cuts) and cuts[index][0] < end:
            cut_start, cut_end = cuts[index]
            if cut_start > start:
                result.append((start, cut_start))
            start = max(start, cut_end)
            if start >= end:
                break
            index += 1
        if start < end:
            result.append((start, end))
    return result


def is_within_one(intervals: list[Interval], start: datetime, end: datetime) -> bool:
    """Say whether one interval of the sorted, merged ``intervals`` holds all of [start, end)."""
    index = bisect_right(intervals, start, key=_start_of) - 1
    return index >= 0 and intervals[index][0] <= start and end <= intervals[index][1]


def _start_of(interval: Interval) -> datetime:
    return interval[0]

"""What a client may name that every database stores and Python's arithmetic survives: row ids
and times.

An id is a whole number from 1 to ``MAX_ID``, the largest an INTEGER column holds: a larger
one cannot name a row, and the database refuses to compare with it (SQLite cannot even bind
it). A time is in the years ``FIRST_YEAR`` to ``LAST_YEAR``: any a visit, a reading or a report
could be at, with years to spare, where a typo or a probe at the edge of Python's calendar
would overflow the arithmetic done with it (a visit's end, the day after a range, a zone's
offset). Both are refused with the field named: ids in a URL by ``parse_id``, query times by
``server.api.registry``, and bodies by these pydantic types.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from server.core.storable import MAX_ID

FIRST_YEAR, LAST_YEAR = 1900, 2199


def year_out_of_range(year: int) -> str | None:
    """Why a time in ``year`` is refused, as words; None when it is within range."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return f"must be in the years {FIRST_YEAR} to {LAST_YEAR}"


def _within_range(value: dt.datetime) -> dt.datetime:
    problem = year_out_of_range(value.year)
    if problem is not None:
        raise ValueError(problem)
    return value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A time with its zone, within range.
AwareTime = Annotated[AwareDatetime, AfterValidator(_within_range)]

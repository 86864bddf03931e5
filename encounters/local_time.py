"""Time zones for scheduling: wall-clock times in, UTC instants stored, local text out.

Hearth stores every instant as an aware UTC datetime. People plan in wall-clock time in
their own zone ("09:00 to 17:00 in Europe/London"), so working hours are read here as
wall-clock times and turned into UTC instants for one calendar date at a time.

A wall-clock time does not always name exactly one instant. PEP 495 leaves the choice to
the caller, and Hearth's rule is: *a wall-clock time on a date means the first moment at
which a clock in that zone shows that time or a later one.* Hence

- a time the clocks skip (02:30 on the March change in New York) means the moment the
  clocks jump (03:00 EDT), so a shift "from 02:30" starts when the clinician can start;
- a time the clocks show twice (01:30 on the November change) means its first occurrence,
  so a shift "until 01:30" ends the first time the clinician's clock reaches 01:30.

Both follow from a clinician's shift being a continuous stretch of real time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from encounters.errors import ValidationError

# Locale-free names: the server's locale must not change what a clinician reads.
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
# Transitions in the tz database fall on whole seconds, so a search stops at one second.
_TRANSITION_PRECISION = timedelta(seconds=1)
# A zone name in an error message is cut short so a hostile value cannot flood the logs.
_ZONE_NAME_SHOWN_CHARS = 64


class InvalidTimeError(ValidationError):
    """A datetime or a time zone name cannot be used as a scheduling time."""

    code = "invalid_time"


def load_zone(zone_name: str, *, field: str = "zone") -> ZoneInfo:
    """Return the IANA time zone called ``zone_name``, or refuse the name."""
    try:
        return ZoneInfo(zone_name)
    # ValueError: a key that is not a relative path; OSError: a directory or an unreadable
    # file under the zone path on some platforms. All mean "no such zone" to the caller.
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        shown = zone_name[:_ZONE_NAME_SHOWN_CHARS]
        raise InvalidTimeError(
            f"{field} {shown!r} is not a known IANA time zone name; "
            "expected a name such as 'Europe/London' or 'America/New_York'.",
            code="unknown_zone",
            field=field,
        ) from error


def to_utc(value: datetime, field: str) -> datetime:
    """Return ``value`` as a UTC datetime, refusing a naive one or a skipped local time.

    A datetime given in a named zone at a wall-clock time that the zone skips (02:30 on the
    March change in London) never happened; it is refused rather than silently moved.
    """
    zone = value.tzinfo
    if zone is None or value.utcoffset() is None:
        raise InvalidTimeError(
            f"{field} has no time zone; expected an aware datetime, for example in UTC.",
            code="naive_datetime",
            field=field,
        )
    at_utc = value.astimezone(UTC)
    # Naive comparison ignores fold, so both occurrences of a repeated time pass.
    if at_utc.astimezone(zone).replace(tzinfo=None) != value.replace(tzinfo=None):
        raise InvalidTimeError(
            f"{field} is {value.replace(tzinfo=None):%Y-%m-%d %H:%M} in {zone}, a time the "
            "clocks skip at a daylight-saving change; expected a time that exists there.",
            code="nonexistent_local_time",
            field=field,
        )
    return at_utc


def wall_time_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """Return the first instant at which a clock in ``zone`` shows ``wall`` or later on ``day``.

    ``wall`` must be naive. See the module docstring for why skipped and repeated times
    resolve the way they do.
    """
    local = datetime.combine(day, wall, tzinfo=zone)  # fold=0: the first of a repeated time
    at_utc = local.astimezone(UTC)
    if at_utc.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return at_utc
    # Skipped. fold=0 applied the offset from before the change, so the jump lies in
    # (at_utc - gap, at_utc]; the first instant showing a later time is the jump itself.
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before is None or after is None:  # pragma: no cover - a ZoneInfo always has offsets
        return at_utc
    return _first_offset_change(at_utc - (after - before), at_utc, zone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """Return the instant ``day`` begins in ``zone``, as UTC."""
    return wall_time_to_utc(day, time(0), zone)


def local_date(at_utc: datetime, zone: ZoneInfo) -> date:
    """Return the calendar date in ``zone`` at the instant ``at_utc``."""
    return at_utc.astimezone(zone).date()


def utc_offset_at(at_utc: datetime, zone: ZoneInfo) -> timedelta:
    """Return the offset from UTC that clocks in ``zone`` show at ``at_utc``."""
    offset = at_utc.astimezone(zone).utcoffset()
    return offset if offset is not None else timedelta(0)


def utc_offset_changes(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Return the instants in ``(start, end)`` at which ``zone`` changes its UTC offset.

    Meant for spans of about a day or less: two changes that cancel out inside one span
    would be missed, and no zone in the tz database changes twice within a day.
    """
    changes: list[datetime] = []
    last = end - _TRANSITION_PRECISION
    while start < last and utc_offset_at(start, zone) != utc_offset_at(last, zone):
        start = _first_offset_change(start, last, zone)
        changes.append(start)
    return changes


def _first_offset_change(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """Bisect for the first instant after ``low`` whose offset differs from ``low``'s.

    Requires that the offsets at ``low`` and ``high`` differ.
    """
    offset_before = utc_offset_at(low, zone)
    # Whole seconds on both ends keep every midpoint on a whole second, so the search lands
    # exactly on the change rather than somewhere within a second after it.
    low = low.replace(microsecond=0)
    if high.microsecond:
        high = high.replace(microsecond=0) + _TRANSITION_PRECISION
    while high - low > _TRANSITION_PRECISION:
        middle = low + _TRANSITION_PRECISION * ((high - low) // _TRANSITION_PRECISION // 2)
        if utc_offset_at(middle, zone) == offset_before:
            low = middle
        else:
            high = middle
    return high


def zone_abbreviation(at_utc: datetime, zone_name: str) -> str:
    """Return the abbreviation clocks in the zone use at ``at_utc`` ("GMT", "BST", "EDT")."""
    local = to_utc(at_utc, "at_utc").astimezone(load_zone(zone_name))
    return local.tzname() or zone_name


def format_in_zone(at_utc: datetime, zone_name: str) -> str:
    """Show an instant in a viewer's zone, with the zone named: "Tue 3 Mar 2026, 14:30 GMT".

    The abbreviation tells the two occurrences of a repeated hour apart (01:30 BST, then
    01:30 GMT). Callers show ``zone_name`` itself beside it where abbreviations are
    ambiguous (IST is used in India, Ireland and Israel).
    """
    local = to_utc(at_utc, "at_utc").astimezone(load_zone(zone_name))
    weekday = _WEEKDAY_NAMES[local.weekday()]
    month = _MONTH_NAMES[local.month - 1]
    abbreviation = local.tzname() or zone_name
    return f"{weekday} {local.day} {month} {local.year}, {local:%H:%M} {abbreviation}"


def format_span_in_zone(starts_at: datetime, ends_at: datetime, zone_name: str) -> str:
    """Show a stretch of time in a viewer's zone: "from Tue 3 Mar 2026, 10:00 GMT to ..."."""
    return f"from {format_in_zone(starts_at, zone_name)} to {format_in_zone(ends_at, zone_name)}"

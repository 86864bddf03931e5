"""When a visit's waiting room opens to its family.

A family link works long before its visit (reminders carry one days ahead), so that the family
can open it and try the device check whenever they like. The waiting room itself, where the
clinician sees them and may let them in, opens only shortly before the booked start
(``HEARTH_LOBBY_OPENS_MINUTES``): a family is not left waiting for hours, and a link is not a
way into a live room for the whole of its life. Clinicians are not held to this window.
"""

from __future__ import annotations

import datetime as dt

from server.core.settings import Settings


def lobby_opens_at(starts_at: dt.datetime, settings: Settings) -> dt.datetime:
    """The first moment a visit booked for ``starts_at`` admits its family to the lobby."""
    return starts_at - dt.timedelta(minutes=settings.lobby_opens_minutes)


def is_lobby_open(starts_at: dt.datetime, settings: Settings, now: dt.datetime) -> bool:
    return now >= lobby_opens_at(starts_at, settings)

"""Counting failures in a sliding window: logins per account and per address, link guesses.

In memory, per process. With several app nodes behind a balancer each node counts on its
own, so the effective limit is at most the node count times the figure here.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    failures: int
    window: dt.timedelta


# A person mistyping a password a few times is not locked out; a guesser is slowed to a
# crawl. Per account: 5 in 15 min (OWASP ASVS 6.3.1 asks for throttling, not lockout).
LOGIN_PER_ACCOUNT = Limit(5, dt.timedelta(minutes=15))
# Per address: higher, since a clinic's staff may share one NAT address.
LOGIN_PER_ADDRESS = Limit(20, dt.timedelta(minutes=15))
# Link guessing: 429 after 10 failed tokens a minute from one address; a valid link used from
# any other address still works, so a guesser cannot lock a family out.
LINK_PER_ADDRESS = Limit(10, dt.timedelta(minutes=1))

MAX_KEYS = 100_000


class FailureCounter:
    def __init__(self) -> None:
        self._events: dict[str, deque[dt.datetime]] = {}

    def _prune(self, key: str, limit: Limit, now: dt.datetime) -> deque[dt.datetime]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and now - events[0] >= limit.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    def retry_after(self, key: str, limit: Limit, now: dt.datetime) -> int | None:
        """Seconds until another attempt is allowed, or None if allowed now."""
        events = self._prune(key, limit, now)
        if len(events) < limit.failures:
            return None
        return max(1, int((events[0] + limit.window - now).total_seconds()) + 1)

    def fail(self, key: str, now: dt.datetime) -> None:
        if len(self._events) >= MAX_KEYS and key not in self._events:
            # Bounded memory under a flood of distinct keys: forget the oldest key.
            self._events.pop(next(iter(self._events)))
        self._events.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        self._events.pop(key, None)

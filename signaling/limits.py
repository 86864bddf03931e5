"""Per-connection message rate: a token bucket."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# About 50 messages a second with bursts of 100 is far above what a
# visit page sends (a few a second at most), and far below what could slow other visits.
RATE_PER_S = 50.0
BURST = 100
# A client that keeps flooding after being refused this many times is disconnected.
MAX_REFUSALS = 200


@dataclass
class TokenBucket:
    rate: float = RATE_PER_S
    burst: float = BURST
    tokens: float = BURST
    updated: float = field(default_factory=time.monotonic)
    refusals: int = 0

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.refusals += 1
        return False

    @property
    def is_abusive(self) -> bool:
        return self.refusals >= MAX_REFUSALS

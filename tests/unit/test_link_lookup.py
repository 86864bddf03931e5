"""One guarded link lookup: reserved before the token is looked at, given back unless counted."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from server.services.links import UNUSABLE, LinkThrottled, guarded_link_lookup
from server.services.ratelimit import LINK_PER_ADDRESS, MemoryAttempts

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


async def _look(attempts: MemoryAttempts, status: str | None, **kw: object) -> None:
    async with guarded_link_lookup(attempts, "203.0.113.9", NOW, **kw) as lookup:  # type: ignore[arg-type]
        lookup.status = status


def test_only_counted_lookups_use_up_the_window() -> None:
    async def run() -> None:
        attempts = MemoryAttempts()
        for _ in range(LINK_PER_ADDRESS.failures * 2):
            await _look(attempts, "active")  # a family reloading its link
            await _look(attempts, "revoked")  # the API gives a revoked link back
        for _ in range(LINK_PER_ADDRESS.failures):
            await _look(attempts, "unknown")
        with pytest.raises(LinkThrottled) as refused:
            await _look(attempts, "active")
        assert refused.value.status == 429 and refused.value.retry_after > 0

    asyncio.run(run())


def test_pages_count_unusable_links_and_an_exception_keeps_the_attempt() -> None:
    async def run() -> None:
        attempts = MemoryAttempts()
        for _ in range(LINK_PER_ADDRESS.failures // 2):
            await _look(attempts, "expired", counted=UNUSABLE)
        for _ in range(LINK_PER_ADDRESS.failures - LINK_PER_ADDRESS.failures // 2):
            with pytest.raises(RuntimeError):
                async with guarded_link_lookup(attempts, "203.0.113.9", NOW):
                    raise RuntimeError("lookup failed before saying what it found")
        with pytest.raises(LinkThrottled):
            await _look(attempts, "active")

    asyncio.run(run())

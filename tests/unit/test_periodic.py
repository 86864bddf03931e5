"""Background rounds go on after a failed round and stop when their block ends."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.core.periodic import every


async def test_a_failed_round_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []
    third = asyncio.Event()

    async def one_round() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 3:
            third.set()
        if len(rounds) == 1:
            raise RuntimeError("database blip")

    with caplog.at_level(logging.ERROR, logger="server.core.periodic"):
        async with every(0.01, one_round, "test"):
            await asyncio.wait_for(third.wait(), timeout=10)
    done = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) == done  # stopped with the block
    assert "test round failed" in caplog.text

"""Group commit: writes that arrive within a few milliseconds share one transaction and one
commit, and each is answered only after that commit.

Why: a commit is the expensive part of a small write (an fsync on SQLite with
``synchronous=FULL``, a WAL flush and a round trip on PostgreSQL), and a device reading or a
diary entry is a small write. One drain task per batcher takes what has queued, writes it
with the batcher's ``flush`` in one unit of work and resolves each item's future after the
commit. Items that arrive while a batch is being written form the next batch, so under load
the batches grow by themselves; when it is quiet an item waits at most ``max_wait_s`` (by
default one turn of the event loop: what has arrived in that turn joins it, and an idle writer
adds no delay, since under load the batches form while the previous one is written).

``flush`` answers each item on its own: a result, or an exception for that item alone (it
must then have written nothing for it). When the batch as a whole fails for a conflict or a
bad value the database found (another node stored the same key a moment earlier, say), each
item is written again in a transaction of its own, so one bad item never fails the others.
Any other failure (the database not answering) fails every item of the batch with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from server.store import audit_chain

logger = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# A batch is written after this long, or as soon as MAX_ITEMS are waiting. 0: after one turn
# of the event loop. Under load the batches fill while the previous one is written, so a wait
# only adds latency: with one message in flight a lone reading took about 20 ms with a 5 ms
# wait and 10 ms without it, and with 64 in flight the batches still held about 64 each
# (the store measure of bench/readings.py, in process, on 2 shared cores).
MAX_WAIT_S = 0.0
# One batch's items: bounds one transaction's size and the time its lock is held.
MAX_ITEMS = 256

Flush = Callable[[AsyncSession, Sequence[ItemT]], Awaitable[Sequence["ResultT | Exception"]]]
Begin = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# Whether a failed batch is worth writing again item by item (a conflict or a bad value,
# not an unavailable database).
Retryable = Callable[[BaseException], bool]


@dataclass
class _Waiting(Generic[ItemT, ResultT]):
    item: ItemT
    future: asyncio.Future[ResultT]


class GroupCommit(Generic[ItemT, ResultT]):
    """One batcher: ``submit`` an item, get its result once the batch holding it committed."""

    def __init__(
        self,
        begin: Begin,
        flush: Flush[ItemT, ResultT],
        *,
        retryable: Retryable,
        max_items: int = MAX_ITEMS,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self._begin, self._flush, self._retryable = begin, flush, retryable
        self._max_items, self._max_wait_s = max_items, max_wait_s
        self._waiting: list[_Waiting[ItemT, ResultT]] = []
        self._full = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self.batches = 0  # written batches, for the benches and tests
        self.items = 0

    async def submit(self, item: ItemT) -> ResultT:
        """Queue ``item`` and wait for its batch's commit. Raises the item's own error, or
        the batch's when the batch could not be written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ResultT] = loop.create_future()
        self._waiting.append(_Waiting(item, future))
        if len(self._waiting) >= self._max_items:
            self._full.set()
        if self._drain is None or self._drain.done():
            # A context of its own: the drain outlives the request that happened to start it.
            self._drain = loop.create_task(self._run(), context=contextvars.Context())
        return await future

    async def close(self) -> None:
        """Wait until everything submitted so far is written and answered."""
        while self._drain is not None and not self._drain.done():
            await asyncio.shield(self._drain)

    async def _run(self) -> None:
        if self._max_wait_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._max_wait_s)
        else:
            await asyncio.sleep(0)
        # Whatever queued meanwhile, and whatever queues while a batch is written, goes at
        # once: it has waited long enough.
        while self._waiting:
            batch = self._waiting[: self._max_items]
            del self._waiting[: self._max_items]
            if len(self._waiting) < self._max_items:
                self._full.clear()
            # A caller that gave up (its task was cancelled) is not written for.
            live = [w for w in batch if not w.future.done()]
            if live:
                await self._write(live)

    async def _write(self, batch: list[_Waiting[ItemT, ResultT]]) -> None:
        try:
            async with self._begin() as session:
                results = await self._flush(session, [w.item for w in batch])
        except Exception as error:  # noqa: BLE001 - handed to each caller below
            if len(batch) > 1 and self._retryable(error):
                logger.info("a batch of %d failed as a whole; writing each alone", len(batch))
                for waiting in batch:
                    await self._write([waiting])
                return
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(error)
            return
        except BaseException as error:
            # Cancelled while writing (the process is stopping): no one is left waiting.
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.cancel()
            raise error
        self.batches += 1
        self.items += len(batch)
        for waiting, result in zip(batch, results, strict=True):
            if waiting.future.done():
                continue
            if isinstance(result, Exception):
                waiting.future.set_exception(result)
            else:
                waiting.future.set_result(result)


@dataclass(frozen=True)
class Unit:
    """A unit of work for ``flush_units``: ``work`` runs in ``context``, its submitter's (its
    request id goes on its audit rows), in a savepoint of the shared transaction."""

    work: Callable[[AsyncSession], Awaitable[object]]
    context: contextvars.Context


async def submit_unit(
    batcher: GroupCommit[Unit, object], work: Callable[[AsyncSession], Awaitable[ResultT]]
) -> ResultT:
    """Run ``work`` in ``batcher``'s next batch (whose flush is ``flush_units``) and return
    its result once that batch committed."""
    return cast(ResultT, await batcher.submit(Unit(work, contextvars.copy_context())))


async def flush_units(session: AsyncSession, units: Sequence[Unit]) -> list[object | Exception]:
    """Each unit in a savepoint of its own: one that raises is rolled back alone (its audit
    rows too) and answered with its error; the others commit together."""
    results: list[object | Exception] = []
    loop = asyncio.get_running_loop()
    for each in units:

        async def run(work: Callable[[AsyncSession], Awaitable[object]] = each.work) -> object:
            async with audit_chain.savepoint(session):
                return await work(session)

        try:
            results.append(await loop.create_task(run(), context=each.context))
        except Exception as error:  # noqa: BLE001 - this unit's answer
            results.append(error)
    return results

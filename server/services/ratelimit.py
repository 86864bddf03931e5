"""Throttling guesses: logins, link tokens. An attempt is reserved before the secret is checked.

Reserve, then verify: ``reserve`` counts the attempt against every limit it falls under, in
one atomic step, before the password or token is looked at; only an attempt that turns out
not to be a guess is given back with ``release``. Checking the limit first and counting the
failure after the (slow) check would let 40 parallel guesses all pass the check before the
first failure is counted; with the reservation at most ``failures`` of them are verified.

Two stores, one behaviour (a sliding window per key):

- ``MemoryAttempts``: one process. Each step runs without awaiting, so it is atomic on the
  event loop.
- ``RedisAttempts``: chosen when ``HEARTH_REDIS_URL`` is set, so that every app node counts
  into the same windows. One Lua script checks every key and then counts the attempt in all
  of them, atomically on the Redis server.

Keys name the account and the client address (``request.remote``, which the forwarded-header
middleware has already replaced by the real client's address behind a trusted proxy), so that
one person's failures do not lock out somebody else: see ``login_limits``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.core.crypto import keyed_hash
from server.services.errors import ApiError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    failures: int
    window: dt.timedelta


# A person mistyping a password a few times is not locked out; a guesser is slowed to a
# crawl (OWASP ASVS 6.3.1 asks for throttling, not lockout).
# One account from one address: 5 in 15 min. Someone else's failures, from another address,
# do not count here, so they cannot lock the account's owner out.
LOGIN_PER_ACCOUNT_AND_ADDRESS = Limit(5, dt.timedelta(minutes=15))
# One account from every address together: a ceiling ten times higher, which bounds a guesser
# who spreads over many addresses (200 guesses an hour at most). Reaching it takes failures
# from at least 10 different addresses (networks, for IPv6) in 15 minutes.
LOGIN_PER_ACCOUNT = Limit(50, dt.timedelta(minutes=15))
# One address, whatever the account: higher than per account, since a clinic's staff may
# share one NAT address.
LOGIN_PER_ADDRESS = Limit(20, dt.timedelta(minutes=15))
# Link guessing: 429 after 10 failed tokens a minute from one address; a valid link used from
# any other address still works, so a guesser cannot lock a family out.
LINK_PER_ADDRESS = Limit(10, dt.timedelta(minutes=1))

MAX_KEYS = 100_000
# One IPv6 host usually holds a whole /64: counting per address there would give a guesser
# 2**64 fresh addresses.
IPV6_PREFIX = 64


def address_key(address: str | None) -> str:
    """The part of a key that names a client address: IPv4 as is, IPv6 by its /64."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def login_limits(email: str, address: str | None) -> tuple[tuple[str, Limit], ...]:
    """What a login attempt counts against; the first key is the one success clears."""
    where = address_key(address)
    return (
        (f"login:account:{email}:address:{where}", LOGIN_PER_ACCOUNT_AND_ADDRESS),
        (f"login:account:{email}", LOGIN_PER_ACCOUNT),
        (f"login:address:{where}", LOGIN_PER_ADDRESS),
    )


def link_limits(address: str | None) -> tuple[tuple[str, Limit], ...]:
    """What an attempt with a family or diary link token counts against."""
    return ((f"link:address:{address_key(address)}", LINK_PER_ADDRESS),)


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt, or a refused one (``retry_after`` seconds until another may)."""

    keys: tuple[str, ...]
    token: str
    retry_after: int | None = None

    @property
    def refused(self) -> bool:
        return self.retry_after is not None


class Attempts(Protocol):
    async def reserve(self, limits: Sequence[tuple[str, Limit]], now: dt.datetime) -> Attempt:
        """Count an attempt against every limit, or refuse it if any limit is reached."""
        ...

    async def release(self, attempt: Attempt) -> None:
        """The attempt was not a guess: it no longer counts."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every attempt counted under ``key``."""
        ...

    async def close(self) -> None: ...


def _wait(oldest: dt.datetime, window: dt.timedelta, now: dt.datetime) -> int:
    return max(1, int((oldest + window - now).total_seconds()) + 1)


class MemoryAttempts:
    """In this process's memory: with several nodes each counts on its own."""

    def __init__(self) -> None:
        self._events: dict[str, deque[tuple[dt.datetime, str]]] = {}

    def _live(self, key: str, limit: Limit, now: dt.datetime) -> deque[tuple[dt.datetime, str]]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and now - events[0][0] >= limit.window:
            events.popleft()
        if not events:
            del self._events[key]
        return events

    async def reserve(self, limits: Sequence[tuple[str, Limit]], now: dt.datetime) -> Attempt:
        # No await from here to the end: nothing else runs between the check and the count.
        for key, limit in limits:
            events = self._live(key, limit, now)
            if len(events) >= limit.failures:
                return Attempt((), "", _wait(events[0][0], limit.window, now))
        token = secrets.token_hex(8)
        for key, _limit in limits:
            if len(self._events) >= MAX_KEYS and key not in self._events:
                # Bounded memory under a flood of distinct keys: forget the oldest key.
                self._events.pop(next(iter(self._events)))
            self._events.setdefault(key, deque()).append((now, token))
        return Attempt(tuple(key for key, _ in limits), token)

    async def release(self, attempt: Attempt) -> None:
        for key in attempt.keys:
            events = self._events.get(key)
            if events is None:
                continue
            for event in events:
                if event[1] == attempt.token:
                    events.remove(event)
                    break
            if not events:
                del self._events[key]

    async def clear(self, key: str) -> None:
        self._events.pop(key, None)

    async def close(self) -> None:
        return None


# KEYS: the counters. ARGV[1]: now (µs since the epoch); ARGV[2]: this attempt's member;
# then for each key: its limit, the start of its window (µs) and its lifetime (ms). Prune every
# key's window, refuse if one is full (answering which key and its oldest attempt), else count
# the attempt in every key. The script runs atomically on the Redis server: no other command
# runs between the check and the count. Times are computed in Python and passed as strings,
# since Lua would print a 16-digit number with 14 significant digits.
_RESERVE = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[3 * i + 1])
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 * i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, oldest[2]}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[2])
  redis.call('PEXPIRE', key, ARGV[3 * i + 2])
end
return {0, '0'}
"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(value: dt.datetime | dt.timedelta) -> int:
    if isinstance(value, dt.datetime):
        value = value - _EPOCH
    return value // _MICROSECOND


def _unavailable() -> ApiError:
    return ApiError(
        503,
        "throttle_unavailable",
        "Hearth cannot check this attempt just now. Please try again shortly.",
        headers={"Retry-After": "5"},
    )


class RedisAttempts:
    """In Redis, shared by every app node: a sorted set of attempt times per key.

    Times come from the app's clock, as in memory. Key names are keyed hashes (under the
    server's secret) of the account and address they count, so Redis holds no email
    addresses, and deployments that share a Redis with different secrets do not meet.
    If Redis does not answer, attempts are refused (503) rather than let through unthrottled.
    """

    PREFIX = "hearth:attempts:"
    # A Redis that stops answering must not hold logins for long.
    TIMEOUT_S = 2.0

    def __init__(self, url: str, secret_key: str) -> None:
        self._client: Any = aioredis.from_url(
            url, socket_connect_timeout=self.TIMEOUT_S, socket_timeout=self.TIMEOUT_S
        )
        self._secret = secret_key
        self._script = self._client.register_script(_RESERVE)

    def _name(self, key: str) -> str:
        return self.PREFIX + keyed_hash(self._secret, key)

    async def reserve(self, limits: Sequence[tuple[str, Limit]], now: dt.datetime) -> Attempt:
        token = secrets.token_hex(8)
        names = [self._name(key) for key, _ in limits]
        args: list[int | str] = [_micros(now), token]
        for _key, limit in limits:
            window_ms = -(-_micros(limit.window) // 1000)
            args += [limit.failures, _micros(now - limit.window), window_ms]
        try:
            blocked, oldest = await self._script(keys=names, args=args)
        except RedisError as exc:
            logger.warning("rate-limit store unavailable: %s", type(exc).__name__)
            raise _unavailable() from exc
        if int(blocked):
            window = limits[int(blocked) - 1][1].window
            first = _EPOCH + dt.timedelta(microseconds=int(float(oldest)))
            return Attempt((), "", _wait(first, window, now))
        return Attempt(tuple(names), token)

    async def release(self, attempt: Attempt) -> None:
        if not attempt.keys:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for name in attempt.keys:
                    pipe.zrem(name, attempt.token)
                await pipe.execute()
        except RedisError as exc:
            # The attempt keeps counting until its window passes: a nuisance, not a hole.
            logger.warning("could not release an attempt: %s", type(exc).__name__)

    async def clear(self, key: str) -> None:
        try:
            await self._client.delete(self._name(key))
        except RedisError as exc:
            logger.warning("could not clear attempts: %s", type(exc).__name__)

    async def close(self) -> None:
        await self._client.aclose()


def make_attempts(redis_url: str | None, secret_key: str) -> Attempts:
    """Redis when the nodes share one (``HEARTH_REDIS_URL``), else this process's memory."""
    if redis_url:
        return RedisAttempts(redis_url, secret_key)
    return MemoryAttempts()

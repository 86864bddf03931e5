"""Passwords, tokens and the attempt counter."""

from __future__ import annotations

import datetime as dt

from argon2 import extract_parameters

from server.core.crypto import (
    TOKEN_BYTES,
    hash_password,
    keyed_hash,
    new_token,
    password_problem,
    verify_password,
)
from server.services.ratelimit import (
    LOGIN_PER_ACCOUNT_AND_ADDRESS,
    Limit,
    MemoryAttempts,
    address_key,
    login_limits,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_passwords_are_argon2_hashes_that_verify() -> None:
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a long enough passwore")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")
    # OWASP's floor for Argon2id: 19 MiB of memory and two passes. (Test users in
    # tests/builders.py carry cheap hashes of their own; accounts the app makes never do.)
    parameters = extract_parameters(hashed)
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2


def test_short_passwords_are_refused_with_the_reason() -> None:
    assert password_problem("short") == "The password must be at least 12 characters long."
    assert password_problem("twelve chars") is None


def test_tokens_carry_at_least_128_bits_and_differ() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert TOKEN_BYTES * 8 >= 128
    assert all(len(t) >= 43 for t in tokens)


def test_keyed_hashes_depend_on_the_secret() -> None:
    assert keyed_hash("k1", "t") != keyed_hash("k2", "t")
    assert keyed_hash("k1", "t") == keyed_hash("k1", "t")
    assert len(keyed_hash("k1", "t")) == 64


async def test_attempts_are_counted_in_a_sliding_window() -> None:
    attempts = MemoryAttempts()
    limit = (("k", Limit(3, dt.timedelta(minutes=10))),)
    for minute in range(3):
        assert not (await attempts.reserve(limit, T0 + dt.timedelta(minutes=minute))).refused
    refused = await attempts.reserve(limit, T0 + dt.timedelta(minutes=3))
    assert refused.retry_after == 7 * 60 + 1
    # The first attempt leaves the window at T0 + 10 min.
    assert not (await attempts.reserve(limit, T0 + dt.timedelta(minutes=10))).refused
    assert not (await attempts.reserve((("other", limit[0][1]),), T0)).refused


async def test_a_released_attempt_no_longer_counts_and_clearing_forgets() -> None:
    attempts = MemoryAttempts()
    limit = (("k", Limit(1, dt.timedelta(minutes=10))),)
    first = await attempts.reserve(limit, T0)
    assert (await attempts.reserve(limit, T0)).refused
    await attempts.release(first)
    assert not (await attempts.reserve(limit, T0)).refused
    await attempts.clear("k")
    assert not (await attempts.reserve(limit, T0)).refused


async def test_a_refused_attempt_counts_nowhere() -> None:
    attempts = MemoryAttempts()
    full = ("full", Limit(1, dt.timedelta(minutes=10)))
    roomy = ("roomy", Limit(2, dt.timedelta(minutes=10)))
    await attempts.reserve((full,), T0)
    for _ in range(3):
        assert (await attempts.reserve((roomy, full), T0)).refused
    # Refusals by "full" did not use up "roomy".
    assert not (await attempts.reserve((roomy,), T0)).refused
    assert not (await attempts.reserve((roomy,), T0)).refused
    assert (await attempts.reserve((roomy,), T0)).refused


def test_ipv6_addresses_are_counted_by_their_network() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:203.0.113.5") == address_key("203.0.113.5") == "203.0.113.5"
    assert address_key(None) == "unknown"


def test_login_failures_are_keyed_so_that_another_address_is_not_locked_out() -> None:
    here = dict(login_limits("a@x.test", "203.0.113.5"))
    there = dict(login_limits("a@x.test", "198.51.100.7"))
    # One shared key per account: the ceiling, far above what one address may use.
    assert set(here) & set(there) == {"login:account:a@x.test"}
    assert here["login:account:a@x.test"].failures >= 10 * LOGIN_PER_ACCOUNT_AND_ADDRESS.failures

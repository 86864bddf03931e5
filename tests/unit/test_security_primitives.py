"""Passwords, tokens and the failure counter."""

from __future__ import annotations

import datetime as dt

from server.core.crypto import (
    TOKEN_BYTES,
    hash_password,
    keyed_hash,
    new_token,
    password_problem,
    verify_password,
)
from server.services.ratelimit import FailureCounter, Limit

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_passwords_are_argon2_hashes_that_verify() -> None:
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a long enough passwore")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


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


def test_failures_are_counted_in_a_sliding_window() -> None:
    counter = FailureCounter()
    limit = Limit(3, dt.timedelta(minutes=10))
    for minute in range(3):
        assert counter.retry_after("k", limit, T0 + dt.timedelta(minutes=minute)) is None
        counter.fail("k", T0 + dt.timedelta(minutes=minute))
    wait = counter.retry_after("k", limit, T0 + dt.timedelta(minutes=3))
    assert wait == 7 * 60 + 1
    # The first failure leaves the window at T0 + 10 min.
    assert counter.retry_after("k", limit, T0 + dt.timedelta(minutes=10)) is None
    assert counter.retry_after("other", limit, T0) is None


def test_clearing_forgets_the_failures() -> None:
    counter = FailureCounter()
    limit = Limit(1, dt.timedelta(minutes=10))
    counter.fail("k", T0)
    assert counter.retry_after("k", limit, T0) is not None
    counter.clear("k")
    assert counter.retry_after("k", limit, T0) is None

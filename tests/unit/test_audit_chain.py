"""The audit chain's hash, its key, and the tally that keeps token probes from flooding the log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from server.core.crypto import AUDIT_KEY_LABEL, audit_chain_key
from server.services.audit import ProbeTally
from server.store.audit_chain import GENESIS, canonical, chain, row_hash

ROW = {
    "at": dt.datetime(2026, 3, 2, 9, 0, 1, 250000, tzinfo=dt.UTC),
    "actor_id": 7,
    "actor_link_id": None,
    "role": "clinician",
    "action": "read",
    "resource_type": "patient",
    "resource_id": "12",
    "patient_id": 12,
    "encounter_id": None,
    "address": "203.0.113.9",
    "user_agent": "Mozilla/5.0 (née ☃)",
    "outcome": "success",
    "request_id": "a1b2c3d4e5f6",
    "detail": None,
}


def test_the_serialisation_and_hash_are_fixed() -> None:
    """Every stored row_hash depends on this: a change here breaks every existing chain, so it
    must come as a new version (a new label), never as an edit."""
    serialised = (
        b'["2026-03-02T09:00:01.250000Z",7,null,"clinician","read","patient","12",12,null,'
        b'"203.0.113.9","Mozilla/5.0 (n\\u00e9e \\u2603)","success","a1b2c3d4e5f6",null]'
    )
    assert canonical(ROW) == serialised
    message = b"hearth-audit-row-v1\n" + GENESIS.encode() + b"\n" + serialised
    expected = "bfabd85a04b08b9a447dd3f21f5c4a66b3f964f294bdcdb42a5e2826a4998573"
    assert hmac.new(b"k", message, hashlib.sha256).hexdigest() == expected
    assert row_hash(b"k", ROW, GENESIS) == expected


def test_a_time_is_hashed_as_its_utc_instant() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    same_instant = {**ROW, "at": ROW["at"].astimezone(paris)}
    assert canonical(same_instant) == canonical(ROW)
    with pytest.raises(ValueError, match="aware"):
        chain(b"k", [{**ROW, "at": ROW["at"].replace(tzinfo=None)}], GENESIS)


def test_every_field_and_the_link_change_the_hash() -> None:
    base = row_hash(b"k", ROW, GENESIS)
    for name, value in ROW.items():
        changed = {**ROW, name: "x" if value is None else None}
        assert row_hash(b"k", changed, GENESIS) != base, name
    assert row_hash(b"k", ROW, "1" * 64) != base
    assert row_hash(b"another key", ROW, GENESIS) != base


def test_rows_link_in_order() -> None:
    first, second = chain(b"k", [ROW, {**ROW, "action": "update"}], GENESIS)
    assert first["prev_hash"] == GENESIS
    assert second["prev_hash"] == first["row_hash"]
    assert second["row_hash"] == row_hash(b"k", second, first["row_hash"])
    # Values are stored as the database gives them back: ints as ints, times in UTC.
    (coerced,) = chain(b"k", [{**ROW, "patient_id": "12"}], GENESIS)
    assert coerced["patient_id"] == 12 and coerced["row_hash"] == first["row_hash"]


def test_the_key_is_its_own_setting_or_derived_from_the_secret() -> None:
    assert audit_chain_key("audit", "secret") == b"audit"
    derived = audit_chain_key(None, "secret")
    assert derived == hmac.new(b"secret", AUDIT_KEY_LABEL.encode(), hashlib.sha256).digest()
    assert derived != audit_chain_key(None, "another secret")
    assert audit_chain_key(None, None) is None


NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_one_row_per_address_per_window_and_the_rest_counted() -> None:
    tally = ProbeTally(window=dt.timedelta(minutes=10))
    assert tally.admit("203.0.113.9", NOW) == 0
    for s in range(1, 200):
        assert tally.admit("203.0.113.9", NOW + dt.timedelta(seconds=s)) is None
    assert tally.admit("198.51.100.1", NOW) == 0
    # The next window's first row says how many went unrecorded before it.
    assert tally.admit("203.0.113.9", NOW + dt.timedelta(minutes=10)) == 199
    assert tally.admit("203.0.113.9", NOW + dt.timedelta(minutes=10, seconds=1)) is None
    assert tally.totals() == {"recorded": 3, "unrecorded": 200}


def test_many_addresses_share_one_ceiling() -> None:
    tally = ProbeTally(window=dt.timedelta(minutes=10), rows_per_window=100)
    admitted = [tally.admit(f"10.0.{n // 256}.{n % 256}", NOW) for n in range(1000)]
    assert sum(a is not None for a in admitted) == 100
    later = NOW + dt.timedelta(minutes=10)
    # An address refused by the ceiling reports itself with its next row.
    assert tally.admit("10.0.3.200", later) == 1


def test_the_tally_forgets_the_oldest_addresses_first() -> None:
    tally = ProbeTally(max_addresses=10, rows_per_window=1000)
    for n in range(50):
        tally.admit(f"10.0.0.{n}", NOW + dt.timedelta(seconds=n))
    assert len(tally._addresses) <= 10
    assert "10.0.0.49" in tally._addresses and "10.0.0.0" not in tally._addresses

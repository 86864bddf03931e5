"""The audit chain's hash and its key."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from server.core.crypto import AUDIT_KEY_LABEL, audit_chain_key
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

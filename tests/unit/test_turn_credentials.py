"""TURN credentials in coturn's shared-secret scheme (use-auth-secret, the TURN REST API)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest

from server.core.settings import Settings, SettingsError, load_settings
from server.core.turn import turn_password, turn_username
from server.services.ice import ice_servers_for, turn_opaque_id
from server.services.sessions import Principal

EXPIRES = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_the_username_is_the_expiry_in_unix_time_then_the_opaque_id() -> None:
    assert turn_username(EXPIRES, "0123456789abcdef0123") == "1772445600:0123456789abcdef0123"
    # Whole seconds, rounded down: the credential never outlives the expiry it was given.
    later = EXPIRES + dt.timedelta(microseconds=999_999)
    assert turn_username(later, "x") == "1772445600:x"
    with pytest.raises(ValueError):
        turn_username(EXPIRES, "a:b")


def test_the_password_is_base64_of_hmac_sha1_of_the_username_under_the_secret() -> None:
    username = "1772445600:0123456789abcdef0123"
    # A fixed vector, and the same computed here independently, as coturn computes it.
    assert turn_password("north-wind", username) == "zoNtgl/2UM2Q4QsN8/vz7FfkJ68="
    expected = base64.b64encode(
        hmac.new(b"north-wind", username.encode(), hashlib.sha1).digest()
    ).decode()
    assert turn_password("north-wind", username) == expected
    assert turn_password("south-wind", username) != expected


def _principal(session_hash: str, *, kind: str = "staff", role: str = "clinician") -> Principal:
    return Principal(
        kind=kind,  # type: ignore[arg-type]
        session_hash=session_hash,
        csrf_token="csrf",
        role=role,
        user_id=7 if kind == "staff" else None,
        name="Ann",
        encounter_id=None if kind == "staff" else 3,
        link_id=None if kind == "staff" else 5,
        expires_at=EXPIRES,
    )


TURN = Settings(
    secret_key="server-secret",
    turn_urls="turn:turn.example.org:3478,turns:turn.example.org:5349?transport=tcp",
    turn_secret="north-wind",
    turn_credential_minutes=60,
)


def test_each_session_gets_its_own_opaque_id_that_names_no_person() -> None:
    a, b = turn_opaque_id(TURN, _principal("hash-a")), turn_opaque_id(TURN, _principal("hash-b"))
    assert a != b and len(a) == 20 and int(a, 16) >= 0
    assert turn_opaque_id(TURN, _principal("hash-a")) == a
    assert "hash-a" not in a and a not in ("7", "3", "5")


def test_the_ice_list_adds_turn_with_a_credential_for_the_lifetime() -> None:
    now = EXPIRES - dt.timedelta(hours=1)
    found = ice_servers_for(TURN, _principal("hash-a", kind="family", role="family"), now)
    assert found.expires_at == EXPIRES
    [turn] = found.servers
    assert turn["urls"] == [
        "turn:turn.example.org:3478",
        "turns:turn.example.org:5349?transport=tcp",
    ]
    assert turn["username"].startswith("1772445600:")
    assert turn["credential"] == turn_password("north-wind", turn["username"])


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"HEARTH_TURN_URLS": "turn:t.example.org"}, "HEARTH_TURN_SECRET"),
        ({"HEARTH_TURN_SECRET": "s"}, "HEARTH_TURN_SECRET"),
        ({"HEARTH_TURN_URLS": "stun:t.example.org", "HEARTH_TURN_SECRET": "s"}, "stun:"),
    ],
)
def test_turn_settings_that_cannot_work_stop_start_up(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


def test_without_turn_settings_the_list_is_hearth_ice_servers_as_configured() -> None:
    plain = Settings(secret_key="s", ice_servers='[{"urls": "stun:stun.example.org:3478"}]')
    found = ice_servers_for(plain, _principal("hash-a"), EXPIRES)
    assert found.servers == [{"urls": "stun:stun.example.org:3478"}]
    assert found.expires_at is None


@pytest.mark.parametrize("role", ["scheduler", "admin"])
def test_staff_who_take_part_in_no_visit_get_no_turn(role: str) -> None:
    from server.services.errors import ApiError

    with pytest.raises(ApiError) as refused:
        ice_servers_for(TURN, _principal("hash-a", role=role), EXPIRES)
    assert refused.value.status == 403

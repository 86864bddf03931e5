"""Whose address a request comes from: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import pytest

from server.core.settings import SettingsError, load_settings, parse_trusted_proxies
from server.edge.auth import forwarded_client

PROXY = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8, ::1")


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert forwarded_client("203.0.113.5", ["198.51.100.7"], PROXY) == "203.0.113.5"
    assert forwarded_client("203.0.113.5", ["198.51.100.7"], ()) == "203.0.113.5"
    assert forwarded_client("127.0.0.1", ["198.51.100.7"], ()) == "127.0.0.1"


def test_behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_hop() -> None:
    assert forwarded_client("127.0.0.1", ["203.0.113.5"], PROXY) == "203.0.113.5"
    # Whatever the client wrote itself is to the left of what the proxy appended.
    assert forwarded_client("127.0.0.1", ["1.1.1.1, 203.0.113.5"], PROXY) == "203.0.113.5"
    assert forwarded_client("127.0.0.1", ["1.1.1.1", "203.0.113.5"], PROXY) == "203.0.113.5"
    # A chain of trusted proxies (CIDR) is walked through.
    assert forwarded_client("::1", ["203.0.113.5, 10.1.2.3, 10.9.9.9"], PROXY) == "203.0.113.5"


def test_odd_headers_fall_back_to_a_trusted_hop() -> None:
    assert forwarded_client("127.0.0.1", [], PROXY) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", [" , "], PROXY) == "127.0.0.1"
    # Not an address: stop at the last hop a trusted proxy wrote.
    assert forwarded_client("127.0.0.1", ["203.0.113.5, junk, 10.0.0.2"], PROXY) == "10.0.0.2"
    # Every hop trusted: the leftmost.
    assert forwarded_client("127.0.0.1", ["10.0.0.7, 10.0.0.2"], PROXY) == "10.0.0.7"


def test_ports_brackets_and_mapped_addresses_are_understood() -> None:
    assert forwarded_client("::ffff:127.0.0.1", ["203.0.113.5:4711"], PROXY) == "203.0.113.5"
    assert forwarded_client("127.0.0.1", ["[2001:db8::1]:443"], PROXY) == "2001:db8::1"
    assert forwarded_client("127.0.0.1", ["2001:db8::1"], PROXY) == "2001:db8::1"


def test_trusted_proxies_are_read_from_the_environment() -> None:
    settings = load_settings({}, {"HEARTH_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8"})
    assert [str(n) for n in settings.trusted_proxy_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert load_settings({}, {}).trusted_proxy_networks == ()
    with pytest.raises(SettingsError, match="HEARTH_TRUSTED_PROXIES"):
        load_settings({}, {"HEARTH_TRUSTED_PROXIES": "127.0.0.1,proxy.internal"})

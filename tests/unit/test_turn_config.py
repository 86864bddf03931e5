"""The shipped coturn configuration: time-limited credentials only, TURN over TLS, and no
relaying to loopback, private, link-local, metadata or other internal addresses."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

DOCKER = Path(__file__).resolve().parents[2] / "docker"
CONF = DOCKER / "turnserver.conf"
COMPOSE = DOCKER / "compose.yaml"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MUST_BE_DENIED = [
    "0.0.0.0/8",  # "this network"
    "127.0.0.0/8",  # loopback
    "10.0.0.0/8",  # RFC 1918
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",  # carrier-grade NAT
    "169.254.0.0/16",  # link-local, with the cloud metadata service
    "169.254.169.254/32",
    "::1/128",  # IPv6 loopback
    "::/128",
    "::ffff:0:0/96",  # IPv4-mapped: every range above again
    "64:ff9b::/96",  # NAT64
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
]


def _options() -> list[tuple[str, str]]:
    """(name, value) for every option line of the file, in order."""
    found = []
    for line in CONF.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        found.append((name.strip(), value.strip()))
    return found


def _denied() -> list[tuple[IPAddress, IPAddress]]:
    ranges = []
    for name, value in _options():
        if name == "denied-peer-ip":
            first, _, last = value.partition("-")
            low, high = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
            assert low.version == high.version and low <= high, value
            ranges.append((low, high))
    return ranges


def _covered(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether the denied ranges together cover every address of ``network``."""
    need = network.network_address
    end = network.broadcast_address
    for low, high in sorted(r for r in _denied() if r[0].version == network.version):
        if low <= need <= high:
            if high >= end:
                return True
            need = high + 1
    return False


@pytest.mark.parametrize("network", MUST_BE_DENIED)
def test_relaying_to_the_range_is_denied(network: str) -> None:
    assert _covered(ipaddress.ip_network(network)), f"{network} is not in any denied-peer-ip"


def test_the_check_notices_a_gap() -> None:
    # A network reaching past the denied ranges is not covered; a public address is not denied.
    assert not _covered(ipaddress.ip_network("172.0.0.0/11"))
    assert not _covered(ipaddress.ip_network("8.8.8.8/32"))


def test_only_time_limited_credentials_and_hardening_options() -> None:
    names = {name for name, _ in _options()}
    assert {
        "use-auth-secret",
        "no-multicast-peers",
        "no-cli",
        "no-tcp-relay",
        "fingerprint",
    } <= names
    # No static user, no long-term password, no secret in the file.
    assert not names & {"lt-cred-mech", "user", "static-auth-secret", "allow-loopback-peers"}


def test_turn_over_tls_is_served_on_5349_with_the_documented_certificate() -> None:
    options = dict(_options())
    assert options["tls-listening-port"] == "5349"
    assert options["cert"] == "/etc/coturn/certs/fullchain.pem"
    assert options["pkey"] == "/etc/coturn/certs/privkey.pem"
    assert "no-tls" not in options


def test_compose_gives_coturn_and_hearth_the_secret_from_the_environment_only() -> None:
    compose = COMPOSE.read_text()
    assert '"--static-auth-secret=${TURN_SECRET}"' in compose
    assert "./turnserver.conf:/etc/coturn/turnserver.conf:ro" in compose
    assert "./turn-certs:/etc/coturn/certs:ro" in compose
    assert "HEARTH_TURN_SECRET: ${TURN_SECRET}" in compose
    assert re.search(r"HEARTH_TURN_URLS: \".*turns:\$\{PUBLIC_HOST\}:5349", compose)
    # No browser is handed the secret itself any more.
    assert "HEARTH_ICE_SERVERS" not in compose
    assert "--user=" not in compose and "lt-cred-mech" not in compose

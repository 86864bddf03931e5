"""RTCConfiguration from the caller's ICE servers: validated once, never aiortc's defaults."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer
from aiortc.rtcicetransport import parse_stun_turn_uri

from media.errors import BAD_ICE_SERVERS, MediaError

logger = logging.getLogger(__name__)

_KEYS = frozenset({"urls", "username", "credential", "credentialType"})


def ice_configuration(ice_servers: Sequence[Mapping[str, Any]]) -> RTCConfiguration:
    """An aiortc configuration for these RTCIceServer dicts; an empty list means host only.

    Always an explicit list: ``RTCConfiguration()`` would fall back to Google's public STUN
    server, which leaks the server's address and stalls gathering on closed networks.
    Max-bundle puts every media section on one transport, so media sections the hub adds in a
    renegotiation never gather ports of their own.
    """
    servers = [_ice_server(index, entry) for index, entry in enumerate(ice_servers)]
    schemes = [
        parse_stun_turn_uri(url)["scheme"] for server in servers for url in _urls(server.urls)
    ]
    if (
        sum(s.startswith("stun") for s in schemes) > 1
        or sum(s.startswith("turn") for s in schemes) > 1
    ):
        logger.warning("aiortc uses only the first STUN and the first TURN url; others ignored")
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Gather ICE candidates on these addresses only, in this process (aioice's own choice is
    every interface but loopback)."""
    import aioice.ice

    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(chosen)


def _urls(urls: str | list[str]) -> list[str]:
    return [urls] if isinstance(urls, str) else list(urls)


def _ice_server(index: int, entry: Mapping[str, Any]) -> RTCIceServer:
    where = f"ice_servers[{index}]"
    if not isinstance(entry, Mapping):
        raise MediaError(BAD_ICE_SERVERS, f"{where} must be a dict, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise MediaError(
            BAD_ICE_SERVERS, f"{where} has unknown keys {unknown}, expected {sorted(_KEYS)}"
        )
    urls = entry.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise MediaError(BAD_ICE_SERVERS, f"{where}.urls must be a url or a non-empty list")
    for url in urls:
        try:
            parsed = parse_stun_turn_uri(url)
        except ValueError:
            raise MediaError(
                BAD_ICE_SERVERS, f"{where} url {url!r} is not a stun:, stuns:, turn: or turns: url"
            ) from None
        if parsed["scheme"].startswith("turn") and not (
            entry.get("username") and entry.get("credential")
        ):
            raise MediaError(BAD_ICE_SERVERS, f"{where} is a TURN server without credentials")
    for key in ("username", "credential"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise MediaError(BAD_ICE_SERVERS, f"{where}.{key} must be a string")
    if entry.get("credentialType", "password") != "password":
        raise MediaError(BAD_ICE_SERVERS, f"{where}.credentialType must be 'password'")
    return RTCIceServer(
        urls=urls, username=entry.get("username"), credential=entry.get("credential")
    )

"""A slow link between one browser page and the relay, for tests of what the relay sends a
subscriber whose connection is poor (issue 20's fallback ladder).

Chromium on loopback reaches the relay at the address in the relay's ICE candidates. An init
script hands every remote description the page is given to ``SlowLink.rewrite`` first (an
exposed function: no eval, so the page's real CSP holds), which puts one small UDP proxy in
front of each of the relay's UDP candidates and writes the proxy's address in its place. The
page's connectivity checks then reach the relay through the proxy, and the relay sees the
proxy's address as the page's (a peer-reflexive candidate), so everything the relay sends the
page crosses the proxy.

Towards the page the proxy is a bottleneck like a slow home connection: packets leave at
``limit_bps`` one after another, wait their turn in a queue up to ``max_delay_s`` deep, and
are dropped when it is full. Towards the relay nothing is held back.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

REWRITE_REMOTE = """(() => {
  const setRemote = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = async function (description) {
    if (description && description.sdp) {
      const sdp = await window.__hearthSlowLink(description.sdp);
      description = { type: description.type, sdp };
    }
    return setRemote.call(this, description);
  };
})()"""

_CANDIDATE = re.compile(
    r"^(a=candidate:\S+ \d+ )(udp|UDP|tcp|TCP)( \d+ )(\S+) (\d+)( typ .*)$", re.MULTILINE
)


class _RelaySide(asyncio.DatagramProtocol):
    """The socket the proxy uses towards the relay for one of the page's addresses."""

    def __init__(self, proxy: _Proxy, page: tuple[str, int]) -> None:
        self.proxy, self.page = proxy, page
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.towards_page(data, self.page)


class _Proxy(asyncio.DatagramProtocol):
    """One of the relay's candidates, as the page sees it."""

    def __init__(self, link: SlowLink, relay: tuple[str, int]) -> None:
        self.link, self.relay = link, relay
        self.transport: asyncio.DatagramTransport | None = None
        self.relay_sides: dict[tuple[str, int], _RelaySide] = {}
        self.pending: dict[tuple[str, int], list[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        own = self.relay_sides.get(addr)
        if own is not None and own.transport is not None:
            own.transport.sendto(data)
            return
        if addr in self.pending:
            self.pending[addr].append(data)
            return
        self.pending[addr] = [data]
        asyncio.ensure_future(self._open(addr))

    async def _open(self, page: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _RelaySide(self, page), remote_addr=self.relay
        )
        self.relay_sides[page] = protocol
        self.link.sockets.append(transport)
        for data in self.pending.pop(page, []):
            transport.sendto(data)

    def towards_page(self, data: bytes, page: tuple[str, int]) -> None:
        self.link.send_down(self, data, page)


class SlowLink:
    """The proxies of one page; ``limit_bps`` (None: no limit) may change at any time."""

    def __init__(self, limit_bps: int | None = None, max_delay_s: float = 0.2) -> None:
        self.limit_bps = limit_bps
        self.max_delay_s = max_delay_s
        self.proxies: dict[tuple[str, int], _Proxy] = {}
        self.sockets: list[asyncio.BaseTransport] = []
        self.free_at = 0.0  # when the bottleneck has sent everything queued so far
        self.sent_down = 0
        self.dropped_down = 0

    async def attach(self, page: Any) -> None:
        """Route every connection ``page`` makes to the relay through this link."""
        await page.expose_function("__hearthSlowLink", self.rewrite)
        await page.add_init_script(REWRITE_REMOTE)

    async def rewrite(self, sdp: str) -> str:
        """``sdp`` with each UDP candidate of the relay replaced by its proxy; TCP candidates
        are left out, so nothing bypasses the link."""
        out = []
        for line in sdp.split("\r\n"):
            found = _CANDIDATE.match(line)
            if found is None:
                out.append(line)
                continue
            if found[2].lower() != "udp":
                continue
            port = await self._proxy_port((found[4], int(found[5])))
            out.append(f"{found[1]}{found[2]}{found[3]}127.0.0.1 {port}{found[6]}")
        return "\r\n".join(out)

    async def _proxy_port(self, relay: tuple[str, int]) -> int:
        proxy = self.proxies.get(relay)
        if proxy is None:
            loop = asyncio.get_running_loop()
            transport, proxy = await loop.create_datagram_endpoint(
                lambda: _Proxy(self, relay), local_addr=("127.0.0.1", 0)
            )
            self.sockets.append(transport)
            self.proxies[relay] = proxy
        assert proxy.transport is not None
        port: int = proxy.transport.get_extra_info("sockname")[1]
        return port

    @property
    def used(self) -> bool:
        """The page reached the relay through the link (and only that way, as it was given no
        other address of the relay)."""
        return any(proxy.relay_sides for proxy in self.proxies.values()) and self.sent_down > 0

    def send_down(self, proxy: _Proxy, data: bytes, page: tuple[str, int]) -> None:
        assert proxy.transport is not None
        if self.limit_bps is None:
            self.sent_down += 1
            proxy.transport.sendto(data, page)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        leaves = max(now, self.free_at)
        if leaves - now > self.max_delay_s:
            self.dropped_down += 1
            return
        self.free_at = leaves + (len(data) + 28) * 8 / self.limit_bps  # with IP and UDP headers
        self.sent_down += 1
        loop.call_at(leaves, self._deliver, proxy, data, page)

    @staticmethod
    def _deliver(proxy: _Proxy, data: bytes, page: tuple[str, int]) -> None:
        if proxy.transport is not None and not proxy.transport.is_closing():
            proxy.transport.sendto(data, page)

    def close(self) -> None:
        for transport in self.sockets:
            transport.close()
        self.sockets.clear()

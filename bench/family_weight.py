"""What the family's phone downloads from the link to the waiting room, in bytes on the wire.

Serves the demo (server/app/demo.py) on a fresh SQLite file on loopback, then drives Debian's
Chromium through the family's path: open the link, check camera and microphone (the network
check included), give a name, join the waiting room. Counts every HTTP response's headers and
body as transferred (compressed where it was), and prints one JSON line:

    {"bench": "family_weight", "bytes": ..., "requests": ..., "by_type": {...}, "limit": 204800}

Run: .venv/bin/python -m bench.family_weight  (exit status 1 when over the limit)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiohttp import web

from server.app.demo import seed_demo
from server.app.factory import create_app
from server.core.clock import SystemClock
from server.core.settings import Settings
from server.store.migrate import upgrade
from tests.e2e.conftest import FLAGS, chromium_path

LIMIT_BYTES = 200 * 1024
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 20_000


async def measure() -> dict[str, Any]:
    from playwright.async_api import async_playwright, expect

    with tempfile.TemporaryDirectory() as tmp:
        url_db = f"sqlite:///{Path(tmp) / 'hearth.db'}"
        await asyncio.get_running_loop().run_in_executor(None, upgrade, url_db)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock_port = int(sock.getsockname()[1])
        base = f"http://127.0.0.1:{sock_port}"
        settings = Settings(
            database_url=url_db,
            secret_key="bench-weight-secret",
            demo=True,
            public_url=base,
            var_dir=str(Path(tmp) / "var"),
            port=sock_port,
        )
        demo = await seed_demo(settings, SystemClock())
        runner = web.AppRunner(create_app(settings, clock=SystemClock()), access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        sizes: dict[str, int] = defaultdict(int)
        count = 0
        try:
            path = chromium_path()
            if path is None:
                raise SystemExit("Chromium is needed: apt-get install chromium")
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=path, headless=True, args=FLAGS)
                context = await browser.new_context(**PHONE)
                context.set_default_timeout(TIMEOUT_MS)
                page = await context.new_page()
                done: list[Any] = []

                async def counted(response: Any) -> None:
                    nonlocal count
                    try:
                        await response.finished()
                        got = await response.request.sizes()
                    except Exception:  # a response cut short counts as nothing
                        return
                    count += 1
                    kind = response.request.resource_type
                    sizes[kind] += got["responseBodySize"] + got["responseHeadersSize"]

                page.on("response", lambda r: done.append(asyncio.ensure_future(counted(r))))
                await page.goto(demo.family_link)
                await page.get_by_role("button", name="Check my camera and microphone").click()
                await page.locator("#network-status").filter(has_text="connection").wait_for()
                await page.fill("#display-name", "Ben")
                await page.get_by_role("button", name="Join the waiting room").click()
                await page.wait_for_url("**/family")
                # In the waiting room: connected, whether or not the nurse is there yet.
                await expect(page.locator("#lobby-status")).not_to_have_text("Connecting…")
                await page.wait_for_load_state("networkidle")
                await asyncio.gather(*done)
                await browser.close()
        finally:
            await runner.cleanup()
    total = sum(sizes.values())
    return {
        "bench": "family_weight",
        "bytes": total,
        "requests": count,
        "by_type": dict(sorted(sizes.items())),
        "limit": LIMIT_BYTES,
    }


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    result = asyncio.run(measure())
    print(json.dumps(result))
    sys.exit(0 if result["bytes"] <= LIMIT_BYTES else 1)


if __name__ == "__main__":
    main()

"""Janus's videoroom for bench/relay.py, in a private network namespace with a loopback-only
configuration: nothing listens outside the namespace, which ends with the run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from relay_load import (
    Layers,
    Loop,
    Participant,
    Probe,
    Replayer,
    measure,
    use_host_only,
    video_packets_per_s,
)

JANUS_LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
# Inside the namespace only: 127.0.0.2 sits on an in-namespace veth, because Janus skips
# loopback interfaces when it gathers candidates. Nothing routes out.
NETNS_SETUP = (
    "ip link set lo up",
    "ip link add v0 type veth peer name v1",
    "ip link set v0 up",
    "ip link set v1 up",
    "ip addr add 127.0.0.2/32 dev v0",
)


def janus_config(folder: Path) -> None:
    """Videoroom over plain HTTP on 127.0.0.1 only; every other plugin, transport, event
    handler and logger disabled; no admin API; ICE on the namespace's v0 only."""

    def others(kind: str, keep: str) -> str:
        return ",".join(p.name for p in sorted((JANUS_LIB / kind).glob("*.so")) if p.name != keep)

    (folder / "janus.jcfg").write_text(f"""general: {{
  configs_folder = "{folder}"
  plugins_folder = "{JANUS_LIB}/plugins"
  transports_folder = "{JANUS_LIB}/transports"
  events_folder = "{JANUS_LIB}/events"
  loggers_folder = "{JANUS_LIB}/loggers"
  debug_level = 2
  session_timeout = 120
}}
media: {{ }}
nat: {{ nice_debug = false
  ice_enforce_list = "v0" }}
plugins: {{ disable = "{others("plugins", "libjanus_videoroom.so")}" }}
transports: {{ disable = "{others("transports", "libjanus_http.so")}" }}
loggers: {{ disable = "{others("loggers", "")}" }}
events: {{ broadcast = false
  disable = "{others("events", "")}" }}
""")
    (folder / "janus.transport.http.jcfg").write_text("""general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = 8088
  ip = "127.0.0.1"
  https = false
}
admin: { admin_http = false  admin_https = false }
""")
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: { }\n")


class Janus:
    """The videoroom plugin over Janus's HTTP long-poll API, on one session."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.count = 0
        self.session = 0
        self.poller: asyncio.Task[None] | None = None

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        body["transaction"] = f"t{self.count}"
        async with self.http.post(f"{self.base}{path}", json=body) as response:
            reply: dict[str, Any] = await response.json()
        return reply

    async def start(self) -> None:
        self.session = (await self.post("", {"janus": "create"}))["data"]["id"]
        self.poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        while True:
            async with self.http.get(f"{self.base}/{self.session}?maxev=50") as response:
                events = await response.json()
            for event in events if isinstance(events, list) else [events]:
                future = self.waiting.pop(event.get("transaction", ""), None)
                if future is not None and not future.done():
                    future.set_result(event)

    async def attach(self) -> int:
        reply = await self.post(
            f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        return int(reply["data"]["id"])

    async def request(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A videoroom request; an asynchronous one is answered by its event."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        self.count += 1
        transaction = f"t{self.count}"
        future = self.waiting[transaction] = asyncio.get_running_loop().create_future()
        message["transaction"] = transaction
        async with self.http.post(f"{self.base}/{self.session}/{handle}", json=message) as r:
            reply = await r.json()
        if reply.get("janus") == "ack":
            return await asyncio.wait_for(future, 30)
        self.waiting.pop(transaction, None)
        return dict(reply)


async def janus_clients(
    args: argparse.Namespace, janus_pid: int, loop: Loop, layers: Layers | None = None
) -> dict[str, Any]:
    use_host_only()
    probe, everyone, subscribers = Probe(), [], []
    replayer = Replayer(loop, layers)
    async with aiohttp.ClientSession() as http:
        janus = Janus(http, "http://127.0.0.1:8088/janus")
        for _ in range(100):
            try:
                await janus.start()
                break
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
        admin = await janus.attach()
        room = 4242
        await janus.request(
            admin,
            {
                "request": "create",
                "room": room,
                "publishers": 250,
                "bitrate": 0,
                "videocodec": "vp8",
                "audiocodec": "opus",
            },
        )
        try:
            for index in range(args.streams):
                sent = probe.sent if index == 0 else None
                publisher = Participant(
                    replayer, ["video"], None, sent, simulcast=layers is not None
                )
                handle = await janus.attach()
                joined = await janus.request(
                    handle, {"request": "join", "ptype": "publisher", "room": room}
                )
                feed = joined["plugindata"]["data"]["id"]
                jsep = {"type": "offer", "sdp": await publisher.offer(), "trickle": False}
                event = await janus.request(handle, {"request": "publish"}, jsep)
                if "jsep" not in event:
                    raise RuntimeError(f"janus refused the publisher: {event}")
                await publisher.answer(event["jsep"]["sdp"], "answer")
                subscriber = Participant(
                    None, [], probe if index == 0 else None, expects=int(index != 0)
                )
                handle = await janus.attach()
                for _ in range(100):  # the feed exists once its media is up
                    event = await janus.request(
                        handle,
                        {
                            "request": "join",
                            "ptype": "subscriber",
                            "room": room,
                            "streams": [{"feed": feed}],
                        },
                    )
                    if "jsep" in event:
                        break
                    await asyncio.sleep(0.2)
                if "jsep" not in event:
                    raise RuntimeError(f"janus refused the subscriber: {event}")
                answer = await subscriber.answer(event["jsep"]["sdp"])
                await janus.request(
                    handle,
                    {"request": "start"},
                    {"type": "answer", "sdp": answer, "trickle": False},
                )
                if layers is not None:
                    # The 640x480 layer for every subscriber, as Hearth's relay sends them.
                    # Janus takes an offer's RIDs as listed highest first, so the full layer
                    # (listed last, as browsers list it) is its substream 0.
                    await janus.request(handle, {"request": "configure", "substream": 0})
                everyone += [publisher, subscriber]
                subscribers.append(subscriber)
            rate = video_packets_per_s(loop)
            return await measure(args, janus_pid, subscribers, probe, args.streams, rate)
        finally:
            await replayer.close()
            await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)
            if janus.poller is not None:
                janus.poller.cancel()


def janus_inside(args: argparse.Namespace) -> None:
    """Runs as root inside ``unshare -n``: the namespace ends with this process."""
    for command in NETNS_SETUP:
        subprocess.run(command.split(), check=True)
    with tempfile.TemporaryDirectory() as folder:
        janus_config(Path(folder))
        log = Path(folder) / "janus.log"
        with log.open("w") as out:
            janus = subprocess.Popen(
                ["janus", "-C", f"{folder}/janus.jcfg", "-F", folder],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            loop = pickle.loads(Path(args.loop).read_bytes())
            lower = Path(f"{args.loop}.layers")
            layers = pickle.loads(lower.read_bytes()) if args.simulcast else None
            result = asyncio.run(janus_clients(args, janus.pid, loop, layers))
        finally:
            janus.terminate()
            janus.wait(10)
    mode = {"simulcast": True} if args.simulcast else {}
    print(json.dumps({"impl": "janus", **mode, **result}), flush=True)


def run_janus(args: argparse.Namespace, loop_path: Path) -> dict[str, Any]:
    if shutil.which("janus") is None or shutil.which("unshare") is None:
        return {
            "impl": "janus",
            "streams": args.streams,
            "skipped": "janus is not installed (apt-get install -y janus) or unshare is missing",
        }
    command = [
        "unshare",
        "-n",
        sys.executable,
        str(Path(__file__).with_name("relay.py")),
        "--janus-inside",
        "--loop",
        str(loop_path),
        "--streams",
        str(args.streams),
        "--warmup",
        str(args.warmup),
        "--seconds",
        str(args.seconds),
        *(["--simulcast"] if args.simulcast else []),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BENCH_HOST": "127.0.0.2"},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {
            "impl": "janus",
            "streams": args.streams,
            "skipped": f"janus run failed: {done.stderr.strip().splitlines()[-1:]}",
        }
    result: dict[str, Any] = json.loads(lines[-1])
    return result

"""Forwarded 640x480 VP8 streams through Hearth's relay, stock MediaRelay, and Janus.

For each implementation, N publishers each send a pre-encoded 640x480@30 VP8 loop (1 Mbps,
a keyframe every 2 s, a 16-bit frame index drawn in the top rows) to the relay, and N
subscribers receive one stream each. Subscribers count frames and packets without
decoding (media.aiortc_hooks' receive tap), except one probe per run that decodes and reads
the frame index: latency is publisher send -> probe decoded, end to end. The relay runs in
its own process (Hearth's MediaHub behind a small WebSocket signalling endpoint, or Janus's
videoroom in a private network namespace); its CPU is read from /proc over the window.

    .venv/bin/python bench/relay.py --streams 8                 # hearth, mediarelay, janus
    .venv/bin/python bench/relay.py --visits 20 --party 3       # three-party visits, hearth
    .venv/bin/python bench/relay.py --impl hearth --simulcast   # publishers send 3 layers

Prints one JSON line per measurement (bench/README.md, "Relay").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from harness import free_port
from relay_janus import janus_inside, run_janus
from relay_load import (
    HOST,
    Layers,
    Loop,
    Participant,
    Probe,
    Replayer,
    encode_loop,
    hub_join,
    observe,
    summarize,
    tree_cpu_seconds,
    use_host_only,
    video_packets_per_s,
)

from media import ForwardingRelay, MediaCallbacks, MediaHub, TranscodingRelay, WorkerPool

# A client process carries this many aiortc peers at most (about half a core on the 2-core
# machine at 30 fps with audio; see bench/README.md).
PEERS_PER_CLIENT_PROCESS = 36


def serve(impl: str, port: int, media_workers: int) -> None:
    use_host_only()
    sockets: dict[tuple[str, str], web.WebSocketResponse] = {}

    async def renegotiate(room: str, pid: str, sdp: str) -> None:
        ws = sockets[(room, pid)]
        if not ws.closed:  # a client that left at the end of the run gets no offer
            await ws.send_json({"type": "offer", "sdp": sdp})

    async def quiet(*args: Any) -> None:
        return None

    async def no_reply(*args: Any) -> str | None:
        return None

    factory = ForwardingRelay if impl == "hearth" else TranscodingRelay
    callbacks = MediaCallbacks(renegotiate, quiet, no_reply)
    hub: MediaHub | WorkerPool
    if media_workers and impl == "hearth":
        hub = WorkerPool(
            workers=media_workers, ice_servers=[], callbacks=callbacks, host_addresses=[HOST]
        )
    else:
        hub = MediaHub(ice_servers=[], relay_factory=factory, callbacks=callbacks)

    async def socket(request: web.Request) -> web.WebSocketResponse:
        room, pid = request.match_info["room"], request.match_info["pid"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets[(room, pid)] = ws
        async for message in ws:
            data = json.loads(message.data)
            if data["type"] == "offer":
                await ws.send_json(
                    {"type": "answer", "sdp": await hub.handle_offer(room, pid, data["sdp"])}
                )
            else:
                await hub.handle_answer(room, pid, data["sdp"])
        return ws

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if isinstance(hub, WorkerPool):
            await hub.start()
        yield
        await hub.close()

    app = web.Application()
    app.router.add_get("/ws/{room}/{pid}", socket)
    app.cleanup_ctx.append(lifecycle)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def client_processes(args: argparse.Namespace) -> int:
    """How many processes the load generator runs in: ``--client-procs``, or one per
    PEERS_PER_CLIENT_PROCESS peers, at most one per core."""
    if args.client_procs:
        return int(args.client_procs)
    peers = args.visits * args.party if args.visits else 2 * args.streams
    return max(1, min(os.cpu_count() or 1, math.ceil(int(peers) / PEERS_PER_CLIENT_PROCESS)))


def run_hub(impl: str, args: argparse.Namespace, loop_path: Path) -> dict[str, Any]:
    """The relay in one process (with its media workers), the clients split over others;
    every client process observes the same window, whose relay CPU this process reads."""
    port = free_port()
    serve = [sys.executable, __file__, "--serve", impl, "--port", str(port)]
    server = subprocess.Popen([*serve, "--media-workers", str(args.media_workers)])
    count = client_processes(args)
    shape = ["--visits", str(args.visits), "--party", str(args.party)]
    shape += ["--streams", str(args.streams), "--seconds", str(args.seconds)]
    shape += ["--simulcast"] if args.simulcast else []
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--clients", f"{i}/{count}", "--port", str(port)]
            + ["--loop", str(loop_path), *shape],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            if not child.stdout.readline():
                raise RuntimeError("a client process ended before joining")
        start = time.monotonic() + args.warmup
        for child in children:
            assert child.stdin is not None
            child.stdin.write(json.dumps({"start": start}) + "\n")
            child.stdin.flush()
        time.sleep(max(0.0, start - time.monotonic()))
        cpu0, wall0 = tree_cpu_seconds(server.pid), time.monotonic()
        time.sleep(max(0.0, start + args.seconds - time.monotonic()))
        cpu1, wall1 = tree_cpu_seconds(server.pid), time.monotonic()
        parts = []
        for child in children:
            assert child.stdout is not None
            parts.append(json.loads(child.stdout.readline()))
        used = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1])
        forwarded = args.visits * args.party * (args.party - 1) if args.visits else args.streams
        result = summarize(parts, used, wall1 - wall0, forwarded)
    finally:
        for child in children:
            with contextlib.suppress(OSError):
                assert child.stdin is not None
                child.stdin.close()  # a child still waiting for the start gives up
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        server.terminate()
        server.wait(30)
    mode = {"visits": args.visits, "party": args.party} if args.visits else {}
    mode |= {"simulcast": True} if args.simulcast else {}
    return {"impl": impl, **mode, "media_workers": args.media_workers, **result}


async def client_share(
    args: argparse.Namespace, index: int, count: int, loop: Loop, layers: Layers | None
) -> None:
    """Client process ``index`` of ``count``: joins every ``count``-th room, says so on
    stdout, reads the window's start from stdin and prints what it observed."""
    use_host_only()
    replayer = Replayer(loop, layers)
    probe = Probe() if index == 0 else None
    subscribers: list[Participant] = []
    everyone: list[Participant] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        base = f"http://127.0.0.1:{args.port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(f"{base}/"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            if args.visits:
                party = args.party
                for room in range(index, args.visits, count):
                    for seat in range(party):
                        watching = probe if (room, seat) == (0, 1) else None
                        who = Participant(
                            replayer,
                            ["video", "audio"],
                            watching,
                            probe.sent if probe is not None and room == seat == 0 else None,
                            expects=party - 1 - (watching is not None),
                            simulcast=args.simulcast,
                        )
                        everyone.append(who)
                        tasks.append(await hub_join(http, base, f"r{room}", f"p{seat}", who))
                subscribers = everyone
            else:
                for room in range(index, args.streams, count):
                    watching = probe if room == 0 else None
                    sent = watching.sent if watching is not None else None
                    publisher = Participant(
                        replayer, ["video"], None, sent, simulcast=args.simulcast
                    )
                    subscriber = Participant(None, [], watching, expects=int(watching is None))
                    everyone += [publisher, subscriber]
                    subscribers.append(subscriber)
                    tasks.append(await hub_join(http, base, f"r{room}", "pub", publisher))
                    tasks.append(await hub_join(http, base, f"r{room}", "sub", subscriber))
            print(json.dumps({"joined": len(everyone)}), flush=True)
            line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            start = float(json.loads(line)["start"])
            rate = video_packets_per_s(loop)
            part = await observe(subscribers, probe, start, args.seconds, rate)
            print(json.dumps(part), flush=True)
    finally:
        for task in tasks:
            task.cancel()
        await replayer.close()
        await asyncio.gather(*(p.close() for p in everyone), return_exceptions=True)


# -- Janus, in a private network namespace ---------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=8, help="forwarded VP8 streams")
    parser.add_argument(
        "--impl",
        default="hearth,mediarelay,janus",
        help="comma-separated: hearth, mediarelay, janus",
    )
    parser.add_argument(
        "--visits", type=int, default=0, help="instead: this many visits through Hearth's relay"
    )
    parser.add_argument("--party", type=int, default=3, help="participants per visit")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds between the last join and measuring; default 6, with --visits 10 + "
        "0.25 per participant (each join renegotiates its room; streams start on keyframes)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring window")
    parser.add_argument(
        "--client-procs",
        type=int,
        default=0,
        help="processes for the load generator; default one per "
        f"{PEERS_PER_CLIENT_PROCESS} peers, at most one per core",
    )
    parser.add_argument(
        "--media-workers",
        type=int,
        default=0,
        help="the relay's media worker processes (0: media in the relay's own process)",
    )
    parser.add_argument(
        "--simulcast",
        action="store_true",
        help="publishers send three layers (160x120, 320x240 and the 640x480 loop, each with "
        "its RID); subscribers get the top one (hearth and janus)",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--clients", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--janus-inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = 10 + 0.25 * args.visits * args.party if args.visits else 6.0
    if args.serve:
        serve(args.serve, args.port, args.media_workers)
        return
    if args.janus_inside:
        janus_inside(args)
        return
    if args.clients:
        index, count = (int(x) for x in args.clients.split("/"))
        loop = pickle.loads(Path(args.loop).read_bytes())
        lower = Path(f"{args.loop}.layers")
        layers = pickle.loads(lower.read_bytes()) if args.simulcast else None
        asyncio.run(client_share(args, index, count, loop, layers))
        return
    with tempfile.TemporaryDirectory() as folder:
        loop_path = Path(folder) / "loop.pickle"
        encode_loop(loop_path, simulcast=args.simulcast)
        if args.visits:
            print(json.dumps(run_hub("hearth", args, loop_path)), flush=True)
            return
        results: dict[str, dict[str, Any]] = {}
        for impl in args.impl.split(","):
            if args.simulcast and impl == "mediarelay":
                skipped = "aiortc's MediaRelay decodes one SSRC: no simulcast"
                results[impl] = {"impl": impl, "simulcast": True, "skipped": skipped}
            elif impl == "janus":
                results[impl] = run_janus(args, loop_path)
            else:
                results[impl] = run_hub(impl, args, loop_path)
            print(json.dumps(results[impl]), flush=True)
        hearth, janus = results.get("hearth"), results.get("janus")
        if hearth and janus and "skipped" not in janus:
            print(json.dumps(ratios(hearth, janus)), flush=True)


def ratios(hearth: dict[str, Any], janus: dict[str, Any]) -> dict[str, Any]:
    """Hearth against Janus in the same run, with the issue's targets."""
    cpu_ratio = hearth["cpu_per_stream_pct"] / max(janus["cpu_per_stream_pct"], 0.01)
    extra_ms = None
    if hearth["latency_p50_ms"] is not None and janus["latency_p50_ms"] is not None:
        extra_ms = round(hearth["latency_p50_ms"] - janus["latency_p50_ms"], 1)
    return {
        "impl": "hearth/janus",
        "streams": hearth["streams"],
        "cpu_per_stream_ratio": round(cpu_ratio, 2),
        "cpu_target_met": cpu_ratio <= 1.5,  # issue 16
        "latency_p50_extra_ms": extra_ms,
        "latency_target_met": extra_ms is not None and extra_ms <= 15,
    }


if __name__ == "__main__":
    main()

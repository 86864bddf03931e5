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

Prints one JSON line per measurement (bench/README.md, "Relay").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from harness import free_port
from relay_janus import janus_inside, run_janus
from relay_load import (
    Loop,
    LoopTrack,
    Participant,
    Probe,
    encode_loop,
    hub_join,
    measure,
    use_host_only,
)

from media import ForwardingRelay, MediaCallbacks, MediaHub, TranscodingRelay


def serve(impl: str, port: int) -> None:
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
    hub = MediaHub(
        ice_servers=[],
        relay_factory=factory,
        callbacks=MediaCallbacks(renegotiate, quiet, no_reply),
    )

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

    app = web.Application()
    app.router.add_get("/ws/{room}/{pid}", socket)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def run_hub(impl: str, args: argparse.Namespace, loop: Loop) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", impl, "--port", str(port)])
    try:
        result = asyncio.run(hub_clients(args, server.pid, port, loop))
    finally:
        server.terminate()
        server.wait(10)
    mode = {"visits": args.visits, "party": args.party} if args.visits else {}
    return {"impl": impl, **mode, **result}


async def hub_clients(
    args: argparse.Namespace, relay_pid: int, port: int, loop: Loop
) -> dict[str, Any]:
    use_host_only()
    video, audio = loop
    probe = Probe()
    subscribers: list[Participant] = []
    everyone: list[Participant] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{base}/"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            if args.visits:
                party, rooms = args.party, args.visits
                for room in range(rooms):
                    for seat in range(party):
                        sent = probe.sent if room == seat == 0 else None
                        who = Participant(
                            [LoopTrack("video", video, sent), LoopTrack("audio", audio, None)],
                            probe if (room, seat) == (0, 1) else None,
                        )
                        everyone.append(who)
                        tasks.append(await hub_join(http, base, f"r{room}", f"p{seat}", who))
                subscribers = everyone
                forwarded = rooms * party * (party - 1)
            else:
                for room in range(args.streams):
                    publisher = Participant(
                        [LoopTrack("video", video, probe.sent if room == 0 else None)]
                    )
                    subscriber = Participant([], probe if room == 0 else None)
                    everyone += [publisher, subscriber]
                    subscribers.append(subscriber)
                    tasks.append(await hub_join(http, base, f"r{room}", "pub", publisher))
                    tasks.append(await hub_join(http, base, f"r{room}", "sub", subscriber))
                forwarded = args.streams
            return await measure(args, relay_pid, subscribers, probe, forwarded)
    finally:
        for task in tasks:
            task.cancel()
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
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--janus-inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = 10 + 0.25 * args.visits * args.party if args.visits else 6.0
    if args.serve:
        serve(args.serve, args.port)
        return
    if args.janus_inside:
        janus_inside(args)
        return
    with tempfile.TemporaryDirectory() as folder:
        loop_path = Path(folder) / "loop.pickle"
        encode_loop(loop_path)
        loop = pickle.loads(loop_path.read_bytes())
        if args.visits:
            print(json.dumps(run_hub("hearth", args, loop)), flush=True)
            return
        results: dict[str, dict[str, Any]] = {}
        for impl in args.impl.split(","):
            if impl == "janus":
                results[impl] = run_janus(args, loop_path)
            else:
                results[impl] = run_hub(impl, args, loop)
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
        "cpu_target_met": cpu_ratio <= 2.0,
        "latency_p50_extra_ms": extra_ms,
        "latency_target_met": extra_ms is not None and extra_ms <= 15,
    }


if __name__ == "__main__":
    main()

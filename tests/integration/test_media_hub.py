"""MediaHub with in-process aiortc clients: relaying among a room, leaving, rejoining, refusals.

Each client publishes a solid colour (and silence), so a receiver can tell by the pixels whose
video reached it. Clients answer the hub's renegotiation offers from inside the callback, as
a Socket.IO ``call`` would. Every wait is bounded: a hung connection fails the test.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aioice.ice
import numpy
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from media import MediaCallbacks, MediaError, MediaHub

ROOM = "room-1"
TIMEOUT_S = 10.0
FPS = 15
WIDTH, HEIGHT = 160, 120
# BGR, saturated so that two VP8 generations (client -> hub -> client) keep them apart.
RED, GREEN, BLUE, YELLOW = (0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255)
COLOUR_TOLERANCE = 60


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice skips 127.0.0.1, and a hermetic runner may have no other interface.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


class ColourTrack(MediaStreamTrack):
    """Small frames of one solid colour at 15 fps (half the CPU of aiortc's 30 fps default)."""

    kind = "video"

    def __init__(self, bgr: tuple[int, int, int]) -> None:
        super().__init__()
        self._image = numpy.full((HEIGHT, WIDTH, 3), bgr, dtype=numpy.uint8)
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._count += 1
            await asyncio.sleep(max(0.0, self._start + self._count / FPS - time.monotonic()))
        frame = VideoFrame.from_ndarray(self._image, format="bgr24")
        frame.pts = self._count * (90_000 // FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        return frame


@dataclass
class Received:
    frames: int = 0
    width: int = 0
    samples: int = 0
    colour: tuple[int, int, int] | None = None


class Client:
    """A browser stand-in: publishes colour + silence, opens a "readings" channel."""

    def __init__(self, hub: MediaHub, participant_id: str, colour: tuple[int, int, int]) -> None:
        self.hub = hub
        self.participant_id = participant_id
        self.pc = RTCPeerConnection(configuration=RTCConfiguration(iceServers=[]))
        self.pc.addTrack(ColourTrack(colour))
        self.pc.addTrack(AudioStreamTrack())
        self.channel = self.pc.createDataChannel("readings")
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.channel.on("message", self.replies.put_nowait)
        self.received: dict[str, Received] = {}
        self._consumers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def connect(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await asyncio.wait_for(
            self.hub.handle_offer(ROOM, self.participant_id, self.pc.localDescription.sdp),
            TIMEOUT_S,
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    async def answer(self, offer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.hub.handle_answer(ROOM, self.participant_id, self.pc.localDescription.sdp)

    def direction(self, mid: str) -> str | None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.mid == mid:
                return transceiver.currentDirection
        return None

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
        assert mid is not None
        self.received[mid] = Received()
        self._consumers.append(asyncio.ensure_future(self._consume(self.received[mid], track)))

    async def _consume(self, received: Received, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                received.frames += 1
                if isinstance(frame, VideoFrame):
                    received.width = frame.width
                    pixel = frame.to_ndarray(format="bgr24")[frame.height // 2, frame.width // 2]
                    received.colour = (int(pixel[0]), int(pixel[1]), int(pixel[2]))
                elif isinstance(frame, AudioFrame):
                    received.samples = frame.samples
        except MediaStreamError:
            return

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        await asyncio.wait_for(self.pc.close(), TIMEOUT_S)


@dataclass
class Harness:
    """The callbacks signalling would supply, routed to the in-process clients."""

    clients: dict[str, Client] = field(default_factory=dict)
    states: list[tuple[str, str]] = field(default_factory=list)
    offers: list[tuple[str, str]] = field(default_factory=list)
    # Offers to these participants are kept here unanswered (a slow or silent browser).
    hold: set[str] = field(default_factory=set)
    held: dict[str, str] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)

    async def renegotiate(self, room_id: str, participant_id: str, sdp: str) -> None:
        assert room_id == ROOM
        self.offers.append((participant_id, sdp))
        if participant_id in self.broken:
            raise ConnectionError("the browser's socket is gone")
        if participant_id in self.hold:
            self.held[participant_id] = sdp
            return
        await self.clients[participant_id].answer(sdp)

    def offers_to(self, participant_id: str) -> int:
        return sum(1 for pid, _ in self.offers if pid == participant_id)

    async def peer_state(self, room_id: str, participant_id: str, state: str) -> None:
        self.states.append((participant_id, state))

    async def data_message(
        self, room_id: str, participant_id: str, label: str, message: str
    ) -> str | None:
        if message == "boom":
            raise RuntimeError("callback failure must stay contained")
        return f"{participant_id}/{label}:{message}"

    def callbacks(self) -> MediaCallbacks:
        return MediaCallbacks(
            renegotiate=self.renegotiate,
            peer_state=self.peer_state,
            data_message=self.data_message,
        )


@dataclass
class World:
    hub: MediaHub
    harness: Harness
    tasks_before: int

    async def join(self, participant_id: str, colour: tuple[int, int, int]) -> Client:
        client = Client(self.hub, participant_id, colour)
        self.harness.clients[participant_id] = client
        await client.connect()
        return client


@pytest.fixture
def answer_timeout_s() -> float:
    return 15.0


@pytest.fixture
async def world(answer_timeout_s: float) -> AsyncIterator[World]:
    tasks_before = len(asyncio.all_tasks())
    harness = Harness()
    hub = MediaHub(ice_servers=[], callbacks=harness.callbacks(), answer_timeout_s=answer_timeout_s)
    built = World(hub, harness, tasks_before)
    yield built
    await asyncio.wait_for(hub.close(), TIMEOUT_S)
    for client in harness.clients.values():
        await client.close()


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def close_to(colour: tuple[int, int, int] | None, expected: tuple[int, int, int]) -> bool:
    return colour is not None and all(
        abs(a - b) <= COLOUR_TOLERANCE for a, b in zip(colour, expected, strict=True)
    )


def receiving(
    world: World, client: Client, expected: dict[str, tuple[int, int, int]]
) -> Callable[[], bool]:
    """True once ``client`` decodes, from each publisher named, video of its colour and audio."""

    def check() -> bool:
        sources = world.hub.sources(ROOM, client.participant_id)
        for publisher, colour in expected.items():
            mids = {kind: mid for mid, (pid, kind) in sources.items() if pid == publisher}
            if set(mids) != {"audio", "video"}:
                return False
            video = client.received.get(mids["video"])
            audio = client.received.get(mids["audio"])
            if video is None or audio is None or client.direction(mids["video"]) != "recvonly":
                return False
            if not (video.width > 0 and close_to(video.colour, colour)):
                return False
            if not (audio.frames > 0 and audio.samples > 0):
                return False
        return {pid for pid, _ in sources.values()} == set(expected)

    return check


async def assert_nothing_left(world: World) -> None:
    await asyncio.wait_for(world.hub.close_room(ROOM), TIMEOUT_S)
    for client in world.harness.clients.values():
        await client.close()
    assert world.hub.participants(ROOM) == []
    assert world.hub._rooms == {}
    await until(lambda: world.hub._tasks == {}, "the hub's background tasks to end")
    await until(
        lambda: len(asyncio.all_tasks()) <= world.tasks_before,
        "tasks (relay, RTP, ICE) to return to the count before the test",
    )


async def test_three_participants_each_receive_the_other_two(world: World) -> None:
    # Joining at once: renegotiations overlap and must coalesce.
    a, b, c = await asyncio.gather(
        world.join("A", RED), world.join("B", GREEN), world.join("C", BLUE)
    )

    await until(receiving(world, a, {"B": GREEN, "C": BLUE}), "A to decode B and C")
    await until(receiving(world, b, {"A": RED, "C": BLUE}), "B to decode A and C")
    await until(receiving(world, c, {"A": RED, "B": GREEN}), "C to decode A and B")

    hub = world.hub
    assert sorted(hub.participants(ROOM)) == ["A", "B", "C"]
    assert sorted(hub.tracks_of(ROOM, "A")) == ["audio", "video"]
    for pid in ("A", "B", "C"):
        counters = hub.counters(ROOM, pid)
        assert counters["video_frames_to"] > 0 and counters["audio_frames_to"] > 0
        assert counters["video_frames_from"] > 0 and counters["audio_frames_from"] > 0
        assert "connected" in {s for p, s in world.harness.states if p == pid}
    # Four outbound media sections each (2 publishers x audio+video), no more.
    assert len(a.pc.getTransceivers()) == 2 + 4

    await assert_nothing_left(world)
    assert {(pid, "closed") for pid in "ABC"} <= set(world.harness.states)


async def test_data_channel_messages_reach_the_callback_and_replies_come_back(world: World) -> None:
    a = await world.join("A", RED)
    await until(lambda: a.channel.readyState == "open", "A's data channel to open")

    a.channel.send("boom")  # the callback raises: logged, no reply, the channel stays usable
    a.channel.send('{"type": "spo2", "seq": 1}')
    reply = await asyncio.wait_for(a.replies.get(), TIMEOUT_S)

    assert reply == 'A/readings:{"type": "spo2", "seq": 1}'
    counters = world.hub.counters(ROOM, "A")
    assert (counters["data_messages_in"], counters["data_messages_out"]) == (2, 1)
    await assert_nothing_left(world)


async def test_snapshot_returns_the_next_decoded_frame_as_bgr(world: World) -> None:
    await world.join("A", RED)
    await until(lambda: "connected" in {s for _, s in world.harness.states}, "A to connect")

    image = await asyncio.wait_for(world.hub.snapshot(ROOM, "A"), TIMEOUT_S)

    assert image is not None and image.shape == (HEIGHT, WIDTH, 3)
    assert close_to(tuple(int(v) for v in image[HEIGHT // 2, WIDTH // 2]), RED)  # type: ignore[arg-type]
    assert await world.hub.snapshot(ROOM, "nobody") is None
    await assert_nothing_left(world)


async def test_a_participant_in_the_lobby_receives_nothing(world: World) -> None:
    a = await world.join("A", RED)
    await world.join("B", GREEN)
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")
    await asyncio.sleep(0.3)  # let media flow a while longer

    hub = world.hub
    assert sorted(hub.participants(ROOM)) == ["A", "B"]
    assert set(hub.counters(ROOM, "L").values()) == {0}
    assert hub.sources(ROOM, "L") == {} and hub.tracks_of(ROOM, "L") == []
    # Everything A was sent came from B, and B's media went to A only.
    a_counters, b_counters = hub.counters(ROOM, "A"), hub.counters(ROOM, "B")
    assert a_counters["frames_to"] == b_counters["frames_from"] > 0
    assert {pid for pid, _ in hub.sources(ROOM, "A").values()} == {"B"}
    await assert_nothing_left(world)


async def test_a_participant_who_drops_and_reconnects_reaches_the_others_again(
    world: World,
) -> None:
    a = await world.join("A", RED)
    b = await world.join("B", GREEN)
    c = await world.join("C", BLUE)
    await until(receiving(world, a, {"B": GREEN, "C": BLUE}), "A to decode B and C")
    await until(receiving(world, c, {"A": RED, "B": GREEN}), "C to decode A and B")
    b_mids_at_a = {m for m, (pid, _) in world.hub.sources(ROOM, "A").items() if pid == "B"}
    transceivers_at_a = len(a.pc.getTransceivers())

    await asyncio.wait_for(world.hub.remove(ROOM, "B"), TIMEOUT_S)
    await asyncio.wait_for(world.hub.remove(ROOM, "B"), TIMEOUT_S)  # idempotent
    await b.close()
    assert sorted(world.hub.participants(ROOM)) == ["A", "C"]
    assert ("B", "closed") in world.harness.states
    # A and C are renegotiated: B's media sections go inactive.
    await until(
        lambda: all(a.direction(mid) == "inactive" for mid in b_mids_at_a),
        "A's media sections from B to become inactive",
    )
    assert {pid for pid, _ in world.hub.sources(ROOM, "C").values()} == {"A"}

    await world.join("B", YELLOW)  # a fresh page: new peer connection, new offer

    await until(receiving(world, a, {"B": YELLOW, "C": BLUE}), "A to decode the new B")
    await until(receiving(world, c, {"A": RED, "B": YELLOW}), "C to decode the new B")
    b2 = world.harness.clients["B"]
    await until(receiving(world, b2, {"A": RED, "C": BLUE}), "the new B to decode A and C")
    assert sorted(world.hub.participants(ROOM)) == ["A", "B", "C"]
    # aiortc has no removeTrack: the inactive transceivers were reused, not added to.
    assert len(a.pc.getTransceivers()) == transceivers_at_a
    await assert_nothing_left(world)


async def test_a_page_that_closes_its_connection_leaves_the_room(world: World) -> None:
    a = await world.join("A", RED)
    b = await world.join("B", GREEN)
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")
    b_mids_at_a = {m for m, (pid, _) in world.hub.sources(ROOM, "A").items() if pid == "B"}

    await b.close()  # the tab closed: DTLS close_notify, no signalling

    await until(lambda: ("B", "closed") in world.harness.states, "B reported closed")
    assert world.hub.participants(ROOM) == ["A"]
    await until(
        lambda: all(a.direction(mid) == "inactive" for mid in b_mids_at_a),
        "A's media sections from B to become inactive",
    )
    await assert_nothing_left(world)


async def test_a_room_change_during_an_outstanding_offer_is_offered_after_the_answer(
    world: World,
) -> None:
    a = await world.join("A", RED)
    world.harness.hold.add("A")
    await world.join("B", GREEN)
    await until(lambda: "A" in world.harness.held, "an offer to A about B")

    await world.join("C", BLUE)  # A's offer is still outstanding: only a flag is set
    await until(lambda: world.hub.counters(ROOM, "C")["frames_to"] > 0, "C to receive media")
    assert world.harness.offers_to("A") == 1

    world.harness.hold.clear()
    await asyncio.wait_for(a.answer(world.harness.held.pop("A")), TIMEOUT_S)

    await until(receiving(world, a, {"B": GREEN, "C": BLUE}), "A to decode B and C")
    assert world.harness.offers_to("A") == 2
    await assert_nothing_left(world)


async def test_a_browser_that_cannot_take_an_offer_is_failed_and_closed(world: World) -> None:
    await world.join("A", RED)
    world.harness.broken.add("A")
    b = await world.join("B", GREEN)

    await until(lambda: ("A", "closed") in world.harness.states, "A reported closed")
    assert ("A", "failed") in world.harness.states
    assert world.hub.participants(ROOM) == ["B"]
    assert world.hub.sources(ROOM, "B") == {}
    assert b.pc.connectionState == "connected"
    await assert_nothing_left(world)


# Long enough for B, the browser that does answer, on a busy machine; A never answers.
@pytest.mark.parametrize("answer_timeout_s", [2.0])
async def test_a_browser_that_never_answers_is_failed_after_the_timeout(world: World) -> None:
    await world.join("A", RED)
    world.harness.hold.add("A")
    await world.join("B", GREEN)
    await until(lambda: "A" in world.harness.held, "an offer to A")

    await until(lambda: ("A", "closed") in world.harness.states, "A failed by the timeout")

    assert world.harness.states.index(("A", "failed")) < world.harness.states.index(("A", "closed"))
    assert world.hub.participants(ROOM) == ["B"]
    with pytest.raises(MediaError) as late:
        await world.hub.handle_answer(ROOM, "A", world.harness.held["A"])
    assert late.value.code == "no_such_peer"
    await assert_nothing_left(world)


async def test_a_second_offer_replaces_the_peer_connection_without_listing_it_twice(
    world: World,
) -> None:
    a = await world.join("A", RED)
    await world.join("B", GREEN)
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")
    old_b = world.harness.clients["B"]

    await world.join("B", YELLOW)  # the page reloaded: no remove() in between
    await old_b.close()

    assert world.hub.participants(ROOM) == ["A", "B"]
    await until(receiving(world, a, {"B": YELLOW}), "A to decode the new B")
    # A replaced connection is not reported closed: the participant never left.
    assert ("B", "closed") not in world.harness.states
    await assert_nothing_left(world)


async def test_reoffers_keep_the_browsers_payload_types_and_extension_ids(world: World) -> None:
    a = Client(world.hub, "A", RED)
    world.harness.clients["A"] = a
    await a.pc.setLocalDescription(await a.pc.createOffer())
    # Renumber the client's offer the way Chrome numbers things (opus 111, VP8 96/rtx 97,
    # sdes:mid at 4): aiortc's own re-offer would use 96, 97/98 and 1.
    offer = chrome_numbering(a.pc.localDescription.sdp)
    answer = await asyncio.wait_for(world.hub.handle_offer(ROOM, "A", offer), TIMEOUT_S)
    await a.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await world.join("B", GREEN)
    await until(lambda: any(pid == "A" for pid, _ in world.harness.offers), "a re-offer to A")

    reoffer = next(sdp for pid, sdp in world.harness.offers if pid == "A")
    assert "a=rtpmap:111 opus/48000/2" in reoffer
    assert "a=rtpmap:96 VP8/90000" in reoffer and "a=fmtp:97 apt=96" in reoffer
    assert "a=rtpmap:97 VP8/90000" not in reoffer
    assert "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid" in reoffer
    assert "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid" not in reoffer
    # And media still flows both ways in that numbering.
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")
    b = world.harness.clients["B"]
    await until(receiving(world, b, {"A": RED}), "B to decode A")
    await assert_nothing_left(world)


# Chrome's numbering for what aiortc offers: payload types per media kind, ids per URI.
CHROME_PTS = {"audio": {96: 111}, "video": {97: 96, 98: 97, 99: 102, 100: 103, 101: 104, 102: 105}}
CHROME_EXTMAP_IDS = {
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 1,
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 2,
    "urn:ietf:params:rtp-hdrext:sdes:mid": 4,
}


def chrome_numbering(sdp: str) -> str:
    """An aiortc offer renumbered as Chrome numbers the same codecs and extensions."""
    lines, pts = [], {}
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind, port, proto, *fmt = line[2:].split(" ")
            pts = CHROME_PTS.get(kind, {})
            fmt = [str(pts.get(int(f), f)) if f.isdigit() else f for f in fmt]
            line = "m=" + " ".join([kind, port, proto, *fmt])
        elif line.startswith(("a=rtpmap:", "a=rtcp-fb:", "a=fmtp:")):
            attribute, _, rest = line.partition(":")
            pt, _, value = rest.partition(" ")
            if value.startswith("apt="):
                value = f"apt={pts.get(int(value[4:]), value[4:])}"
            line = f"{attribute}:{pts.get(int(pt), pt)} {value}"
        elif line.startswith("a=extmap:"):
            _, uri = line.split(" ", 1)
            line = f"a=extmap:{CHROME_EXTMAP_IDS[uri]} {uri}"
        lines.append(line)
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda sdp: "", id="empty"),
        pytest.param(lambda sdp: sdp + "a=x-pad:" + "x" * 70 * 1024 + "\r\n", id="70KiB"),
        pytest.param(lambda sdp: "hello, I am not an SDP\r\n", id="garbage"),
        pytest.param(
            lambda sdp: "".join(
                line for line in sdp.splitlines(keepends=True) if "fingerprint" not in line
            ),
            id="no-fingerprint",
        ),
        pytest.param(lambda sdp: sdp.replace("a=setup", "a=se\x00tup", 1), id="nul-byte"),
        pytest.param(
            lambda sdp: (
                sdp + "".join(f"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:x{i}\r\n" for i in range(18))
            ),
            id="20-m-lines",
        ),
        pytest.param(
            lambda sdp: sdp.replace("a=rtpmap:", "a=rtpmap:zz", 1), id="unparsable-rtpmap"
        ),
        pytest.param(
            lambda sdp: sdp.replace("VP8/", "XV8/").replace("H264/", "X264/"),
            id="no-common-codec",
        ),
    ],
)
async def test_malformed_offers_are_refused_and_leave_no_peer_connection(
    world: World, mangle: Callable[[str], str]
) -> None:
    client = Client(world.hub, "A", RED)
    world.harness.clients["A"] = client
    await client.pc.setLocalDescription(await client.pc.createOffer())

    with pytest.raises(MediaError) as refused:
        await asyncio.wait_for(
            world.hub.handle_offer(ROOM, "A", mangle(client.pc.localDescription.sdp)), TIMEOUT_S
        )

    assert refused.value.code in {"bad_sdp", "sdp_too_large"}
    assert world.hub.participants(ROOM) == [] and world.hub._rooms == {}
    await assert_nothing_left(world)


async def test_answers_without_a_matching_offer_are_refused(world: World) -> None:
    with pytest.raises(MediaError) as unknown:
        await world.hub.handle_answer(ROOM, "nobody", "v=0\r\n")
    assert unknown.value.code == "no_such_peer"

    await world.join("A", RED)  # alone: the hub has offered A nothing
    with pytest.raises(MediaError) as unexpected:
        await world.hub.handle_answer(ROOM, "A", "v=0\r\n")
    assert unexpected.value.code == "wrong_state"
    await assert_nothing_left(world)


async def test_close_room_closes_every_peer_connection(world: World) -> None:
    a = await world.join("A", RED)
    b = await world.join("B", GREEN)
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")

    await asyncio.wait_for(world.hub.close_room(ROOM), TIMEOUT_S)

    assert world.hub.participants(ROOM) == [] and world.hub._rooms == {}
    await until(
        lambda: a.pc.connectionState == b.pc.connectionState == "closed",
        "the clients to see their connections closed",
    )
    assert {("A", "closed"), ("B", "closed")} <= set(world.harness.states)
    await assert_nothing_left(world)


async def test_totals_keep_counting_what_closed_peers_did(world: World) -> None:
    a = await world.join("A", RED)
    await world.join("B", GREEN)
    await until(receiving(world, a, {"B": GREEN}), "A to decode B")
    before = world.hub.totals()
    assert before["video_frames_received"] > 0 and before["video_frames_to"] > 0
    await asyncio.wait_for(world.hub.remove(ROOM, "B"), TIMEOUT_S)
    after = world.hub.totals()
    # Only ever growing: a counter exported to Prometheus must never go back.
    assert all(after[name] >= value for name, value in before.items()), (before, after)
    await asyncio.wait_for(world.hub.close_room(ROOM), TIMEOUT_S)
    closed = world.hub.totals()
    assert all(closed[name] >= value for name, value in after.items())
    assert world.hub.participants(ROOM) == []

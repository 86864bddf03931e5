import assert from "node:assert/strict";
import { test } from "node:test";

import { PeerLink, SIMULCAST_ENCODINGS, direction, simulcastEncodings } from "../../web/static/js/lib/peer.js";

test("a kind with a track is sent, and received unless turned off", () => {
  assert.equal(direction(true, true), "sendrecv");
  assert.equal(direction(true, false), "sendonly");
});

test("a kind without a track is received, or nothing at all for sound only", () => {
  assert.equal(direction(false, true), "recvonly");
  assert.equal(direction(false, false), "inactive");
});

test("the camera goes out in simulcast layers, lowest first, as many as its size warrants", () => {
  const rids = (w, h) => (simulcastEncodings(w, h) || []).map((e) => e.rid);
  assert.deepEqual(rids(1280, 720), ["q", "h", "f"]);
  assert.deepEqual(rids(960, 540), ["q", "h", "f"]);
  assert.deepEqual(rids(640, 480), ["h", "f"]);
  assert.deepEqual(rids(480, 640), ["h", "f"]); // a phone held upright
  assert.equal(simulcastEncodings(320, 240), null);
  assert.equal(simulcastEncodings(undefined, undefined), null);
  const scales = SIMULCAST_ENCODINGS.map((e) => e.scaleResolutionDownBy);
  assert.deepEqual(scales, [4, 2, 1]);
  assert.equal(simulcastEncodings(640, 480).at(-1).scaleResolutionDownBy, 1);
});

test("a tile size goes to the relay under the mid of that person's video only", () => {
  const sent = [];
  const link = Object.create(PeerLink.prototype);
  link.closed = false;
  link.tileSizes = new Map();
  link.videoChannel = { readyState: "open", send: (text) => sent.push(JSON.parse(text)) };
  link.sources = { 1: "anna", 2: "anna", 3: "ben" };
  const transceiver = (mid, kind) => ({ mid, receiver: { track: { kind } } });
  link.pc = { getTransceivers: () => [transceiver("1", "audio"), transceiver("2", "video"), transceiver("3", "video")] };
  link.setTileSize("anna", 320.4, 180);
  assert.deepEqual(sent, [{ mid: "2", width: 320, height: 180 }]);
  link.videoChannel.readyState = "closing";
  link.setTileSize("ben", 640, 360);
  assert.equal(sent.length, 1); // kept, and sent once the channel is open again
  link.videoChannel.readyState = "open";
  link.sendTileSizes();
  assert.deepEqual(sent.slice(1), [{ mid: "2", width: 320, height: 180 }, { mid: "3", width: 640, height: 360 }]);
});

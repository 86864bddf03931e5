import assert from "node:assert/strict";
import { test } from "node:test";
import { level, networkVerdict, summarise } from "../../web/static/js/lib/quality.js";

test("quality is good on a quick clean line", () => {
  assert.equal(level(40, 0), "good");
});

test("quality falls to fair, then poor, with delay or loss", () => {
  assert.equal(level(200, 0), "fair");
  assert.equal(level(40, 0.05), "fair");
  assert.equal(level(500, 0), "poor");
  assert.equal(level(40, 0.1), "poor");
  assert.equal(level(null, 0), "good");
});

test("loss is measured over the last interval only", () => {
  const first = summarise([
    { type: "inbound-rtp", packetsReceived: 1000, packetsLost: 100 },
    { type: "candidate-pair", state: "succeeded", nominated: true, currentRoundTripTime: 0.05 },
  ], null);
  assert.equal(first.level, "poor");
  const second = summarise([{ type: "inbound-rtp", packetsReceived: 2000, packetsLost: 100 }], first);
  assert.equal(second.loss, 0);
  assert.equal(second.level, "good");
});

test("the network verdict uses the median round trip and the download rate", () => {
  assert.equal(networkVerdict([20, 30, 900, 25, 22], 5000).verdict, "good");
  assert.equal(networkVerdict([200, 210, 220], 800).verdict, "ok");
  assert.equal(networkVerdict([50, 60, 70], 100).verdict, "weak");
  assert.equal(networkVerdict([], 5000).verdict, "weak");
});

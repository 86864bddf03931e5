import assert from "node:assert/strict";
import { test } from "node:test";

import { direction } from "../../web/static/js/lib/peer.js";

test("a kind with a track is sent, and received unless turned off", () => {
  assert.equal(direction(true, true), "sendrecv");
  assert.equal(direction(true, false), "sendonly");
});

test("a kind without a track is received, or nothing at all for sound only", () => {
  assert.equal(direction(false, true), "recvonly");
  assert.equal(direction(false, false), "inactive");
});

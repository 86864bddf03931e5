import assert from "node:assert/strict";
import { test } from "node:test";
import { IceServers, RENEW_MARGIN_MS, RETRY_MS, renewDelay } from "../../web/static/js/lib/iceservers.js";

const NOW = new Date("2026-03-02T09:00:00Z");

function fakeTimers() {
  const timers = [];
  return {
    timers,
    setTimer: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimer: () => {},
  };
}

test("a credential is renewed five minutes before it runs out, or halfway if shorter", () => {
  assert.equal(renewDelay("2026-03-02T10:00:00Z", NOW), 60 * 60 * 1000 - RENEW_MARGIN_MS);
  assert.equal(renewDelay("2026-03-02T09:04:00Z", NOW), 2 * 60 * 1000);
  assert.equal(renewDelay("2026-03-02T08:00:00Z", NOW), 1000);
  assert.equal(renewDelay(null, NOW), null);
});

test("renewing swaps the list, tells the listeners and schedules the next renewal", async () => {
  const clock = fakeTimers();
  const fresh = [{ urls: ["turn:t.example:3478"], username: "2", credential: "b" }];
  const ice = new IceServers([{ urls: "turn:t.example:3478", username: "1", credential: "a" }],
    "2026-03-02T10:00:00Z",
    async () => ({ ice_servers: fresh, expires_at: "2026-03-02T11:00:00Z" }),
    { now: () => NOW, ...clock });
  const seen = [];
  ice.onChange((list) => seen.push(list));
  ice.start();
  assert.equal(clock.timers[0].ms, 55 * 60 * 1000);
  clock.timers[0].fn();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ice.list, fresh);
  assert.deepEqual(seen, [fresh]);
  assert.equal(clock.timers[1].ms, 115 * 60 * 1000);
});

test("a failed renewal is retried, a refused one is not", async () => {
  for (const [status, retried] of [[0, true], [401, false]]) {
    const clock = fakeTimers();
    const ice = new IceServers([], "2026-03-02T10:00:00Z", async () => {
      throw Object.assign(new Error("no"), { status });
    }, { now: () => NOW, ...clock });
    await ice.renew();
    assert.equal(clock.timers.length === 1 && clock.timers[0].ms === RETRY_MS, retried);
  }
});

test("without a TURN credential nothing is renewed", () => {
  const clock = fakeTimers();
  new IceServers([{ urls: "stun:s.example" }], null, async () => ({}), { now: () => NOW, ...clock }).start();
  assert.equal(clock.timers.length, 0);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { GlucoseJoiner } from "../../web/static/js/lib/bluetooth.js";
import { bleMessage, manualMessage } from "../../web/static/js/lib/readings.js";

// Timers the test drives by hand.
function fakeTimers() {
  const due = new Map();
  let next = 1;
  return {
    setTimeout(fn) { const id = next++; due.set(id, fn); return id; },
    clearTimeout(id) { due.delete(id); },
    fireAll() { for (const [id, fn] of [...due]) { due.delete(id); fn(); } },
    get pending() { return due.size; },
  };
}

const MEASUREMENT_WITH_CONTEXT = Uint8Array.from([0x12, 0x05, 0x00, 0xea, 0x07, 3, 2, 8, 55, 0, 0x36, 0xb0, 0x11]);
const MEASUREMENT_ALONE = Uint8Array.from([0x02, 0x06, 0x00, 0xea, 0x07, 3, 2, 8, 55, 0, 0x36, 0xb0, 0x11]);
const CONTEXT_5 = Uint8Array.from([0x02, 0x05, 0x00, 0x01]);

test("a glucose measurement waits for the context of its own sequence number", () => {
  const timers = fakeTimers();
  const sent = [];
  const joiner = new GlucoseJoiner((bytes, context) => sent.push([bytes, context]), { timers });
  joiner.measurement(MEASUREMENT_WITH_CONTEXT);
  assert.equal(sent.length, 0);
  joiner.context(Uint8Array.from([0x02, 0x09, 0x00, 0x01])); // another record's: ignored
  assert.equal(sent.length, 0);
  joiner.context(CONTEXT_5);
  assert.deepEqual(sent, [[MEASUREMENT_WITH_CONTEXT, CONTEXT_5]]);
  assert.equal(timers.pending, 0);
});

test("a measurement announcing no context goes at once, and a missing context is not waited for", () => {
  const timers = fakeTimers();
  const sent = [];
  const joiner = new GlucoseJoiner((bytes, context) => sent.push([bytes, context]), { timers });
  joiner.measurement(MEASUREMENT_ALONE);
  assert.deepEqual(sent, [[MEASUREMENT_ALONE, null]]);
  joiner.measurement(MEASUREMENT_WITH_CONTEXT);
  timers.fireAll();
  assert.deepEqual(sent[1], [MEASUREMENT_WITH_CONTEXT, null]);
});

test("the context travels beside its measurement, and typed glucose names its unit", () => {
  const message = bleMessage("2a18", MEASUREMENT_WITH_CONTEXT, new Date(0), null, CONTEXT_5);
  assert.equal(message.context, "AgUAAQ==");
  assert.equal(manualMessage("glucose", 5.5).unit, "mmol/L");
  assert.equal(manualMessage("glucose", 99, new Date(0), "mg/dL").unit, "mg/dL");
  assert.equal(manualMessage("spo2", 95).unit, "%");
});

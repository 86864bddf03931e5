import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadingQueue, bleMessage, manualMessage, seeded, simulate } from "../../web/static/js/lib/readings.js";

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(k) { return this.items.has(k) ? this.items.get(k) : null; }
  setItem(k, v) { this.items.set(k, v); }
}

test("manual readings carry the unit of their kind", () => {
  const m = manualMessage("temperature", 37.5, new Date("2026-03-02T10:00:00Z"));
  assert.equal(m.unit, "Cel");
  assert.equal(m.source, "manual");
  assert.equal(m.taken_at, "2026-03-02T10:00:00.000Z");
  assert.ok(m.id.length >= 8);
});

test("Bluetooth values travel as base64 of the raw bytes", () => {
  const m = bleMessage("2a5e", new Uint8Array([0x00, 0x61, 0x00, 0x48, 0x00]));
  assert.equal(m.data, "AGEASAA=");
  assert.equal(m.gatt, "2a5e");
});

test("unacknowledged readings are kept and resent after a reconnect, acked ones are not", () => {
  const storage = new MemoryStorage();
  const sent = [];
  const queue = new ReadingQueue(storage, "q");
  queue.attach((t) => sent.push(JSON.parse(t).id));
  const a = manualMessage("spo2", 95);
  const b = manualMessage("spo2", 96);
  queue.add(a);
  queue.add(b);
  assert.deepEqual(queue.receive(JSON.stringify({ ack: a.id })), { status: "ack", id: a.id });
  queue.detach();
  // The page reloads: a new queue over the same storage still holds b.
  const again = new ReadingQueue(storage, "q");
  const resent = [];
  again.attach((t) => resent.push(JSON.parse(t).id));
  assert.deepEqual(resent, [b.id]);
  const nack = again.receive(JSON.stringify({ nack: b.id, code: "out_of_range", error: "no" }));
  assert.equal(nack.status, "nack");
  assert.equal(again.pending.size, 0);
});

test("the simulator desaturates from about 95 to about 84 over three minutes", () => {
  const random = seeded(7);
  const start = simulate(0, { desaturate: true, random });
  const end = simulate(180, { desaturate: true, random });
  assert.ok(start.spo2 >= 93 && start.spo2 <= 96);
  assert.ok(end.spo2 >= 83 && end.spo2 <= 85);
  assert.ok(end.respiratory_rate > start.respiratory_rate);
  const steady = simulate(600, { random });
  assert.ok(steady.spo2 >= 93);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { MESSAGES_KEY, enqueue, flush, loadQueue } from "../../web/static/js/lib/diaryqueue.js";

class MemoryStorage {
  constructor() { this.data = new Map(); }
  getItem(key) { return this.data.has(key) ? this.data.get(key) : null; }
  setItem(key, value) { this.data.set(key, String(value)); }
}

const entry = (id) => ({ client_id: id, recorded_at: "2026-03-01T09:00:00Z", items: { pain: 3 } });

test("entries made offline stay queued until the clinic is reachable, then go in order", async () => {
  const storage = new MemoryStorage();
  enqueue(storage, entry("a"));
  enqueue(storage, entry("b"));
  const offline = await flush(storage, async () => { throw { status: 0 }; });
  assert.deepEqual(offline, { sent: 0, refused: [], pending: 2 });
  const sent = [];
  const online = await flush(storage, async (e) => { sent.push(e.client_id); });
  assert.deepEqual(sent, ["a", "b"]);
  assert.deepEqual(online, { sent: 2, refused: [], pending: 0 });
  assert.deepEqual(loadQueue(storage), []);
});

test("a refused entry is dropped and reported; a server error keeps the rest", async () => {
  const storage = new MemoryStorage();
  enqueue(storage, entry("bad"));
  enqueue(storage, entry("later"));
  const result = await flush(storage, async (e) => {
    if (e.client_id === "bad") throw { status: 422, code: "out_of_range", message: "no" };
    throw { status: 503 };
  });
  assert.equal(result.refused.length, 1);
  assert.equal(result.refused[0].code, "out_of_range");
  assert.deepEqual(loadQueue(storage).map((e) => e.client_id), ["later"]);
});

test("a broken queue in storage reads as empty", () => {
  const storage = new MemoryStorage();
  storage.setItem("hearth.diary.queue", "{not json");
  assert.deepEqual(loadQueue(storage), []);
});

test("the family's messages wait in a queue of their own", async () => {
  const storage = new MemoryStorage();
  enqueue(storage, { client_id: "d1" });
  enqueue(storage, { client_id: "m1" }, MESSAGES_KEY);
  assert.deepEqual(loadQueue(storage, MESSAGES_KEY).map((e) => e.client_id), ["m1"]);
  const sent = [];
  const result = await flush(storage, async (entry) => sent.push(entry.client_id), MESSAGES_KEY);
  assert.deepEqual(sent, ["m1"]);
  assert.equal(result.pending, 0);
  assert.deepEqual(loadQueue(storage).map((e) => e.client_id), ["d1"]);
});

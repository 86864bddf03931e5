import assert from "node:assert/strict";
import { test } from "node:test";
import { addPending, loadPending, loadTopics, saveTopics, savePending, sendPending, topicsToShow } from "../../web/static/js/lib/education.js";

class MemoryStorage {
  constructor() { this.data = new Map(); }
  getItem(key) { return this.data.has(key) ? this.data.get(key) : null; }
  setItem(key, value) { this.data.set(key, String(value)); }
}

const topic = { assignment_id: 7, topic_id: "breathlessness", title: "Sentirse sin aliento", sections: [] };

test("topics loaded once are read from the device when the page comes without them", () => {
  const storage = new MemoryStorage();
  saveTopics(storage, "diary.abc", [topic]);
  assert.deepEqual(topicsToShow(undefined, loadTopics(storage, "diary.abc")), [topic]);
  assert.deepEqual(topicsToShow([], loadTopics(storage, "diary.abc")), []);
  assert.deepEqual(loadTopics(storage, "diary.other"), []);
});

test("a broken stored copy is ignored rather than breaking the page", () => {
  const storage = new MemoryStorage();
  storage.setItem("hearth.education.diary.abc", "{not json");
  assert.deepEqual(loadTopics(storage, "diary.abc"), []);
});

test("marks made offline are kept once each and sent when the connection is back", async () => {
  const storage = new MemoryStorage();
  let marks = addPending([], { assignment_id: 7, kind: "opened" });
  marks = addPending(marks, { assignment_id: 7, kind: "opened" });
  marks = addPending(marks, { assignment_id: 7, kind: "question" });
  assert.equal(marks.length, 2);
  savePending(storage, "visit.3", marks);
  const offline = await sendPending(loadPending(storage, "visit.3"), async () => { throw { status: 0 }; });
  assert.equal(offline.length, 2);
  const sent = [];
  const online = await sendPending(offline, async (mark) => { sent.push(mark.kind); });
  assert.deepEqual(online, []);
  assert.deepEqual(sent, ["opened", "question"]);
});

test("a mark the server refuses is dropped, not retried for ever", async () => {
  const left = await sendPending([{ assignment_id: 9, kind: "opened" }], async () => { throw { status: 404 }; });
  assert.deepEqual(left, []);
});

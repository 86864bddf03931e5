import assert from "node:assert/strict";
import { test } from "node:test";
import { describeEvent, formatDuration, formatPercent, mergePrompts, toMinutes } from "../../web/static/js/lib/drills.js";

const strings = {
  min: "min", sec: "s", not_reached: "not reached", not_scored: "not scored",
  kinds: { prompt: "Prompt", diary: "Diary", family_step: "Step taken", teach_back: "Teach-back",
    said: "Note", started: "Started", finished: "Finished", cancelled: "Cancelled" },
  roles: { family: "family", coordinator: "coordinator" },
  results: { correct: "correct", partly: "partly", not_yet: "not yet" },
};

test("durations read as minutes and seconds", () => {
  assert.equal(formatDuration(250, strings), "4 min 10 s");
  assert.equal(formatDuration(45.4, strings), "45 s");
  assert.equal(formatDuration(120, strings), "2 min");
  assert.equal(formatDuration(0, strings), "0 s");
});

test("a measure never reached says so instead of zero", () => {
  assert.equal(formatDuration(null, strings), "not reached");
  assert.equal(formatDuration(undefined, strings), "not reached");
  assert.equal(toMinutes(null), null);
  assert.equal(formatPercent(null, strings), "not scored");
});

test("minutes for charts keep two decimals", () => {
  assert.equal(toMinutes(90), 1.5);
  assert.equal(toMinutes(100), 1.67);
  assert.equal(formatPercent(66.666, strings), "67 %");
});

test("events are described with the step's own words and the answer's result", () => {
  assert.equal(describeEvent({ kind: "family_step", step: "sit_upright", actor_role: "family" }, strings,
    { sit_upright: "Help her sit upright" }), "Step taken (family): Help her sit upright");
  assert.equal(describeEvent({ kind: "teach_back", item: "Who to call", result: "not_yet" }, strings),
    "Teach-back: Who to call — not yet");
  // The question in the reader's language when the server gives it; the stored item names it.
  assert.equal(describeEvent({ kind: "teach_back", item: "Who to call", question: "A quién llama", result: "correct" },
    strings), "Teach-back: A quién llama — correct");
  assert.equal(describeEvent({ kind: "diary", scores: { pain: 9 } }, strings), "Diary: pain 9");
  assert.equal(describeEvent({ kind: "started", actor_role: "coordinator" }, strings), "Started (coordinator)");
});

test("prompts merge once each, in time order", () => {
  const a = { id: 1, at: "2026-01-01T10:00:00+00:00", text: "a" };
  const b = { id: 2, at: "2026-01-01T10:01:00+00:00", text: "b" };
  assert.deepEqual(mergePrompts([b], [a, b]).map((p) => p.id), [1, 2]);
});

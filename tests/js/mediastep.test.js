import assert from "node:assert/strict";
import { test } from "node:test";
import { stepWords } from "../../web/static/js/ui/mediastep.js";

const strings = {
  own: { video_paused: "Video paused to keep sound clear.", audio_lost: "Sound is not getting through.", full: "" },
  others: { video_paused: "%(name)s's video is paused: weak connection", audio_lost: "%(name)s's sound is lost", full: "" },
  someone: "Someone in the call",
};
const names = new Map([["me", "Ana"], ["ben", "Ben"]]);

test("one's own pause is said in the banner, the others' by name", () => {
  const steps = new Map([["me", "video_paused"], ["ben", "video_paused"], ["x", "audio_lost"]]);
  const words = stepWords(strings, steps, names, "me");
  assert.equal(words.own, "Video paused to keep sound clear.");
  assert.equal(words.phone, false);
  assert.deepEqual(words.others, ["Ben's video is paused: weak connection", "Someone in the call's sound is lost"]);
});

test("lost sound offers the phone; nothing is said when all is well", () => {
  assert.equal(stepWords(strings, new Map([["me", "audio_lost"]]), names, "me").phone, true);
  assert.deepEqual(stepWords(strings, new Map(), names, "me"), { own: "", phone: false, others: [] });
});

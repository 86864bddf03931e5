import assert from "node:assert/strict";
import { test } from "node:test";
import { dayRange, delayUntil, formatStamp, formatTime, formatWhen, MAX_TIMER_MS } from "../../web/static/js/lib/time.js";

test("today in London during summer time starts at 23:00 UTC the day before", () => {
  const range = dayRange(new Date("2026-07-01T12:00:00Z"), "Europe/London");
  assert.equal(range.from, "2026-06-30T23:00:00.000Z");
  assert.equal(range.to, "2026-07-01T23:00:00.000Z");
});

test("today in UTC is midnight to midnight", () => {
  const range = dayRange(new Date("2026-03-02T09:30:00Z"), "UTC");
  assert.equal(range.from, "2026-03-02T00:00:00.000Z");
});

test("times are shown with the zone named", () => {
  const text = formatTime("2026-03-02T14:30:00Z", "America/New_York", "en-US");
  assert.match(text, /09:30/);
  assert.match(text, /EST/);
});

test("a moment for a family is said in words, in their language and zone", () => {
  const english = formatWhen("2026-03-05T14:30:00Z", "Europe/London", "en-GB");
  assert.match(english, /Thursday/);
  assert.match(english, /5 March/);
  assert.match(english, /14:30/);
  assert.match(english, /GMT/);
  assert.doesNotMatch(english, /2026-03-05|T14/);
  const french = formatWhen("2026-03-05T14:30:00Z", "Europe/Paris", "fr");
  assert.match(french, /jeudi/);
  assert.match(french, /15:30/);
});

test("a wait until a moment is never negative and fits a browser timer", () => {
  const now = new Date("2026-03-05T14:00:00Z");
  assert.equal(delayUntil("2026-03-05T14:30:00Z", now), 30 * 60 * 1000);
  assert.equal(delayUntil("2026-03-05T13:00:00Z", now), 0);
  assert.equal(delayUntil("2027-03-05T13:00:00Z", now), MAX_TIMER_MS);
});

test("every page writes a moment one way: 'Thu 3 Dec, 13:25', the year only when not this year's", () => {
  const now = new Date("2026-12-03T09:00:00Z");
  assert.equal(formatStamp("2026-12-03T13:25:00Z", "UTC", "en", { now }), "Thu 3 Dec, 13:25");
  assert.equal(formatStamp("2026-12-03T13:25:00Z", "Europe/Paris", "fr", { now }), "jeu. 3 déc., 14:25");
  assert.equal(formatStamp("2025-12-03T13:25:00Z", "UTC", "en", { now }), "Wed, 3 Dec 2025, 13:25");
  assert.match(formatStamp("2026-12-03T13:25:00Z", "Europe/London", "en", { now, showZone: true }), /13:25 GMT$/);
  assert.doesNotMatch(formatStamp("2026-12-03T13:25:00Z", "Asia/Amman", "ar", { now }), /[٠-٩]|Asia/);
});

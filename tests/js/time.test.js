import assert from "node:assert/strict";
import { test } from "node:test";
import { dayRange, formatTime } from "../../web/static/js/lib/time.js";

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

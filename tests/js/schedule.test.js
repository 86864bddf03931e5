import { test } from "node:test";
import assert from "node:assert/strict";
import { addDays, groupByDay, localDay, weekOf } from "../../web/static/js/lib/schedule.js";

test("a week runs seven days across a month's end", () => {
  assert.deepEqual(weekOf("2026-02-26"), { from: "2026-02-26", to: "2026-03-04" });
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
});

test("slots are grouped by the viewer's local day, not by UTC", () => {
  const slots = [
    { starts_at: "2026-03-02T23:30:00Z" },
    { starts_at: "2026-03-02T09:00:00Z" },
    { starts_at: "2026-03-03T09:00:00Z" },
  ];
  const inSydney = groupByDay(slots, "Australia/Sydney");
  assert.deepEqual(inSydney.map((d) => d.day), ["2026-03-02", "2026-03-03"]);
  assert.equal(inSydney[1].slots.length, 2);
  assert.equal(localDay("2026-03-02T23:30:00Z", "Europe/London"), "2026-03-02");
});

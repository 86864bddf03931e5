import { test } from "node:test";
import assert from "node:assert/strict";
import { bySection, formatBreakdown, formatValue, points } from "../../web/static/js/lib/figures.js";

const strings = { withheld: "withheld", none: "none", units: { seconds: "min", pct: "%", days: "days" } };

test("values keep small numbers as sent and show seconds in minutes", () => {
  assert.equal(formatValue({ value: "< 5", unit: "count" }, strings), "< 5");
  assert.equal(formatValue({ value: 90, unit: "seconds" }, strings), "1.5 min");
  assert.equal(formatValue({ value: 66.7, unit: "pct" }, strings), "66.7%");
  assert.equal(formatValue({ value: 1.5, unit: "change" }, strings), "+1.5");
  assert.equal(formatValue({ value: null, unit: "pct", suppressed: true }, strings), "withheld");
  assert.equal(formatValue({ value: null, unit: "pct" }, strings), "none");
  assert.equal(formatValue({ value: 0, unit: "count" }, strings), "0");
});

test("breakdowns are words", () => {
  const words = { tier: "Tier", home: "Home", hospital: "Hospital" };
  assert.equal(formatBreakdown("tier 2", words), "Tier 2");
  assert.equal(formatBreakdown("home>hospital", words), "Home → Hospital");
  assert.equal(formatBreakdown(null, words), "");
});

test("rows group by section and chart points skip withheld values", () => {
  const rows = [
    { section: "alerts", figure: "acknowledge_median", breakdown: "02:00", value: 120 },
    { section: "alerts", figure: "acknowledge_median", breakdown: "09:00", value: null, suppressed: true },
    { section: "visits", figure: "held", breakdown: null, value: 3 },
  ];
  assert.deepEqual([...bySection(rows).keys()], ["alerts", "visits"]);
  assert.deepEqual(points(rows, "acknowledge_median", "alerts"), [["02:00", 120]]);
});

import assert from "node:assert/strict";
import { test } from "node:test";

import { axisWidth, fitRange } from "../../web/static/js/lib/axes.js";

test("the range holds every value and the band, on round steps", () => {
  const [low, high] = fitRange(88, 97, { low: 92, high: 100 });
  assert.ok(low < 88 && high > 97 && high >= 100, `${low}..${high}`);
  assert.equal(low % 1, 0);
  const [l2, h2] = fitRange(36.4, 38.9, { low: 36, high: 37.5 });
  assert.ok(l2 < 36 && h2 > 38.9, `${l2}..${h2}`);
});

test("one value still gets an axis around it", () => {
  const [low, high] = fitRange(72, 72);
  assert.ok(low < 72 && high > 72, `${low}..${high}`);
});

test("no data and no band is a plain 0..1", () => {
  assert.deepEqual(fitRange(null, null), [0, 1]);
});

test("values at or above zero never get a negative axis", () => {
  const [low] = fitRange(0, 3);
  assert.equal(low, 0);
});

test("a wider label makes a wider axis", () => {
  assert.ok(axisWidth(["100.5", "99"]) > axisWidth(["9"]));
  assert.ok(axisWidth(["180"]) >= 38);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { formatNumber } from "../../web/static/js/lib/numbers.js";
import { countSentence } from "../../web/static/js/lib/plurals.js";
import { formatWhen } from "../../web/static/js/lib/time.js";

// The wait sentence in each of Arabic's six plural forms, as the family page gets them.
const WAIT_AR = {
  zero: "الانتظار المتوقع: أقل من دقيقة.",
  one: "الانتظار المتوقع: دقيقة واحدة تقريبًا.",
  two: "الانتظار المتوقع: دقيقتان تقريبًا.",
  few: "الانتظار المتوقع: %(num)s دقائق تقريبًا.",
  many: "الانتظار المتوقع: %(num)s دقيقة تقريبًا.",
  other: "الانتظار المتوقع: %(num)s دقيقة تقريبًا.",
};

test("a count picks the plural form its language uses for it", () => {
  assert.equal(countSentence(WAIT_AR, 1, "ar"), WAIT_AR.one);
  assert.equal(countSentence(WAIT_AR, 2, "ar"), WAIT_AR.two);
  assert.equal(countSentence(WAIT_AR, 5, "ar"), "الانتظار المتوقع: 5 دقائق تقريبًا.");
  assert.equal(countSentence(WAIT_AR, 15, "ar"), "الانتظار المتوقع: 15 دقيقة تقريبًا.");
  const en = { one: "About %(num)s minute.", other: "About %(num)s minutes." };
  assert.equal(countSentence(en, 1, "en"), "About 1 minute.");
  assert.equal(countSentence(en, 12, "en"), "About 12 minutes.");
  // A category the server sent no sentence for (French "many": a million) takes "other".
  const fr = { one: "%(num)s minute", other: "%(num)s minutes" };
  assert.equal(countSentence(fr, 1000000, "fr"), "1\u202f000\u202f000 minutes");
});

test("numbers are written as the language writes them, with digits 0-9", () => {
  assert.equal(formatNumber(36.6, "fr"), "36,6");
  assert.equal(formatNumber(36.6, "es"), "36,6");
  assert.equal(formatNumber(36.6, "en"), "36.6");
  assert.equal(formatNumber(95, "ar"), "95");
  assert.equal(formatNumber(5.5, "ar"), "5.5");
  assert.equal(formatNumber(null, "ar"), "–");
});

test("a moment in Arabic has Arabic words and digits 0-9", () => {
  const text = formatWhen("2026-03-04T10:00:00Z", "Europe/London", "ar");
  assert.match(text, /الأربعاء/);
  assert.match(text, /4/);
  assert.doesNotMatch(text, /[٠-٩]/);
});

// Formatting times in the viewer's zone, naming the zone. DOM-free.
// Digits are always 0-9 ("latn"), in Arabic too: the numbers a family reads off a device and
// the times the server writes use them, and one page never mixes two sets of digits.

export function formatTime(iso, timeZone, locale) {
  const at = new Date(iso);
  return new Intl.DateTimeFormat(dateLocale(locale), {
    hour: "2-digit", minute: "2-digit", timeZone, timeZoneName: "short", numberingSystem: "latn",
  }).format(at);
}

// A moment in words a family can act on: the weekday, the date, the time and the zone, in
// their language ("Thursday 3 December at 14:30 GMT"), never an ISO string.
export function formatWhen(iso, timeZone, locale) {
  return new Intl.DateTimeFormat(dateLocale(locale), {
    weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
    timeZone, timeZoneName: "short", numberingSystem: "latn",
  }).format(new Date(iso));
}

// Browsers run a timer of more than 2^31 - 1 ms at once; a wait that long is re-armed later.
export const MAX_TIMER_MS = 2 ** 31 - 1;

// Milliseconds from now until iso (0 if it has passed), at most MAX_TIMER_MS.
export function delayUntil(iso, now) {
  const ms = new Date(iso).getTime() - now.getTime();
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

export function dayRange(now, timeZone) {
  // The UTC instants that bound "today" in the given zone.
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(now);
  const get = (type) => parts.find((p) => p.type === type).value;
  const localMidnightAsUtc = Date.UTC(+get("year"), +get("month") - 1, +get("day"));
  const offsetMs = zoneOffsetMs(new Date(localMidnightAsUtc), timeZone);
  const start = new Date(localMidnightAsUtc - offsetMs);
  const end = new Date(start.getTime() + 24 * 3600 * 1000);
  return { from: start.toISOString(), to: end.toISOString() };
}

export function zoneOffsetMs(at, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(at);
  const get = (type) => +parts.find((p) => p.type === type).value;
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

// Hearth's English puts the day before the month ("Thu 3 Dec"), as British English does;
// the server's dates (server/core/i18n.py date_locale) do the same.
export function dateLocale(locale) {
  return !locale || locale === "en" ? "en-GB" : locale;
}

function yearIn(at, timeZone) {
  return new Intl.DateTimeFormat("en", { timeZone, year: "numeric" }).format(at);
}

// The one short form every page writes a moment in: "Thu 3 Dec, 13:25", in the viewer's
// zone and language, as server/core/i18n.py format_stamp does. The year only when it is not
// this year's; the zone's short name ("GMT") only with showZone, for a reader whose own
// zone it is not.
export function formatStamp(iso, timeZone, locale, { now = new Date(), showZone = false } = {}) {
  const at = new Date(iso);
  const options = {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23", timeZone, numberingSystem: "latn",
  };
  if (yearIn(at, timeZone) !== yearIn(now, timeZone)) options.year = "numeric";
  if (showZone) options.timeZoneName = "short";
  return new Intl.DateTimeFormat(dateLocale(locale), options).format(at);
}

// A day without its time, in the same words: "Thu 3 Dec" (the year when not this year's).
export function formatDate(iso, timeZone, locale, { now = new Date() } = {}) {
  const at = new Date(iso);
  const options = { weekday: "short", day: "numeric", month: "short", timeZone, numberingSystem: "latn" };
  if (yearIn(at, timeZone) !== yearIn(now, timeZone)) options.year = "numeric";
  return new Intl.DateTimeFormat(dateLocale(locale), options).format(at);
}

// A time of day alone, where the day is plain from the page (a day's list): "13:25".
export function formatClock(iso, timeZone, locale) {
  return new Intl.DateTimeFormat(dateLocale(locale), {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone, numberingSystem: "latn",
  }).format(new Date(iso));
}

// The instant a calendar day ("2026-03-02") starts in `timeZone`, as an ISO string.
export function dayStartIso(day, timeZone) {
  const [year, month, date] = day.split("-").map(Number);
  const asUtc = Date.UTC(year, month - 1, date);
  let at = asUtc - zoneOffsetMs(new Date(asUtc), timeZone);
  // Looked up twice: the first guess can fall on the other side of a daylight-saving change.
  at = asUtc - zoneOffsetMs(new Date(at), timeZone);
  return new Date(at).toISOString();
}

// A zone as people read it, "GMT" or "CET" (never "Europe/London"), at the moment `at`.
export function shortZoneName(timeZone, locale, at = new Date()) {
  const parts = new Intl.DateTimeFormat(dateLocale(locale), { timeZone, timeZoneName: "short" }).formatToParts(at);
  const part = parts.find((p) => p.type === "timeZoneName");
  return part ? part.value : "";
}

// Whether `timeZone` is the one this browser keeps: then a page names no zone at all.
export function isOwnZone(timeZone) {
  return Intl.DateTimeFormat().resolvedOptions().timeZone === timeZone;
}

// The line under a list of times: "Times are shown in GMT." when the list is not in the
// viewer's own zone, else nothing. `prefix` is the translated "Times are shown in".
export function zoneNote(timeZone, locale, prefix) {
  return isOwnZone(timeZone) ? "" : `${prefix} ${shortZoneName(timeZone, locale)}.`;
}

// Formatting times in the viewer's zone, naming the zone. DOM-free.

export function formatTime(iso, timeZone, locale) {
  const at = new Date(iso);
  return new Intl.DateTimeFormat(locale || undefined, {
    hour: "2-digit", minute: "2-digit", timeZone, timeZoneName: "short",
  }).format(at);
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

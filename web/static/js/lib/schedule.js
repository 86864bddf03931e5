// Calendar arithmetic for the scheduler's week view. DOM-free, so `node --test` covers it.
// Days are "YYYY-MM-DD" strings on the viewer's calendar; instants are ISO strings in UTC.
import { formatDate } from "./time.js";

export function localDay(at, timeZone) {
  // en-CA formats dates as YYYY-MM-DD, whatever the viewer's own locale.
  return new Intl.DateTimeFormat("en-CA", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit",
  }).format(new Date(at));
}

export function addDays(day, count) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + count)).toISOString().slice(0, 10);
}

export function weekOf(firstDay) {
  return { from: firstDay, to: addDays(firstDay, 6) };
}

// Slots grouped by the day they start on in the viewer's zone, days in order.
export function groupByDay(slots, timeZone) {
  const days = new Map();
  for (const slot of slots) {
    const day = localDay(slot.starts_at, timeZone);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(slot);
  }
  return [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, list]) => ({ day, slots: list }));
}

// A calendar day ("2026-03-02") as every page writes a day: "Mon 2 Mar".
export function formatDay(day, locale) {
  return formatDate(`${day}T00:00:00Z`, "UTC", locale);
}

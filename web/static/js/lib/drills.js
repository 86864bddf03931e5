// Mock crisis drills: words for durations and drill events. DOM-free, so it can be tested
// with `node --test`; every word comes from the page's translated strings.

// "4 min 10 s"; under a minute "45 s"; a measure that never happened says so in words.
export function formatDuration(seconds, strings) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return strings.not_reached;
  const total = Math.max(0, Math.round(seconds));
  const minutes = Math.floor(total / 60);
  const rest = total % 60;
  if (minutes === 0) return `${rest} ${strings.sec}`;
  return rest === 0 ? `${minutes} ${strings.min}` : `${minutes} ${strings.min} ${rest} ${strings.sec}`;
}

// Charts plot minutes; a missing measure is a gap, not zero.
export function toMinutes(seconds) {
  return seconds === null || seconds === undefined ? null : Math.round((seconds / 60) * 100) / 100;
}

export function formatPercent(value, strings) {
  return value === null || value === undefined ? strings.not_scored : `${Math.round(value)} %`;
}

// One recorded drill event in words: who did what. ``steps`` maps a step id to its text.
export function describeEvent(event, strings, steps = {}) {
  const k = strings.kinds || {};
  const who = (strings.roles && strings.roles[event.actor_role]) || event.actor_role || "";
  switch (event.kind) {
    case "prompt":
      return `${k.prompt}: ${event.text}`;
    case "diary": {
      const scores = Object.entries(event.scores || {}).map(([item, score]) => `${item} ${score}`).join(", ");
      return `${k.diary}: ${scores}`;
    }
    case "family_step":
      return `${k.family_step} (${who}): ${steps[event.step] || event.step}`;
    case "teach_back":
      // ``question`` is the item in the reader's language; a pushed event has only the item.
      return `${k.teach_back}: ${event.question || event.item} — ${(strings.results || {})[event.result] || event.result}`;
    case "said":
      return `${k.said} (${who}): ${event.text}`;
    case "started":
    case "finished":
    case "cancelled":
      return `${k[event.kind]} (${who})`;
    default:
      return k[event.kind] || event.kind;
  }
}

// Prompts the family has seen, oldest first, each once (a reconnect re-reads them all).
export function mergePrompts(known, incoming) {
  const byId = new Map(known.map((p) => [p.id, p]));
  for (const prompt of incoming) byId.set(prompt.id, prompt);
  return [...byId.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id - b.id));
}

// Chart axes that fit their values: the y range holds every value and the patient's own band
// with a little room, on round steps; the y axis is as wide as its longest label. DOM-free.

const NICE = [1, 2, 2.5, 5, 10];

function niceStep(span) {
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return power * NICE.find((n) => n * power >= raw);
}

// ``min``/``max``: the data's (null when there is none); ``band``: {low, high}, either may be
// undefined. Returns [low, high] with both ends on a step and the values strictly inside.
export function fitRange(min, max, band = {}) {
  const points = [min, max, band.low, band.high].filter((v) => typeof v === "number" && Number.isFinite(v));
  if (!points.length) return [0, 1];
  let low = Math.min(...points);
  let high = Math.max(...points);
  if (low === high) {
    const pad = Math.abs(low) > 0 ? Math.abs(low) * 0.05 : 1;
    low -= pad;
    high += pad;
  }
  const step = niceStep(high - low);
  low = Math.floor(low / step) * step;
  high = Math.ceil(high / step) * step;
  if (low === Math.min(...points) && low !== 0) low -= step;
  if (high === Math.max(...points)) high += step;
  // Percentages and rates never go below 0 on the axis when the values do not.
  if (low < 0 && Math.min(...points) >= 0) low = 0;
  return [low, high];
}

// Pixels for a y axis whose labels are ``labels`` (strings), at about 7.5 px a character.
export function axisWidth(labels) {
  const longest = Math.max(1, ...(labels || []).map((l) => String(l ?? "").length));
  return Math.ceil(16 + longest * 7.5);
}

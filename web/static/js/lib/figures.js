// The quality figures as a person reads them: values with their unit, small numbers kept
// as the server sent them ("< 5"), breakdowns in words. DOM-free.

// Seconds are shown in minutes, one decimal; percentages and rates as they come.
export function formatValue(figure, strings) {
  if (figure.suppressed) return strings.withheld;
  const v = figure.value;
  if (v === null || v === undefined) return strings.none;
  if (typeof v === "string") return v; // "< 5"
  const unit = strings.units[figure.unit] || "";
  if (figure.unit === "seconds") return `${(v / 60).toFixed(1)} ${unit}`.trim();
  if (figure.unit === "pct") return `${v}${unit}`;
  if (figure.unit === "change" && v > 0) return `+${v}`;
  return unit ? `${v} ${unit}` : String(v);
}

// "tier 2" -> "Tier 2"; "home>hospital" -> "Home → Hospital"; an item id -> its name.
export function formatBreakdown(raw, words) {
  if (raw === null || raw === undefined) return "";
  if (raw.startsWith("tier ")) return `${words.tier} ${raw.slice(5)}`;
  return raw.split(">").map((part) => words[part] || part).join(" → ");
}

// Rows grouped by section, in the order sections first appear.
export function bySection(figures) {
  const groups = new Map();
  for (const f of figures) {
    if (!groups.has(f.section)) groups.set(f.section, []);
    groups.get(f.section).push(f);
  }
  return groups;
}

// The chartable points of one figure: [breakdown, number] where the value is a number.
export function points(figures, name, section) {
  return figures
    .filter((f) => f.figure === name && (!section || f.section === section) && f.breakdown !== null)
    .filter((f) => typeof f.value === "number")
    .map((f) => [f.breakdown, f.value]);
}

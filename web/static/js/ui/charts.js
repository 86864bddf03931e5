// Small time-series charts of the patient's readings, the latest value large, the patient's
// target band shaded. uPlot draws on a canvas; labels are text nodes.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { axisWidth, fitRange } from "../lib/axes.js";
import { formatNumber } from "../lib/numbers.js";

export const KINDS = ["spo2", "heart_rate", "respiratory_rate", "blood_pressure", "temperature", "weight",
  "glucose"];
// The bands each chart shades, by reading kind (blood pressure: the systolic band).
const BAND_OF = { spo2: "spo2", heart_rate: "heart_rate", respiratory_rate: "respiratory_rate",
  blood_pressure: "systolic_bp", temperature: "temperature", weight: "weight", glucose: "glucose" };
const MAX_POINTS = 600;
// Glucose: 1 mmol/L is 18.016 mg/dL (180.16 g/mol); a chart keeps the unit of its first reading.
const MG_DL_PER_MMOL_L = 18.016;

export function inUnit(value, unit, target) {
  if (value === null || value === undefined || unit === target || !target) return value;
  if (unit === "mg/dL" && target === "mmol/L") return Math.round((value / MG_DL_PER_MMOL_L) * 10) / 10;
  if (unit === "mmol/L" && target === "mg/dL") return Math.round(value * MG_DL_PER_MMOL_L);
  return value;
}

// A reading's numbers: [first, second] (blood pressure: systolic, diastolic; either may be
// null when the cuff could not measure it).
export function numbers(reading) {
  const v = reading.value;
  if (v === null || v === undefined) return [null, null];
  if (typeof v === "object") return [v.systolic ?? null, v.diastolic ?? null];
  return [v, null];
}

// Practice readings (the simulator's, a drill's) are never a patient's measurements.
export function isPractice(reading) {
  return Boolean(reading.is_practice || reading.is_drill || reading.source === "simulator");
}

export class Charts {
  constructor(root, strings, bands) {
    this.root = root;
    this.strings = strings;
    this.bands = bands || {};
    this.series = new Map(); // kind -> {times, values, values2, box, latest, plot}
    this.seen = new Set();
  }

  box(kind) {
    let entry = this.series.get(kind);
    if (entry) return entry;
    const box = document.createElement("figure");
    box.className = "chart";
    box.dataset.kind = kind;
    const caption = document.createElement("figcaption");
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = this.strings.kinds[kind];
    const latest = document.createElement("span");
    latest.className = "latest";
    caption.append(label, latest);
    const area = document.createElement("div");
    area.className = "plot";
    box.append(caption, area);
    // Keep the charts in a fixed order, whatever arrives first.
    const after = [...this.root.children].find((c) => KINDS.indexOf(c.dataset.kind) > KINDS.indexOf(kind));
    this.root.insertBefore(box, after || null);
    entry = { times: [], values: [], values2: [], box, latest, area, plot: null, unit: null, practice: false };
    this.series.set(kind, entry);
    return entry;
  }

  add(reading) {
    const key = `${reading.id}:${reading.kind}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const entry = this.box(reading.kind);
    const t = Date.parse(reading.taken_at) / 1000;
    if (entry.unit === null) entry.unit = reading.unit;
    const [first, second] = numbers(reading).map((n) => inUnit(n, reading.unit, entry.unit));
    if (isPractice(reading) && !entry.practice) {
      entry.practice = true;
      const mark = document.createElement("span");
      mark.className = "practice";
      mark.textContent = this.strings.practice;
      entry.box.querySelector("figcaption").append(mark);
    }
    let i = entry.times.length;
    while (i > 0 && entry.times[i - 1] > t) i -= 1;
    entry.times.splice(i, 0, t);
    entry.values.splice(i, 0, first);
    entry.values2.splice(i, 0, second);
    if (entry.times.length > MAX_POINTS) {
      entry.times.shift(); entry.values.shift(); entry.values2.shift();
    }
    const last = entry.values.length - 1;
    const unit = reading.kind === "glucose" ? entry.unit : this.strings.units[reading.kind];
    const locale = document.documentElement.lang;
    const shown = (n) => formatNumber(n, locale);
    if (reading.kind === "blood_pressure") {
      entry.latest.textContent = entry.values[last] === null && entry.values2[last] === null
        ? this.strings.no_value : `${shown(entry.values[last])}/${shown(entry.values2[last])} ${unit}`;
    } else {
      entry.latest.textContent = entry.values[last] === null ? this.strings.no_value
        : `${shown(entry.values[last])} ${unit}`;
    }
    this.draw(reading.kind, entry);
  }

  draw(kind, entry) {
    const data = kind === "blood_pressure"
      ? [entry.times, entry.values, entry.values2] : [entry.times, entry.values];
    if (entry.plot) {
      entry.plot.setData(data);
      return;
    }
    const stored = this.bands[BAND_OF[kind]] || {};
    // The patient's own band, in the unit this chart shows.
    const band = { low: inUnit(stored.low ?? undefined, stored.unit, entry.unit),
      high: inUnit(stored.high ?? undefined, stored.unit, entry.unit) };
    const series = [{}, { label: this.strings.kinds[kind], stroke: "#1f5f8b", width: 2, points: { show: true } }];
    if (kind === "blood_pressure") series.push({ label: this.strings.diastolic, stroke: "#52606d", width: 2, points: { show: true } });
    const shade = (u) => {
      if (band.low === undefined && band.high === undefined) return;
      const { ctx } = u;
      const top = u.valToPos(band.high ?? u.scales.y.max, "y", true);
      const bottom = u.valToPos(band.low ?? u.scales.y.min, "y", true);
      ctx.save();
      ctx.fillStyle = "rgba(30, 107, 58, 0.12)";
      ctx.fillRect(u.bbox.left, Math.min(top, bottom), u.bbox.width, Math.abs(bottom - top));
      ctx.restore();
    };
    entry.plot = new uPlot({
      width: Math.max(220, entry.area.clientWidth || 280), height: 120, legend: { show: false },
      // Time along x; y fits the values and the patient's band, as wide as its labels.
      scales: { x: { time: true }, y: { range: (u, min, max) => fitRange(min, max, band) } },
      series, hooks: { drawClear: [shade] },
      axes: [{ size: 28 }, { size: (u, values) => axisWidth(values) }],
    }, data, entry.area);
  }
}

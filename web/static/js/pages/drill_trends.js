// Trends across finished drills: two small charts (minutes; percentages) and the same
// numbers in a table, which is also what a screen reader reads.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { formatDuration, formatPercent, toMinutes } from "../lib/drills.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const RETRY_MS = 5000;
const status = byId("trends-status");

function date(iso) {
  return formatStamp(iso, page.time_zone, page.lang);
}

// Both charts start at zero, so a small change does not look like a large one.
const MINUTES_RANGE = (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.1))];
const PERCENT_RANGE = () => [0, 100];

function chart(id, items, series, range) {
  const area = byId(id).querySelector(".plot");
  area.replaceChildren();
  // The x axis counts drills (1, 2, 3 …): drills are weeks apart, and a time axis would
  // bunch a busy week into one spot.
  const xs = items.map((_, i) => i + 1);
  const data = [xs, ...series.map((s) => items.map(s.value))];
  return new uPlot({
    width: Math.max(260, area.clientWidth || 320), height: 200,
    scales: { x: { time: false }, y: { range } },
    series: [{ label: "#" }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2,
      dash: s.dash, points: { show: true, size: 8 } }))],
    axes: [{ size: 30, incrs: [1, 2, 5, 10] }, { size: 50 }],
  }, data, area);
}

function row(item) {
  const tr = document.createElement("tr");
  tr.dataset.drillId = String(item.drill_id);
  const cells = [date(item.started_at), item.title,
    formatDuration(item.time_to_acknowledge_s, strings.events),
    formatDuration(item.time_to_expected_tier_s, strings.events),
    formatPercent(item.accuracy_pct, strings.events), formatPercent(item.comprehension_pct, strings.events)];
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  const td = document.createElement("td");
  const link = document.createElement("a");
  link.href = `/drills/${item.drill_id}/report`;
  link.textContent = strings.open_report;
  td.append(link);
  tr.append(td);
  return tr;
}

async function load() {
  const query = page.patient_id ? `?patient_id=${page.patient_id}` : "";
  try {
    const data = await request("GET", `/api/drill-trends${query}`);
    byId("trends-table").querySelector("tbody").replaceChildren(...data.items.map(row));
    chart("chart-times", data.items, [
      { label: strings.ack, color: "#1f5f8b", value: (i) => toMinutes(i.time_to_acknowledge_s) },
      { label: strings.tier, color: "#8a1c1c", dash: [6, 4], value: (i) => toMinutes(i.time_to_expected_tier_s) },
    ], MINUTES_RANGE);
    chart("chart-scores", data.items, [
      { label: strings.accuracy, color: "#1e6b3a", value: (i) => i.accuracy_pct },
      { label: strings.comprehension, color: "#2b1d5c", dash: [6, 4], value: (i) => i.comprehension_pct },
    ], PERCENT_RANGE);
    say(status, data.items.length ? strings.loaded : strings.none);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      window.location.assign("/login");
      return;
    }
    say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
    if (!(err instanceof ApiFailure && err.status)) setTimeout(load, RETRY_MS);
  }
}

loadSession().then(load, () => setTimeout(load, RETRY_MS));

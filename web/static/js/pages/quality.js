// The quality dashboard: each section's figures in a table (each name opens its definition),
// three small charts over the same numbers, the visits with connection trouble, and the
// missed escalations with their reviews.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { bySection, formatBreakdown, formatValue, points } from "../lib/figures.js";
import { formatDate, formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const RETRY_MS = 5000;
const status = byId("quality-status");
const query = new URLSearchParams(page.query).toString();
let reviewing = null;

function when(iso, dateOnly) {
  return (dateOnly ? formatDate : formatStamp)(iso, page.time_zone, page.lang);
}

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
}

function cell(tag, text, className) {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

// The figure's name, with its definition one click away (a native disclosure: keyboard and
// screen readers know it).
function nameCell(figure) {
  const th = document.createElement("th");
  th.scope = "row";
  th.className = "figure-name";
  const details = document.createElement("details");
  const summary = cell("summary", strings.labels[figure.figure] || figure.figure);
  summary.title = strings.what_is_this;
  details.append(summary, cell("p", strings.definitions[figure.figure] || ""));
  th.append(details);
  return th;
}

function sectionCard(section, rows) {
  const card = document.createElement("section");
  card.className = "card";
  card.dataset.section = section;
  const id = `section-${section}`;
  card.setAttribute("aria-labelledby", id);
  const title = cell("h2", strings.sections[section] || section);
  title.id = id;
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  const table = document.createElement("table");
  table.className = "plain";
  const head = document.createElement("thead");
  const tr = document.createElement("tr");
  for (const text of [strings.figure, strings.breakdown, strings.value, strings.records]) {
    const th = cell("th", text);
    th.scope = "col";
    tr.append(th);
  }
  head.append(tr);
  const body = document.createElement("tbody");
  for (const f of rows) {
    const row = document.createElement("tr");
    row.dataset.figure = f.figure;
    row.append(nameCell(f), cell("td", formatBreakdown(f.breakdown, strings.breakdowns)),
      cell("td", formatValue(f, strings), "number"), cell("td", f.base === null ? "" : String(f.base), "number"));
    body.append(row);
  }
  table.append(head, body);
  wrap.append(table);
  card.append(title, wrap);
  return card;
}

function chart(id, labels, series, range) {
  const area = byId(id).querySelector(".plot");
  area.replaceChildren();
  if (!labels.length) return;
  const xs = labels.map((_, i) => i + 1);
  new uPlot({
    width: Math.max(260, area.clientWidth || 320), height: 200,
    scales: { x: { time: false }, y: range ? { range } : {} },
    series: [{ label: "#" }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, dash: s.dash,
      points: { show: true, size: 8 } }))],
    axes: [{ size: 30, values: (u, ticks) => ticks.map((t) => labels[t - 1] ?? "") }, { size: 50 }],
  }, [xs, ...series.map((s) => s.values)], area);
}

function drawCharts(data) {
  const hours = points(data.figures, "acknowledge_median", "alerts").filter(([b]) => b.includes(":"));
  chart("chart-hours", hours.map(([b]) => b),
    [{ label: strings.minutes, color: "#1f5f8b", values: hours.map(([, v]) => Math.round(v / 6) / 10) }]);
  const items = points(data.figures, "change_between_visits", "symptoms");
  chart("chart-symptoms", items.map(([b]) => strings.breakdowns[b] || b),
    [{ label: strings.sections.symptoms, color: "#8a1c1c", values: items.map(([, v]) => v) }]);
  chart("chart-drills", data.drills.map((d) => when(d.started_at, true)), [
    { label: strings.accuracy, color: "#1e6b3a", values: data.drills.map((d) => d.accuracy_pct) },
    { label: strings.comprehension, color: "#2b1d5c", dash: [6, 4], values: data.drills.map((d) => d.comprehension_pct) },
  ], [0, 100]);
}

function troubleRows(visits) {
  const body = byId("trouble-table").querySelector("tbody");
  if (!visits.length) {
    const row = document.createElement("tr");
    const td = cell("td", strings.no_trouble);
    td.colSpan = 5;
    row.append(td);
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...visits.map((v) => {
    const row = document.createElement("tr");
    row.append(cell("td", fill(strings.visit_on, { when: when(v.starts_at) })),
      cell("td", String(v.failed_joins), "number"), cell("td", String(v.reconnections), "number"),
      cell("td", String(v.sound_only), "number"), cell("td", String(v.poor_minutes), "number"));
    return row;
  }));
}

function missedList(data) {
  const list = byId("missed-list");
  if (!data.missed_alerts.length) {
    list.replaceChildren(cell("li", strings.no_missed));
    return;
  }
  const reviews = new Map(data.reviews.map((r) => [r.alert_id, r]));
  list.replaceChildren(...data.missed_alerts.map((a) => {
    const item = document.createElement("li");
    const review = reviews.get(a.alert_id);
    item.append(cell("span", fill(strings.raised, { when: when(a.raised_at) })),
      cell("span", review ? fill(strings.reviewed, { cause: strings.breakdowns[review.cause] }) : strings.not_reviewed));
    const button = cell("button", review ? strings.edit_review : strings.write_review, "button quiet");
    button.type = "button";
    button.addEventListener("click", () => openReview(a.alert_id, review));
    item.append(button);
    return item;
  }));
}

function openReview(alertId, review) {
  reviewing = alertId;
  const form = byId("review-form");
  form.hidden = false;
  byId("review-cause").value = review ? review.cause : "other";
  byId("review-happened").value = review ? review.what_happened : "";
  byId("review-why").value = review ? review.why : "";
  byId("review-changes").value = review ? review.what_changes : "";
  say(byId("review-status"), "");
  byId("review-cause").focus();
}

byId("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const body = Object.fromEntries(new FormData(form).entries());
  try {
    await request("PUT", `/api/alerts/${reviewing}/review`, body);
    say(byId("review-status"), strings.review_saved);
    await load();
  } catch (err) {
    say(byId("review-status"), err.message, "error");
  }
});

async function load() {
  try {
    const data = await request("GET", `/api/quality?${query}`);
    const sections = byId("sections");
    const cards = [];
    for (const [section, rows] of bySection([...data.figures, ...data.drill_figures])) {
      cards.push(sectionCard(section, rows));
    }
    sections.replaceChildren(...cards);
    drawCharts(data);
    troubleRows(data.troubled_visits);
    missedList(data);
    say(status, strings.loaded);
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

// The care plan page's education panel: give topics (the crisis plan's suggested first), see
// what the family opened and asked, record teach-back per point, and see comprehension per
// topic over time (a uPlot chart, and the same numbers in a table for screen readers).
// The page hands in the calls (api.topics, api.view, api.give, api.teachBack): a ui module
// leaves the network to its page.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "./dom.js";

const RESULTS = ["correct", "partly", "not_yet"];
const COLOURS = ["#1f5f8b", "#8b3a1f", "#2e7d32", "#6a1b9a", "#b8860b", "#00695c"];

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

export class EducationPanel {
  constructor(patientId, lang, api) {
    this.patientId = patientId;
    this.lang = lang;
    this.api = api;
    this.strings = readJson("education-panel-strings");
    this.titles = new Map();
    this.status = byId("education-status");
    this.chart = null;
    byId("education-action-plan").href = `/patients/${patientId}/action-plan`;
    byId("education-give").addEventListener("click", () =>
      this.give(byId("education-topic").value, byId("education-level").value));
    byId("education-teach-back-topic").addEventListener("change", () => this.showPoints());
    byId("education-teach-back-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.recordTeachBack();
    });
  }

  fail(err) {
    // An ApiFailure with a status is the server's sentence; status 0 is no connection.
    say(this.status, err && err.status ? err.message : this.strings.offline, "error");
  }

  when(iso) {
    // In the viewer's own zone, the browser's.
    return iso ? formatStamp(iso, Intl.DateTimeFormat().resolvedOptions().timeZone, this.lang) : "";
  }

  async load() {
    if (!this.titles.size) {
      const topics = await this.api.topics();
      for (const t of topics.items) if (t.language === "en" && t.level === "plain") this.titles.set(t.topic_id, t.title);
      byId("education-topic").replaceChildren(...[...this.titles].map(([id, title]) => {
        const option = el("option", title);
        option.value = id;
        return option;
      }));
    }
    this.view = await this.api.view();
    this.render();
  }

  async give(topicId, level) {
    try {
      await this.api.give(topicId, level);
      say(this.status, this.strings.given, "ok");
      await this.load();
    } catch (err) {
      this.fail(err);
    }
  }

  render() {
    const s = this.strings;
    const suggested = byId("education-suggested");
    suggested.replaceChildren(...this.view.suggested.map((topicId) => {
      const item = el("li");
      const button = el("button", `${s.give} ${this.titles.get(topicId) || topicId}`, "button");
      button.type = "button";
      button.addEventListener("click", () => this.give(topicId, "plain"));
      item.append(button);
      return item;
    }));
    byId("education-suggested-box").hidden = this.view.suggested.length === 0;

    const body = byId("education-given");
    body.replaceChildren(...this.view.assignments.map((a) => {
      const tr = el("tr");
      tr.dataset.topic = a.topic_id;
      const opened = a.open_count
        ? s.opened.replace("%(first)s", this.when(a.first_opened_at)).replace("%(last)s", this.when(a.last_opened_at)).replace("%(count)s", String(a.open_count))
        : s.notOpened;
      for (const text of [this.titles.get(a.topic_id) || a.title, a.level === "plain" ? s.plain : s.standard,
        this.when(a.assigned_at), opened, a.question_at ? `${s.question} ${this.when(a.question_at)}` : ""]) {
        tr.append(el("td", text));
      }
      return tr;
    }));
    byId("education-none").hidden = this.view.assignments.length > 0;

    const revisit = byId("education-revisit");
    revisit.replaceChildren(...this.view.revisit.map((p) =>
      el("li", `${this.titles.get(p.topic_id) || p.topic_id}: ${p.text} (${s.results[p.result]})`)));
    byId("education-revisit-box").hidden = this.view.revisit.length === 0;

    const select = byId("education-teach-back-topic");
    const chosen = select.value;
    const ids = this.view.assignments.map((a) => a.topic_id);
    select.replaceChildren(...ids.map((id) => {
      const option = el("option", this.titles.get(id) || id);
      option.value = id;
      option.selected = id === chosen;
      return option;
    }));
    byId("education-teach-back-form").hidden = ids.length === 0;
    this.showPoints();
    this.drawComprehension();
  }

  showPoints() {
    const s = this.strings;
    const topicId = byId("education-teach-back-topic").value;
    const points = (this.view.points[topicId] || []);
    const due = new Set(this.view.revisit.filter((p) => p.topic_id === topicId).map((p) => p.point_id));
    byId("education-points").replaceChildren(...points.map((p, index) => {
      const set = el("fieldset", null, "teach-back-point");
      set.dataset.point = p.point_id;
      set.append(el("legend", `${p.text}${due.has(p.point_id) ? ` — ${s.again}` : ""}`));
      for (const result of ["skip", ...RESULTS]) {
        const label = el("label");
        const input = el("input");
        input.type = "radio";
        input.name = `point-${index}`;
        input.value = result;
        input.checked = result === "skip";
        label.append(input, ` ${result === "skip" ? s.notAsked : s.results[result]}`);
        set.append(label);
      }
      return set;
    }));
  }

  async recordTeachBack() {
    const topicId = byId("education-teach-back-topic").value;
    const results = [...byId("education-points").querySelectorAll("fieldset")].map((set) => ({
      point_id: set.dataset.point, result: set.querySelector("input:checked").value,
    })).filter((r) => r.result !== "skip");
    if (!results.length) {
      say(this.status, this.strings.pickOne, "error");
      return;
    }
    try {
      await this.api.teachBack(topicId, results);
      say(this.status, this.strings.recorded, "ok");
      await this.load();
    } catch (err) {
      this.fail(err);
    }
  }

  drawComprehension() {
    const points = this.view.comprehension;
    const box = byId("education-comprehension");
    box.hidden = points.length === 0;
    if (!points.length) return;
    const table = byId("education-comprehension-rows");
    table.replaceChildren(...points.map((p) => {
      const tr = el("tr");
      for (const text of [this.when(p.at), this.titles.get(p.topic_id) || p.topic_id, `${p.comprehension_pct} %`]) tr.append(el("td", text));
      return tr;
    }));
    const times = [...new Set(points.map((p) => Date.parse(p.at) / 1000))].sort((a, b) => a - b);
    const topics = [...new Set(points.map((p) => p.topic_id))];
    const data = [times, ...topics.map((topicId) => times.map((t) => {
      const found = points.find((p) => p.topic_id === topicId && Date.parse(p.at) / 1000 === t);
      return found ? found.comprehension_pct : null;
    }))];
    const area = box.querySelector(".plot");
    area.replaceChildren();
    this.chart = new uPlot({
      width: Math.max(260, area.clientWidth || 320), height: 180,
      scales: { x: { time: true }, y: { range: () => [0, 100] } },
      series: [{}, ...topics.map((topicId, i) => ({ label: this.titles.get(topicId) || topicId,
        stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true, size: 8 } }))],
      axes: [{ size: 30 }, { size: 40 }],
    }, data, area);
  }
}

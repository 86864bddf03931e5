// A drill as it runs: start / finish / cancel, the live timeline and alerts, teach-back
// scoring and notes. While the drill runs the page re-reads it every 2 s: simple, and it
// survives a lost socket or a sleeping laptop without any state of its own.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { describeEvent } from "../lib/drills.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const POLL_MS = 2000;
const path = `/api/drills/${page.drill_id}`;
const message = byId("drill-message");
let timer = null;
let latest = null;
const tbRows = new Map(); // item -> {buttons}

function failure(err) {
  return err instanceof ApiFailure && err.status ? err.message : strings.offline;
}

function clock(iso) {
  return new Intl.DateTimeFormat(page.lang, { timeStyle: "medium", timeZone: page.time_zone }).format(new Date(iso));
}

function stepTexts(detail) {
  return Object.fromEntries(detail.family_steps.map((s) => [s.id, s.text]));
}

function renderState(drill) {
  const state = byId("drill-state");
  state.dataset.status = drill.status;
  state.textContent = strings.statuses[drill.status] || drill.status;
  const progress = byId("progress");
  progress.max = Math.max(1, drill.total_events);
  progress.value = drill.played;
  byId("progress-text").textContent = strings.played
    .replace("%(played)s", drill.played).replace("%(total)s", drill.total_events);
  const controls = { "start-drill": drill.status === "ready", "finish-drill": drill.status === "running",
    "cancel-drill": drill.status === "ready" || drill.status === "running" };
  for (const [id, shown] of Object.entries(controls)) {
    const button = byId(id);
    if (button) button.hidden = !shown;
  }
  byId("report-link").hidden = drill.status !== "finished";
  byId("note-form").hidden = drill.status !== "running";
}

function renderTimeline(detail) {
  const steps = stepTexts(detail);
  const list = byId("timeline");
  if (!detail.events.length) {
    const empty = document.createElement("li");
    empty.textContent = strings.no_events;
    list.replaceChildren(empty);
    return;
  }
  // Newest first: the person running the drill looks at what just happened.
  list.replaceChildren(...[...detail.events].reverse().map((event) => {
    const item = document.createElement("li");
    item.dataset.kind = event.kind;
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = clock(event.at);
    const what = document.createElement("span");
    what.textContent = describeEvent(event, strings.events, steps);
    item.append(when, what);
    return item;
  }));
}

function renderAlerts(detail) {
  const list = byId("drill-alerts");
  if (!detail.alerts.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = strings.no_alerts;
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(...detail.alerts.map((alert) => {
    const item = document.createElement("li");
    item.className = "alert";
    item.dataset.alertId = String(alert.id);
    item.dataset.status = alert.status;
    const badge = document.createElement("span");
    badge.className = "drill-badge";
    badge.textContent = strings.events.drill_word || "DRILL";
    const text = document.createElement("span");
    text.textContent = `${clock(alert.raised_at)} · ${alert.summary} · ${strings.tier} ${alert.tier} · `
      + `${strings.alert_status[alert.status] || alert.status}`;
    item.append(badge, text);
    return item;
  }));
}

function renderSteps(detail) {
  const taken = new Set(detail.events.filter((e) => e.kind === "family_step").map((e) => e.step));
  byId("family-steps").replaceChildren(...detail.family_steps.map((step) => {
    const item = document.createElement("li");
    item.className = "person";
    item.dataset.step = step.id;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = step.text;
    const state = document.createElement("span");
    state.className = "status-chip";
    state.dataset.status = taken.has(step.id) ? "finished" : "ready";
    state.textContent = taken.has(step.id) ? strings.taken : strings.not_taken;
    item.append(name, state);
    return item;
  }));
}

// Built once, so a poll never moves the focus away from a button being pressed.
function buildTeachBack(detail) {
  const box = byId("teach-back");
  if (tbRows.size) return;
  detail.teach_back.forEach((question, index) => {
    const row = document.createElement("div");
    row.className = "tb-item";
    row.dataset.item = question.item;
    const text = document.createElement("p");
    text.className = "item-text";
    text.id = `tb-item-${index}`;
    // The question in the page's language; answers name it by its stored English item.
    text.textContent = question.safety_critical ? `${question.text} (${strings.critical})` : question.text;
    const group = document.createElement("div");
    group.className = "tb-choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", text.id);
    const buttons = {};
    for (const result of ["correct", "partly", "not_yet"]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.dataset.result = result;
      button.setAttribute("aria-pressed", "false");
      button.textContent = strings.events.results[result];
      button.addEventListener("click", () => recordTeachBack(question.item, result, button));
      group.append(button);
      buttons[result] = button;
    }
    const note = document.createElement("p");
    note.className = "message";
    note.setAttribute("role", "status");
    row.append(text, group, note);
    box.append(row);
    tbRows.set(question.item, { buttons, note });
  });
}

function renderTeachBack(detail) {
  buildTeachBack(detail);
  const last = new Map();
  for (const event of detail.events) if (event.kind === "teach_back") last.set(event.item, event.result);
  const running = detail.drill.status === "running";
  for (const [item, row] of tbRows) {
    for (const [result, button] of Object.entries(row.buttons)) {
      button.setAttribute("aria-pressed", String(last.get(item) === result));
      button.disabled = !running;
    }
  }
}

function render(detail) {
  latest = detail;
  renderState(detail.drill);
  renderTimeline(detail);
  renderAlerts(detail);
  renderSteps(detail);
  renderTeachBack(detail);
}

// One read at a time, so the polls never double up; a change made during a read asks for
// one more read afterwards, so what was just recorded is never hidden by an older answer.
let reading = null;
let again = false;
function refresh() {
  if (reading) {
    again = true;
    return reading;
  }
  reading = read().finally(() => {
    reading = null;
    if (again) {
      again = false;
      refresh();
    }
  });
  return reading;
}

async function read() {
  clearTimeout(timer);
  timer = null;
  try {
    render(await request("GET", path));
    if (message.classList.contains("error")) say(message, "");
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      say(message, strings.expired, "error");
      window.location.assign("/login");
      return;
    }
    say(message, failure(err), "error");
  }
  const status = latest ? latest.drill.status : "ready";
  if (status === "ready" || status === "running") timer = setTimeout(refresh, POLL_MS);
}

async function recordTeachBack(item, result, button) {
  const row = tbRows.get(item);
  busy(button, true);
  try {
    await request("POST", `${path}/actions`, { kind: "teach_back", item, result });
    say(row.note, strings.recorded, "ok");
    await refresh();
  } catch (err) {
    say(row.note, failure(err), "error");
  } finally {
    busy(button, false);
    renderTeachBack(latest);
  }
}

function bindMove(id, action, done, confirmText) {
  const button = byId(id);
  if (!button) return;
  button.addEventListener("click", async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    busy(button, true);
    try {
      render(await request("POST", `${path}/${action}`, {}));
      say(message, done, "ok");
    } catch (err) {
      say(message, failure(err), "error");
    } finally {
      busy(button, false);
    }
    refresh();
  });
}

bindMove("start-drill", "start", strings.started, null);
bindMove("finish-drill", "finish", strings.finished_msg, strings.confirm_finish);
bindMove("cancel-drill", "cancel", strings.cancelled_msg, strings.confirm_cancel);

byId("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = byId("note-text");
  const text = field.value.trim();
  if (!text) {
    say(message, strings.write_note, "error");
    field.focus();
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  busy(button, true);
  try {
    await request("POST", `${path}/actions`, { kind: "said", text });
    field.value = "";
    say(message, strings.recorded, "ok");
    await refresh();
  } catch (err) {
    say(message, failure(err), "error");
  } finally {
    busy(button, false);
  }
});

loadSession().then(refresh, () => setTimeout(refresh, POLL_MS));

import { ApiFailure, loadSession, request } from "../lib/api.js";
import * as ev from "../lib/events.js";
import { connect } from "../lib/signal.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "../ui/dom.js";
import { watchUnreadThreads } from "../ui/teammessages.js";

const page = readJson("page-data");
const strings = readJson("strings");
const queue = byId("queue");
const status = byId("alerts-status");
const template = byId("alert-template");
const RETRY_MS = 5000;
// Times in the viewer's zone: their account's, as on every staff page.
const zone = page.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
// Waiting times move on their own; a minute is the unit they are shown in.
const TICK_MS = 60000;

function minutesSince(iso) {
  return Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
}

function seconds(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value / 60)} ${strings.minutes}`;
}

function when(iso) {
  return formatStamp(iso, zone, page.lang);
}

function describeEntry(entry) {
  const scores = Object.entries(entry.scores)
    .map(([item, score]) => `${strings.symptoms[item] || item.replaceAll("_", " ")} ${score}`).join(", ");
  return entry.worry ? `${when(entry.recorded_at)}: ${scores}; "${entry.worry}"` : `${when(entry.recorded_at)}: ${scores}`;
}

// "SpO2 86 % at Thu 3 Dec, 13:20": what the reading was, not its id.
function describeReading(reading) {
  const value = reading.value2 === null || reading.value2 === undefined ? reading.value : `${reading.value}/${reading.value2}`;
  const unit = strings.units[reading.unit] || reading.unit;
  return `${strings.kinds[reading.kind] || reading.kind} ${value} ${unit} ${strings.at} ${when(reading.taken_at)}`;
}

function evidenceText(alert) {
  // A family's message: what they wrote, in their words, and when it came.
  if (alert.evidence_messages && alert.evidence_messages.length) {
    return `${strings.messageEvidence} ${alert.evidence_messages.map((m) => `“${m.text}” (${when(m.received_at)})`).join(" · ")}`;
  }
  if (alert.evidence_readings && alert.evidence_readings.length) {
    return `${strings.readingsEvidence} ${alert.evidence_readings.map(describeReading).join(" · ")}`;
  }
  if (alert.evidence_entries.length) return `${strings.evidence} ${alert.evidence_entries.map(describeEntry).join(" · ")}`;
  return `${strings.readingsEvidence} ${strings.noEvidence}`;
}

function renderAlert(alert) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.alertId = String(alert.id);
  item.dataset.severity = alert.severity;
  // A drill's alert says so in words, not by colour alone.
  item.dataset.drill = String(Boolean(alert.is_drill));
  item.querySelector(".drill-badge").hidden = !alert.is_drill;
  item.querySelector(".drill-note").hidden = !alert.is_drill;
  if (alert.is_drill && alert.drill_id) item.querySelector(".drill-link").href = `/drills/${alert.drill_id}`;
  else item.querySelector(".drill-link").remove();
  item.querySelector(".severity").textContent = strings.severity[alert.severity] || alert.severity;
  item.querySelector(".patient").textContent = alert.patient_name || "";
  item.querySelector(".summary").textContent = alert.summary;
  const state = alert.status === "acknowledged" ? strings.acknowledged
    : alert.exhausted ? strings.exhausted : `${minutesSince(alert.raised_at)} ${strings.minutes} ${strings.waiting}`;
  item.querySelector(".detail").textContent = `${strings.tier} ${alert.tier} (${alert.tier_label || ""}) · ${state}`;
  item.querySelector(".evidence").textContent = evidenceText(alert);
  const select = item.querySelector(".outcome");
  for (const outcome of page.outcomes) {
    const option = document.createElement("option");
    option.value = outcome;
    option.textContent = strings.outcomes[outcome] || outcome.replaceAll("_", " ");
    select.append(option);
  }
  const note = item.querySelector(".action-status");
  const act = async (path, body) => {
    try {
      await request("POST", `/api/alerts/${alert.id}/${path}`, body);
      await refresh();
    } catch (err) {
      say(note, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
    }
  };
  // Only the buttons this person may use: the server computes them by the rule it enforces.
  const allowed = alert.allowed || {};
  item.querySelector(".ack").hidden = !allowed.acknowledge;
  item.querySelector(".resolve-group").hidden = !allowed.resolve;
  const reassign = item.querySelector(".reassign-group");
  const others = (alert.reassign_to || []).filter((person) => person.id !== page.user_id && person.id !== alert.assignee_id);
  reassign.hidden = !allowed.reassign || others.length === 0;
  const form = item.querySelector(".reassign-form");
  for (const person of others) {
    const option = document.createElement("option");
    option.value = String(person.id);
    option.textContent = person.name;
    form.elements.to_user_id.append(option);
  }
  const assignee = (alert.reassign_to || []).find((person) => person.id === alert.assignee_id);
  if (assignee) item.querySelector(".detail").textContent += ` · ${strings.assignedTo.replace("%(name)s", assignee.name)}`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await act("reassign", { to_user_id: Number(form.elements.to_user_id.value), reason: form.elements.reason.value.trim() });
  });
  item.querySelector(".ack").addEventListener("click", () => act("acknowledge"));
  item.querySelector(".resolve").addEventListener("click", () => act("resolve", { outcome: select.value }));
  item.querySelector(".visit").addEventListener("click", async () => {
    try {
      const visit = await request("POST", `/api/alerts/${alert.id}/visit`, {});
      const out = item.querySelector(".link-out");
      out.hidden = false;
      out.querySelector("input").value = visit.family_link;
      say(note, strings.linkMade.replace("%(time)s", when(visit.starts_at)), "ok");
    } catch (err) {
      if (err instanceof ApiFailure && err.code === "no_free_time_today") say(note, strings.noFreeTime, "error");
      else say(note, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
    }
  });
  item.querySelector(".edit-plan").href = `/patients/${alert.patient_id}/care-plan`;
  item.querySelector(".plan").addEventListener("click", () => showPlan(alert.patient_id, item, note));
  return item;
}

async function showPlan(patientId, item, note) {
  try {
    const saved = await request("GET", `/api/patients/${patientId}/care-plan`);
    const plan = saved.plan;
    const rows = [
      [strings.plan.version, String(saved.version)],
      [strings.plan.goals_of_care, plan.goals_of_care],
      [strings.plan.preferred_place_of_care, strings.places[plan.preferred_place_of_care] || plan.preferred_place_of_care],
      [strings.plan.resuscitation, strings.resuscitation[plan.advance_care.resuscitation] || plan.advance_care.resuscitation],
      [strings.plan.ceiling_of_care, strings.ceilings[plan.ceiling_of_care] || plan.ceiling_of_care],
      [strings.plan.ladder, plan.escalation_ladder.tiers.map((t) => `${t.tier}. ${t.label} (${t.ack_deadline_min} ${strings.minutes})`).join("; ")],
      [strings.plan.call_tree, plan.crisis_plan.call_tree.map((c) => `${c.name}: ${c.phone}`).join("; ")],
    ];
    const list = item.querySelector(".plan-out");
    list.replaceChildren();
    for (const [term, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value || "–";
      list.append(dt, dd);
    }
    list.hidden = false;
  } catch (err) {
    say(note, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
  }
}

function renderFigures(figures) {
  const box = byId("figures");
  box.replaceChildren();
  for (const period of ["today", "last_30_days"]) {
    const f = figures[period];
    const block = document.createElement("p");
    block.dataset.period = period;
    block.textContent = `${strings.figures[period]}: ${f.alerts_raised} ${strings.figures.count} · `
      + `${strings.figures.ack} ${seconds(f.ack_median_s)} (${strings.figures.median}), ${seconds(f.ack_p90_s)} (${strings.figures.p90}) · `
      + `${strings.figures.resolve} ${seconds(f.resolve_median_s)} (${strings.figures.median}), ${seconds(f.resolve_p90_s)} (${strings.figures.p90})`;
    box.append(block);
  }
}

let pending = false;
let again = false;
async function refresh() {
  // An event that arrives during a read must not be lost: read once more afterwards.
  if (pending) {
    again = true;
    return;
  }
  pending = true;
  try {
    const [data, figures] = await Promise.all([
      request("GET", "/api/alerts"), request("GET", "/api/alerts/figures"),
    ]);
    queue.replaceChildren(...data.items.map(renderAlert));
    renderFigures(figures);
    say(status, data.items.length ? strings.loaded : strings.none);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      say(status, strings.expired, "error");
      window.location.assign("/login");
      return;
    }
    say(status, strings.offline, "error");
    setTimeout(refresh, RETRY_MS);
  } finally {
    pending = false;
    if (again) {
      again = false;
      refresh();
    }
  }
}

async function start() {
  await loadSession();
  const socket = connect();
  // A new or changed alert arrives as an event; the queue is re-read so its order and
  // figures come from one place, the server.
  socket.on(ev.ALERT, () => refresh());
  // A family's message (or an answer, or a read receipt) arrives as an event too.
  const threads = watchUnreadThreads(byId("unread-threads"), byId("messages-status"), {
    call: request, lang: page.lang, zone,
  });
  socket.on(ev.FAMILY_MESSAGE, (data) => threads.changed(data));
  socket.on("connect", () => threads.refresh());
  socket.on("connect", () => refresh());
  setInterval(refresh, TICK_MS);
}

start().catch(() => setTimeout(start, RETRY_MS));

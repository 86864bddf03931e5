// A patient's outcomes: record an admission, emergency visit or call, a death (beside the
// preferred place from the care plan) or a discharge; correct one (the server keeps the earlier
// version and refuses with 409 when someone else changed it first); read each one's history.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { formatDate, formatStamp } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const RETRY_MS = 5000;
const form = byId("outcome-form");
const kind = byId("kind");
const status = byId("outcome-status");
const listStatus = byId("list-status");
const list = byId("outcomes");
const save = byId("save");
const cancel = byId("cancel-edit");
const FIELD_ERRORS = { occurred_on: "occurred-on-error", place_of_death: "place-of-death-error",
  discharge_reason: "discharge-reason-error", reason: "reason-error" };
const FIELD_HINTS = { occurred_on: strings.date_needed, place_of_death: strings.choose_place,
  discharge_reason: strings.choose_reason };
let editing = null; // { id, revision, button } while a record is being corrected

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
}

// A calendar day ("2026-03-02") in the viewer's language; a day has no zone of its own.
function day(iso) {
  return formatDate(`${iso}T00:00:00Z`, "UTC", page.lang);
}

function line(text, className) {
  const p = document.createElement("p");
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function showFields() {
  const value = kind.value;
  byId("crisis-field").hidden = !page.crisis_kinds.includes(value);
  byId("death-field").hidden = value !== "death";
  byId("discharge-field").hidden = value !== "discharge";
}

function clearErrors() {
  for (const id of Object.values(FIELD_ERRORS)) {
    const node = byId(id);
    node.textContent = "";
    node.hidden = true;
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

function fieldError(field, message) {
  const id = FIELD_ERRORS[field];
  if (!id) return false;
  const node = byId(id);
  node.textContent = message;
  node.hidden = false;
  const control = { occurred_on: "occurred-on", place_of_death: "place-of-death",
    discharge_reason: "discharge-reason", reason: "reason" }[field];
  byId(control).setAttribute("aria-invalid", "true");
  byId(control).focus();
  return true;
}

function crisisChoice(value) {
  const wanted = value === true ? "yes" : value === false ? "no" : "";
  for (const radio of form.querySelectorAll("input[name=crisis_plan_used]")) radio.checked = radio.value === wanted;
}

function body() {
  const value = kind.value;
  const out = { kind: value, occurred_on: byId("occurred-on").value, reason: byId("reason").value.trim() || null };
  if (page.crisis_kinds.includes(value)) {
    const chosen = form.querySelector("input[name=crisis_plan_used]:checked");
    out.crisis_plan_used = chosen && chosen.value ? chosen.value === "yes" : null;
  }
  if (value === "death") out.place_of_death = byId("place-of-death").value || null;
  if (value === "discharge") out.discharge_reason = byId("discharge-reason").value || null;
  return out;
}

// What the browser can tell before asking the server; the server checks it all again.
function check(entry) {
  const today = byId("occurred-on").max;
  if (!entry.occurred_on || entry.occurred_on > today) return ["occurred_on", strings.date_needed];
  if (entry.kind === "death" && !entry.place_of_death) return ["place_of_death", strings.choose_place];
  if (entry.kind === "discharge" && !entry.discharge_reason) return ["discharge_reason", strings.choose_reason];
  return null;
}

function resetForm() {
  editing = null;
  form.reset();
  kind.disabled = false;
  byId("form-title").textContent = strings.form_title;
  save.textContent = strings.record;
  cancel.hidden = true;
  clearErrors();
  showFields();
}

function title(record) {
  return `${strings.kinds[record.kind] || ""} · ${day(record.occurred_on)}`;
}

function startEdit(record, button) {
  resetForm();
  editing = { id: record.id, revision: record.revision, button };
  kind.value = record.kind;
  kind.disabled = true; // a record's kind is fixed; a wrong kind is recorded anew
  byId("occurred-on").value = record.occurred_on;
  byId("reason").value = record.reason || "";
  crisisChoice(record.crisis_plan_used);
  byId("place-of-death").value = record.place_of_death || "";
  byId("discharge-reason").value = record.discharge_reason || "";
  byId("form-title").textContent = fill(strings.edit_title, { what: title(record) });
  save.textContent = strings.save_correction;
  cancel.hidden = false;
  showFields();
  say(status, "");
  form.scrollIntoView({ block: "start" });
  byId("occurred-on").focus();
}

// The lines that describe one version of a record (the current one or an earlier one).
function details(version, preferred) {
  const lines = [];
  if (page.crisis_kinds.includes(version.kind)) {
    const used = version.crisis_plan_used;
    lines.push(line(used === true ? strings.crisis_yes : used === false ? strings.crisis_no : strings.crisis_unknown));
  }
  if (version.kind === "death") {
    const place = fill(strings.place_of_death, { place: strings.places[version.place_of_death] || "" });
    const wish = preferred ? fill(strings.preferred, { place: strings.places[preferred] || "" }) : strings.no_preferred;
    lines.push(line(`${place} · ${wish}`, "place-pair"));
  }
  if (version.kind === "discharge" && version.discharge_reason) {
    lines.push(line(fill(strings.discharge_reason, { reason: strings.discharge_reasons[version.discharge_reason] || "" })));
  }
  if (version.reason) lines.push(line(version.reason));
  const when = formatStamp(version.recorded_at, page.time_zone, page.lang);
  lines.push(line(fill(strings.recorded_by, { name: version.recorded_by_name || strings.a_colleague, when }), "muted"));
  return lines;
}

function historyOf(record) {
  const box = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `${strings.history} (${record.history.length})`;
  const versions = document.createElement("ol");
  versions.reversed = true;
  for (const version of [...record.history].reverse()) {
    const item = document.createElement("li");
    item.dataset.revision = String(version.revision);
    item.append(line(`${fill(strings.version, { n: version.revision })} · ${day(version.occurred_on)}`),
      ...details(version, record.preferred_place));
    versions.append(item);
  }
  box.append(summary, versions);
  return box;
}

function renderRecord(record, open) {
  const item = document.createElement("li");
  item.dataset.kind = record.kind;
  item.dataset.id = String(record.id);
  const heading = document.createElement("h3");
  heading.textContent = title(record);
  item.append(heading, ...details(record, record.preferred_place));
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button small correct";
  button.textContent = strings.correct;
  button.setAttribute("aria-label", fill(strings.correct_named, { what: title(record) }));
  button.addEventListener("click", () => startEdit(record, button));
  item.append(button);
  if (record.history.length) {
    const history = historyOf(record);
    history.open = open.has(record.id);
    item.append(history);
  }
  return item;
}

async function load() {
  try {
    const data = await request("GET", `/api/patients/${page.patient_id}/outcomes`);
    // Newest first: the day it happened, then the order it was recorded in.
    const records = [...data.items].reverse();
    // A history someone opened stays open when the list is drawn again.
    const open = new Set([...list.querySelectorAll(":scope > li")]
      .filter((li) => li.querySelector("details[open]")).map((li) => Number(li.dataset.id)));
    list.replaceChildren(...records.map((record) => renderRecord(record, open)));
    say(listStatus, records.length ? strings.loaded : strings.none);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      window.location.assign("/login");
      return;
    }
    say(listStatus, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
    if (!(err instanceof ApiFailure) || !err.status) setTimeout(load, RETRY_MS);
  }
}

kind.addEventListener("change", showFields);
cancel.addEventListener("click", () => {
  const button = editing && editing.button;
  resetForm();
  say(status, "");
  if (button && button.isConnected) button.focus();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const entry = body();
  const problem = check(entry);
  if (problem) {
    fieldError(...problem);
    say(status, problem[1], "error");
    return;
  }
  busy(save, true);
  const wasEditing = editing !== null;
  try {
    if (editing) {
      await request("PUT", `/api/outcomes/${editing.id}`, { ...entry, revision: editing.revision });
    } else {
      await request("POST", `/api/patients/${page.patient_id}/outcomes`, entry);
    }
    resetForm();
    say(status, wasEditing ? strings.corrected : strings.recorded, "ok");
    await load();
  } catch (err) {
    if (!(err instanceof ApiFailure) || !err.status) {
      say(status, strings.offline, "error");
    } else if (err.status === 409 && err.code === "stale_revision") {
      resetForm();
      say(status, strings.stale, "error");
      await load();
    } else {
      const message = FIELD_HINTS[err.field] || err.message;
      fieldError(err.field, message);
      say(status, message, "error");
    }
  } finally {
    busy(save, false);
  }
});

showFields();
loadSession().then(load, () => setTimeout(load, RETRY_MS));

// The working-hours editor: weekly hours per weekday, the time zone, time off and visit
// lengths, read and replaced whole through /api/clinicians/{id}/availability. The API's
// rules judge the hours (one source of truth); this page puts each refusal next to the field
// it is about, in words from the strings block. Text only: never innerHTML.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { formatStamp, zoneNote, zoneOffsetMs } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const status = byId("availability-status");
const saveStatus = byId("save-status");
const editor = byId("editor");
const zoneInput = byId("time-zone");
const KINDS = ["video_visit", "in_person", "pharmacy_review", "social_work"];
const DAYS_IN_WEEK = 7;

const state = { clinicianId: page.clinician_id, zone: page.time_zone, past: [], dirty: false };
let nextId = 0;
// Reading needs no session; saving sends its CSRF token, so a save waits for it.
const session = loadSession();
// Each load is numbered: only the latest fills the editor, so a clinician chosen while
// another's hours are on their way never gets the first one's hours (nor loses typing).
let loads = 0;

function freshId() {
  nextId += 1;
  return `av-${nextId}`;
}

function isZone(name) {
  if (!name) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// Time off is typed on the wall clock of the zone in the field (the one being saved).
function editZone() {
  const typed = zoneInput.value.trim();
  return isZone(typed) ? typed : state.zone;
}

// "2026-03-02T09:00" on the wall clock of `zone`, as an ISO instant. The offset is looked up a
// second time because the first guess can fall on the other side of a daylight-saving change.
function wallToIso(value, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!m) return value; // empty or malformed: the API names the field and the page marks it
  const asUtc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let at = asUtc - zoneOffsetMs(new Date(asUtc), zone);
  at = asUtc - zoneOffsetMs(new Date(at), zone);
  return new Date(at).toISOString();
}

function isoToWall(iso, zone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit",
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}

function readable(iso, zone) {
  return formatStamp(iso, zone, page.lang);
}

// A row from a template, each input tied to its label and to the row's error line.
function makeRow(templateId, inputs) {
  const row = byId(templateId).content.firstElementChild.cloneNode(true);
  const error = row.querySelector(".field-error");
  error.id = freshId();
  for (const [selector, value] of inputs) {
    const input = row.querySelector(selector);
    input.id = freshId();
    input.closest(".field").querySelector("label").htmlFor = input.id;
    input.setAttribute("aria-describedby", error.id);
    input.value = value;
  }
  return row;
}

function syncDay(fieldset) {
  fieldset.querySelector(".none").hidden = fieldset.querySelector(".range") !== null;
}

function addRange(weekday, start = "", end = "") {
  const fieldset = byId(`day-${weekday}`);
  const row = makeRow("range-template", [[".start", start], [".end", end]]);
  const remove = row.querySelector(".remove");
  remove.setAttribute("aria-label", `${strings.remove_hours}: ${fieldset.dataset.name}`);
  remove.addEventListener("click", () => {
    row.remove();
    syncDay(fieldset);
    state.dirty = true;
    fieldset.querySelector(".add-range").focus();
  });
  fieldset.querySelector(".ranges").append(row);
  syncDay(fieldset);
  return row;
}

function syncTimeOff() {
  byId("no-time-off").hidden = byId("time-off").querySelector(".range") !== null;
}

function addTimeOff(item, zone) {
  const row = makeRow("off-template", [
    [".starts", item ? isoToWall(item.starts_at, zone) : ""],
    [".ends", item ? isoToWall(item.ends_at, zone) : ""],
    [".label", item && item.label ? item.label : ""],
  ]);
  if (item) {
    // Kept to send back unchanged: a new time zone must not move time off nobody edited.
    row.dataset.startsAt = item.starts_at;
    row.dataset.endsAt = item.ends_at;
    row.dataset.startsWall = row.querySelector(".starts").value;
    row.dataset.endsWall = row.querySelector(".ends").value;
  }
  const remove = row.querySelector(".remove");
  remove.setAttribute("aria-label", strings.remove_off);
  remove.addEventListener("click", () => {
    row.remove();
    syncTimeOff();
    state.dirty = true;
    byId("add-time-off").focus();
  });
  byId("time-off").append(row);
  syncTimeOff();
  return row;
}

function renderPast(zone) {
  byId("past-off").hidden = state.past.length === 0;
  byId("past-time-off").replaceChildren(...state.past.map((t) => {
    const item = document.createElement("li");
    item.textContent = `${readable(t.starts_at, zone)} – ${readable(t.ends_at, zone)}${t.label ? ` · ${t.label}` : ""}`;
    return item;
  }));
}

function showZoneNote() {
  byId("off-zone-note").textContent = zoneNote(editZone(), page.lang, strings.times_in);
}

// Time off nobody edited keeps its real times, shown on the clock of the zone now chosen.
function zoneChanged() {
  const zone = editZone();
  for (const row of byId("time-off").querySelectorAll(".range")) {
    for (const [selector, iso, wall] of [[".starts", "startsAt", "startsWall"], [".ends", "endsAt", "endsWall"]]) {
      const input = row.querySelector(selector);
      if (!row.dataset[iso] || input.value !== row.dataset[wall]) continue;
      input.value = isoToWall(row.dataset[iso], zone);
      row.dataset[wall] = input.value;
    }
  }
  renderPast(zone);
  showZoneNote();
}

function fill(data) {
  state.zone = data.time_zone;
  zoneInput.value = data.time_zone;
  for (let day = 0; day < DAYS_IN_WEEK; day += 1) {
    const fieldset = byId(`day-${day}`);
    fieldset.querySelector(".ranges").replaceChildren();
    syncDay(fieldset);
  }
  // The API says 24:00 for midnight at a day's end; a time field writes it 00:00.
  for (const h of data.weekly) addRange(h.weekday, h.start, h.end === "24:00" ? "00:00" : h.end);
  const now = Date.now();
  // Past time off cannot be changed here, but is sent back as it was: a save replaces all.
  state.past = data.time_off.filter((t) => Date.parse(t.ends_at) <= now);
  byId("time-off").replaceChildren();
  for (const t of data.time_off) if (Date.parse(t.ends_at) > now) addTimeOff(t, data.time_zone);
  syncTimeOff();
  renderPast(data.time_zone);
  for (const kind of KINDS) byId(`kind-${kind}`).value = kind in data.kinds ? String(data.kinds[kind]) : "";
  showZoneNote();
  state.dirty = false;
}

function collect() {
  const weekly = [];
  const weeklyRows = [];
  for (let day = 0; day < DAYS_IN_WEEK; day += 1) {
    for (const row of byId(`day-${day}`).querySelectorAll(".range")) {
      const start = row.querySelector(".start").value;
      const end = row.querySelector(".end").value;
      if (!start && !end) continue; // added and left blank: nothing meant, nothing to refuse
      weekly.push({ weekday: day, start, end });
      weeklyRows.push(row);
    }
  }
  const zone = editZone();
  const offRows = [...byId("time-off").querySelectorAll(".range")].filter(
    (row) => [".starts", ".ends", ".label"].some((f) => row.querySelector(f).value.trim()),
  );
  const timeOff = offRows.map((row) => {
    const label = row.querySelector(".label").value.trim();
    const starts = row.querySelector(".starts").value;
    const ends = row.querySelector(".ends").value;
    return {
      starts_at: starts === row.dataset.startsWall ? row.dataset.startsAt : wallToIso(starts, zone),
      ends_at: ends === row.dataset.endsWall ? row.dataset.endsAt : wallToIso(ends, zone),
      ...(label ? { label } : {}),
    };
  });
  const past = state.past.map((t) => ({
    starts_at: t.starts_at, ends_at: t.ends_at, ...(t.label ? { label: t.label } : {}),
  }));
  const kinds = {};
  for (const kind of KINDS) {
    const input = byId(`kind-${kind}`);
    // Something that is not a number reaches the API as one, so its refusal is shown here.
    if (input.value !== "" || input.validity.badInput) kinds[kind] = input.value === "" ? 0 : Number(input.value);
  }
  return {
    body: { time_zone: zoneInput.value.trim(), weekly, time_off: [...timeOff, ...past], kinds },
    weeklyRows,
    offRows,
  };
}

function clearErrors() {
  for (const line of editor.querySelectorAll(".field-error")) {
    line.hidden = true;
    line.textContent = "";
  }
  for (const input of editor.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function mark(line, input, text) {
  line.textContent = text;
  line.hidden = false;
  if (input) input.setAttribute("aria-invalid", "true");
  return input || line;
}

const backwardsHours = (row) => {
  const start = row.querySelector(".start").value;
  const end = row.querySelector(".end").value;
  return Boolean(start && end) && end !== "00:00" && end <= start;
};
const backwardsOff = (row) => {
  const starts = row.querySelector(".starts").value;
  const ends = row.querySelector(".ends").value;
  return Boolean(starts && ends) && ends <= starts;
};

// Puts a 422 next to its field. The API names a field as "weekly.2.end" when the shape is
// wrong, and as "end" or "ends_at" when the rules refuse a range, without saying which entry;
// then the first entry that runs backwards is the one.
function place(err, sent) {
  const field = err.field || "";
  const [head, index, leaf] = field.split(".");
  if (head === "time_zone") return mark(byId("time-zone-error"), zoneInput, strings.bad_zone);
  if (head === "weekly" && index === undefined) return mark(byId("weekly-error"), null, strings.too_many);
  if (head === "weekly" && sent.weeklyRows[+index]) {
    const row = sent.weeklyRows[+index];
    const input = row.querySelector(leaf === "start" ? ".start" : ".end");
    return mark(row.querySelector(".field-error"), input, leaf ? strings.bad_time : strings.end_before_start);
  }
  if (["start", "end", "weekday"].includes(field)) {
    const row = sent.weeklyRows.find(backwardsHours);
    if (row) return mark(row.querySelector(".field-error"), row.querySelector(".end"), strings.end_before_start);
    return mark(byId("weekly-error"), null, err.message);
  }
  if (head === "time_off" && index === undefined) return mark(byId("time-off-error"), null, strings.too_many);
  if (head === "time_off" && sent.offRows[+index]) {
    const row = sent.offRows[+index];
    if (leaf === "label") return mark(row.querySelector(".field-error"), row.querySelector(".label"), strings.bad_label);
    const input = row.querySelector(leaf === "starts_at" ? ".starts" : ".ends");
    return mark(row.querySelector(".field-error"), input, strings.bad_datetime);
  }
  if (head === "time_off" || field === "starts_at" || field === "ends_at") {
    const row = sent.offRows.find(backwardsOff);
    if (row) return mark(row.querySelector(".field-error"), row.querySelector(".ends"), strings.off_backwards);
    return mark(byId("time-off-error"), null, err.message);
  }
  if (head === "kinds") {
    const input = index && byId(`kind-${index}`);
    if (input) return mark(byId(`kind-${index}-error`), input, strings.bad_length);
    return mark(byId("kinds-error"), null, strings.bad_length);
  }
  return null;
}

function failed(err, line) {
  if (err instanceof ApiFailure && err.status === 401) {
    say(line, strings.expired, "error");
    window.location.assign("/login");
    return;
  }
  const known = { 0: strings.offline, 403: strings.forbidden, 404: strings.not_found };
  const code = err instanceof ApiFailure ? err.status : 0;
  say(line, known[code] || err.message || strings.offline, "error");
}

function url() {
  return `/api/clinicians/${state.clinicianId}/availability`;
}

async function load() {
  loads += 1;
  const mine = loads;
  clearErrors();
  say(saveStatus, "");
  editor.hidden = true;
  if (!state.clinicianId) return say(status, "");
  say(status, strings.loading);
  try {
    const data = await request("GET", url());
    if (mine !== loads) return;
    fill(data);
    editor.hidden = false;
    say(status, "");
  } catch (err) {
    if (mine === loads) failed(err, status);
  }
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const sent = collect();
  const button = byId("save");
  busy(button, true);
  say(saveStatus, strings.saving);
  try {
    await session;
    fill(await request("PUT", url(), sent.body));
    say(saveStatus, strings.saved, "ok");
  } catch (err) {
    if (err instanceof ApiFailure && (err.status === 422 || err.status === 400)) {
      const target = place(err, sent);
      say(saveStatus, target ? strings.fix : err.message, "error");
      if (target && target.focus) target.focus();
    } else {
      failed(err, saveStatus);
    }
  } finally {
    busy(button, false);
  }
}

function wire() {
  for (let day = 0; day < DAYS_IN_WEEK; day += 1) {
    byId(`day-${day}`).querySelector(".add-range").addEventListener("click", () => {
      addRange(day).querySelector(".start").focus();
      state.dirty = true;
    });
  }
  byId("add-time-off").addEventListener("click", () => {
    addTimeOff(null, editZone()).querySelector(".starts").focus();
    state.dirty = true;
  });
  zoneInput.addEventListener("input", zoneChanged);
  editor.addEventListener("input", () => {
    state.dirty = true;
  });
  editor.addEventListener("submit", save);
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });
  const chooser = byId("clinician");
  if (!chooser) return;
  const wanted = new URLSearchParams(window.location.search).get("clinician");
  if (wanted && [...chooser.options].some((o) => o.value === wanted)) chooser.value = wanted;
  chooser.addEventListener("change", () => {
    if (state.dirty && !window.confirm(strings.unsaved)) {
      chooser.value = String(state.clinicianId || "");
      return;
    }
    state.clinicianId = chooser.value ? Number(chooser.value) : null;
    const query = chooser.value ? `?clinician=${chooser.value}` : "";
    window.history.replaceState(null, "", `${window.location.pathname}${query}`);
    load();
  });
  state.clinicianId = chooser.value ? Number(chooser.value) : null;
}

wire();
session.catch((err) => failed(err, status));
load();

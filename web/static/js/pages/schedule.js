// The scheduler page: pick a patient and a kind, see a week of free times per clinician,
// book, copy the family link, reschedule and cancel. Text only: never innerHTML.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { addDays, formatDay, groupByDay, localDay, weekOf } from "../lib/schedule.js";
import { formatClock, formatStamp, zoneNote } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";
import { renderReminders } from "../ui/reminders.js";

const page = readJson("page-data");
const strings = readJson("strings");
const zone = page.time_zone;
const status = byId("schedule-status");
const patientSelect = byId("patient");
const kindSelect = byId("kind");
// The list endpoint allows 62 days; the coming weeks are what a scheduler rearranges.
const UPCOMING_DAYS = 56;

const state = { from: localDay(new Date(), zone), chosen: null, moving: null };

byId("zone-note").textContent = zoneNote(zone, page.lang, strings.times_in);

function when(iso) {
  return formatStamp(iso, zone, page.lang);
}

function failed(err) {
  if (err instanceof ApiFailure && err.status === 401) {
    say(status, strings.expired, "error");
    window.location.assign("/login");
    return;
  }
  say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
}

function timeButton(clinician, slot) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button";
  button.textContent = formatClock(slot.starts_at, zone, page.lang);
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", () => choose(clinician, slot, button));
  return button;
}

function renderClinician(clinician) {
  const block = byId("clinician-template").content.firstElementChild.cloneNode(true);
  block.querySelector(".name").textContent = clinician.name;
  const days = block.querySelector(".days");
  for (const { day, slots } of groupByDay(clinician.slots, zone)) {
    const section = document.createElement("section");
    section.className = "day";
    const heading = document.createElement("h4");
    heading.textContent = formatDay(day, page.lang);
    const times = document.createElement("div");
    times.className = "times";
    times.append(...slots.map((slot) => timeButton(clinician, slot)));
    section.append(heading, times);
    days.append(section);
  }
  return block;
}

async function loadSlots() {
  const week = weekOf(state.from);
  byId("week-title").textContent = `${strings.week_of} ${formatDay(week.from, page.lang)}`;
  byId("confirm").hidden = true;
  state.chosen = null;
  if (!patientSelect.value) return;
  say(status, strings.loading);
  const query = new URLSearchParams({
    kind: kindSelect.value, patient_id: patientSelect.value, from: week.from, to: week.to,
  });
  if (state.moving) query.set("encounter_id", String(state.moving.id));
  try {
    const data = await request("GET", `/api/slots?${query}`);
    byId("slots").replaceChildren(...data.clinicians.map(renderClinician));
    const any = data.clinicians.some((c) => c.slots.length);
    say(status, data.clinicians.length ? (any ? "" : strings.none) : strings.no_clinicians);
  } catch (err) {
    byId("slots").replaceChildren();
    failed(err);
  }
}

function choose(clinician, slot, button) {
  for (const pressed of document.querySelectorAll(".times [aria-pressed=true]")) {
    pressed.setAttribute("aria-pressed", "false");
  }
  button.setAttribute("aria-pressed", "true");
  state.chosen = { clinician, slot };
  const kind = strings.kinds[state.moving ? state.moving.kind : kindSelect.value];
  byId("confirm-text").textContent = `${kind} ${strings.with} ${clinician.name}: ${when(slot.starts_at)}`;
  byId("book").textContent = state.moving ? strings.move : strings.book;
  byId("confirm").hidden = false;
  byId("book").focus();
}

async function book() {
  const { clinician, slot } = state.chosen || {};
  if (!clinician) return;
  const button = byId("book");
  const override = byId("override").value.trim();
  busy(button, true);
  try {
    let visit;
    if (state.moving) {
      visit = await request("POST", `/api/encounters/${state.moving.id}/reschedule`, {
        starts_at: slot.starts_at, ...(override ? { override_reason: override } : {}),
      });
    } else {
      visit = await request("POST", "/api/encounters", {
        patient_id: Number(patientSelect.value), clinician_id: clinician.clinician_id,
        starts_at: slot.starts_at, duration_minutes: clinician.length_minutes,
        kind: kindSelect.value, ...(override ? { override_reason: override } : {}),
      });
    }
    showBooked(visit, state.moving ? strings.moved : strings.booked);
    stopMoving();
    byId("override").value = "";
    await Promise.all([loadSlots(), loadUpcoming()]);
  } catch (err) {
    failed(err);
  } finally {
    busy(button, false);
  }
}

function showBooked(visit, message) {
  byId("booked-text").textContent = `${message} ${strings.kinds[visit.kind]} ${strings.with} ${visit.clinician_name}: ${when(visit.starts_at)}`;
  const box = byId("link-box");
  box.hidden = !visit.family_link;
  if (visit.family_link) {
    byId("family-link").value = visit.family_link;
    const body = `${strings.body}\n${visit.family_link}\n\n${when(visit.starts_at)}`;
    byId("send-link").href = `mailto:?subject=${encodeURIComponent(strings.subject)}&body=${encodeURIComponent(body)}`;
    byId("ics-link").href = `/api/encounters/${visit.id}/ics`;
  }
  byId("confirm").hidden = true;
  byId("booked").hidden = false;
  say(status, message, "ok");
  byId("booked-title").focus?.();
}

function renderUpcoming(visit) {
  const item = byId("upcoming-template").content.firstElementChild.cloneNode(true);
  item.dataset.encounterId = String(visit.id);
  item.querySelector(".time").textContent = when(visit.starts_at);
  item.querySelector(".detail").textContent = `${strings.kinds[visit.kind] || visit.kind} ${strings.with} ${visit.clinician_name}`;
  if (visit.kind === "video_visit") renderReminders(item.querySelector(".reminders"), visit.reminders, { strings, timeZone: zone, lang: page.lang });
  item.querySelector(".reschedule").addEventListener("click", () => startMoving(visit));
  const form = item.querySelector(".cancel-form");
  item.querySelector(".cancel").addEventListener("click", () => {
    form.hidden = false;
    form.querySelector(".reason").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    cancelVisit(visit, form);
  });
  return item;
}

async function loadUpcoming() {
  const list = byId("upcoming");
  if (!patientSelect.value) return list.replaceChildren();
  const now = new Date();
  const to = new Date(now.getTime() + UPCOMING_DAYS * 24 * 3600 * 1000);
  const query = new URLSearchParams({
    patient_id: patientSelect.value, from: now.toISOString(), to: to.toISOString(),
  });
  try {
    const data = await request("GET", `/api/encounters?${query}`);
    const planned = data.items.filter((v) => v.status === "planned");
    if (!planned.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = strings.no_upcoming;
      return list.replaceChildren(empty);
    }
    list.replaceChildren(...planned.map(renderUpcoming));
  } catch (err) {
    failed(err);
  }
}

async function cancelVisit(visit, form) {
  const reason = form.querySelector(".reason").value.trim();
  if (!reason) return say(status, strings.reason_needed, "error");
  const button = form.querySelector("button");
  busy(button, true);
  try {
    await request("POST", `/api/encounters/${visit.id}/cancel`, { reason });
    say(status, strings.cancelled, "ok");
    byId("booked").hidden = true;
    await Promise.all([loadSlots(), loadUpcoming()]);
  } catch (err) {
    failed(err);
  } finally {
    busy(button, false);
  }
}

function startMoving(visit) {
  state.moving = visit;
  kindSelect.value = visit.kind;
  byId("moving-text").textContent = `${strings.moving} ${when(visit.starts_at)}.`;
  byId("moving").hidden = false;
  loadSlots();
}

function stopMoving() {
  state.moving = null;
  byId("moving").hidden = true;
}

async function loadPatients() {
  const data = await request("GET", "/api/patients");
  patientSelect.replaceChildren(...data.items.map((p) => new Option(p.name, String(p.id))));
  if (!data.items.length) say(status, strings.no_patients);
}

function refreshAll() {
  stopMoving();
  byId("booked").hidden = true;
  loadSlots();
  loadUpcoming();
}

patientSelect.addEventListener("change", refreshAll);
kindSelect.addEventListener("change", () => loadSlots());
byId("prev-week").addEventListener("click", () => {
  state.from = addDays(state.from, -7);
  loadSlots();
});
byId("next-week").addEventListener("click", () => {
  state.from = addDays(state.from, 7);
  loadSlots();
});
byId("book").addEventListener("click", book);
byId("stop-moving").addEventListener("click", () => {
  stopMoving();
  loadSlots();
});
byId("copy-link").addEventListener("click", async () => {
  const field = byId("family-link");
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    // Without clipboard permission the text stays selected for the person to copy.
  }
  say(status, strings.copied, "ok");
});

loadSession()
  .then(loadPatients)
  .then(refreshAll)
  .catch(failed);

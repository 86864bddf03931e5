import { ApiFailure, loadSession, request } from "../lib/api.js";
import { dayRange, formatStamp, zoneNote } from "../lib/time.js";
import { renderReminders } from "../ui/reminders.js";
import { byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const list = byId("visits");
const status = byId("today-status");
const template = byId("visit-template");
// Often enough that "family waiting in the lobby" shows while they still wait.
const REFRESH_MS = 10000;
const RETRY_MS = 5000;

byId("zone-note").textContent = zoneNote(page.time_zone, page.lang, strings.times_in);

function renderVisit(visit) {
  const item = template.content.firstElementChild.cloneNode(true);
  item.dataset.encounterId = String(visit.id);
  item.querySelector(".time").textContent = formatStamp(visit.starts_at, page.time_zone, page.lang);
  item.querySelector(".patient").textContent = visit.patient_name || "";
  // A mock crisis drill's visit is marked as such wherever it is listed.
  item.querySelector(".drill-mark").hidden = !visit.is_drill;
  const kind = strings.kinds[visit.kind] || visit.kind;
  const waiting = visit.status === "planned" && visit.live && visit.live.waiting > 0;
  const state = waiting ? strings.waiting : strings.statuses[visit.status] || visit.status;
  item.querySelector(".detail").textContent = `${kind} · ${state} · ${strings.with} ${visit.clinician_name}`;
  const open = visit.kind === "video_visit" && (visit.status === "planned" || visit.status === "in_progress");
  if (open && (page.role === "clinician" || page.role === "coordinator")) {
    const link = document.createElement("a");
    link.className = "button primary";
    link.href = `/visit/${visit.id}`;
    link.textContent = strings.openVisit;
    item.querySelector(".actions").append(link);
  }
  // Where a clinician records an admission, a death or a discharge for this visit's patient.
  if (!visit.is_drill && (page.role === "clinician" || page.role === "coordinator")) {
    const outcomes = document.createElement("a");
    outcomes.className = "button";
    outcomes.href = `/patients/${visit.patient_id}/outcomes`;
    outcomes.textContent = strings.outcomes;
    outcomes.setAttribute("aria-label", strings.outcomesOf.replace("%(name)s", visit.patient_name || ""));
    item.querySelector(".actions").append(outcomes);
  }
  if (page.role === "clinician" || page.role === "coordinator") {
    // The visit's record and its note, from the day list as from the visit page.
    const fhir = document.createElement("a");
    fhir.className = "button quiet";
    fhir.href = `/api/encounters/${visit.id}/fhir`;
    fhir.download = "";
    fhir.textContent = strings.fhir;
    const note = document.createElement("a");
    note.className = "button quiet";
    note.href = `/visit/${visit.id}/note`;
    note.textContent = strings.note;
    item.querySelector(".actions").append(fhir, note);
  }
  renderReminders(item.querySelector(".reminders"), visit.reminders, { strings, timeZone: page.time_zone, lang: page.lang });
  if (open) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = strings.newLink;
    button.addEventListener("click", () => issueLink(visit.id, item));
    item.querySelector(".actions").append(button);
  }
  return item;
}

async function issueLink(encounterId, item) {
  try {
    const link = await request("POST", `/api/encounters/${encounterId}/links`);
    const out = item.querySelector(".link-out");
    out.hidden = false;
    const input = out.querySelector("input");
    input.value = link.family_link;
    input.focus();
    input.select();
    say(status, strings.copied, "ok");
  } catch (err) {
    say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
  }
}

async function refresh() {
  const range = dayRange(new Date(), page.time_zone);
  try {
    const data = await request("GET", `/api/encounters?from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`);
    list.replaceChildren(...data.items.map(renderVisit));
    say(status, data.items.length ? strings.loaded : strings.none);
    setTimeout(refresh, REFRESH_MS);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      say(status, strings.expired, "error");
      window.location.assign("/login");
      return;
    }
    say(status, strings.offline, "error");
    setTimeout(refresh, RETRY_MS);
  }
}

loadSession().then(refresh, () => setTimeout(refresh, RETRY_MS));

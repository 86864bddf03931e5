// The coordinator's drill console: the drills so far, and setting one up.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { formatStamp } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const RETRY_MS = 5000;
const listStatus = byId("list-status");

function dateTime(iso) {
  return formatStamp(iso, page.time_zone, page.lang);
}

function failure(err) {
  return err instanceof ApiFailure && err.status ? err.message : strings.offline;
}

function renderDrill(drill) {
  const item = byId("drill-item-template").content.firstElementChild.cloneNode(true);
  item.dataset.drillId = String(drill.id);
  item.dataset.status = drill.status;
  item.querySelector(".title").textContent = `${drill.title} · ${drill.patient_name || ""}`;
  const chip = item.querySelector(".status-chip");
  chip.dataset.status = drill.status;
  chip.textContent = strings.statuses[drill.status] || drill.status;
  const when = drill.started_at || drill.created_at;
  item.querySelector(".detail").textContent =
    `${dateTime(when)} · ${strings.with} ${drill.clinician_name || ""}`;
  const open = item.querySelector(".open");
  open.href = `/drills/${drill.id}`;
  const report = item.querySelector(".report");
  report.href = `/drills/${drill.id}/report`;
  report.hidden = drill.status !== "finished";
  return item;
}

async function refresh() {
  try {
    const data = await request("GET", "/api/drills");
    byId("drill-list").replaceChildren(...data.items.map(renderDrill));
    say(listStatus, data.items.length ? strings.loaded : strings.none);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      say(listStatus, strings.expired, "error");
      window.location.assign("/login");
      return;
    }
    say(listStatus, strings.offline, "error");
    setTimeout(refresh, RETRY_MS);
  }
}

function fillClinicians() {
  const patientId = Number(byId("patient").value);
  const patient = page.patients.find((p) => p.id === patientId);
  const clinicians = patient ? patient.clinicians : [];
  byId("clinician").replaceChildren(...clinicians.map((c) => {
    const option = document.createElement("option");
    option.value = String(c.id);
    option.textContent = c.name;
    return option;
  }));
  say(byId("setup-status"), clinicians.length ? "" : strings.no_clinician, clinicians.length ? null : "error");
}

function showSummary() {
  const option = byId("scenario").selectedOptions[0];
  byId("scenario-summary").textContent = option ? option.dataset.summary : "";
}

function bindSetup() {
  const form = byId("setup-form");
  if (!form) return;
  byId("patient").addEventListener("change", fillClinicians);
  byId("scenario").addEventListener("change", showSummary);
  fillClinicians();
  showSummary();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = byId("setup-status");
    const button = form.querySelector("button[type=submit]");
    const duration = Number(byId("duration").value || 60);
    busy(button, true);
    say(status, strings.saving);
    try {
      const made = await request("POST", "/api/drills", {
        patient_id: Number(byId("patient").value),
        scenario_id: byId("scenario").value,
        clinician_id: Number(byId("clinician").value),
        duration_minutes: duration,
      });
      say(status, "");
      byId("family-link").value = made.family_link;
      byId("visit-link").value = made.visit_url;
      byId("open-drill").href = `/drills/${made.drill.id}`;
      byId("setup-result").hidden = false;
      byId("setup-done").focus();
      refresh();
    } catch (err) {
      say(status, failure(err), "error");
    } finally {
      busy(button, false);
    }
  });
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const input = byId(button.dataset.target);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        say(byId("setup-status"), strings.copied, "ok");
      } catch {
        // The text stays selected: the person copies it by hand.
      }
    });
  }
}

bindSetup();
loadSession().then(refresh, () => setTimeout(refresh, RETRY_MS));

import { ApiFailure, loadSession, request } from "../lib/api.js";
import { byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const path = `/api/patients/${page.patient_id}/care-plan`;
const status = byId("plan-status");
let loaded = null;

function fillSelect(id, values, chosen) {
  const select = byId(id);
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = value.replaceAll("_", " ");
    option.selected = value === chosen;
    return option;
  }));
}

function show(saved) {
  loaded = saved;
  const plan = saved.plan;
  byId("plan-version").textContent = `${strings.version} ${saved.version}`;
  byId("goals").value = plan.goals_of_care;
  fillSelect("place-care", page.places, plan.preferred_place_of_care);
  fillSelect("place-death", page.places, plan.preferred_place_of_death);
  fillSelect("resuscitation", page.resuscitation, plan.advance_care.resuscitation);
  fillSelect("ceiling", page.ceilings, plan.ceiling_of_care);
  byId("ladder").value = JSON.stringify(plan.escalation_ladder.tiers, null, 2);
  byId("thresholds").value = JSON.stringify(plan.symptom_thresholds, null, 2);
  byId("call-tree").value = JSON.stringify(plan.crisis_plan.call_tree, null, 2);
  byId("team").value = JSON.stringify(plan.care_team, null, 2);
}

function parseBox(id) {
  try {
    return JSON.parse(byId(id).value);
  } catch (err) {
    throw new Error(`${strings.badJson} ${byId(id).labels[0].textContent}`);
  }
}

async function loadVersions() {
  const data = await request("GET", `${path}/versions`);
  const list = byId("versions");
  list.replaceChildren(...data.items.map((v) => {
    const item = document.createElement("li");
    item.className = "card";
    const changed = v.changes.map((c) => c.path).join(", ");
    item.textContent = `${strings.version} ${v.version} · ${v.created_at} · ${strings.by} ${v.created_by} · ${changed}`;
    return item;
  }));
  if (!data.items.length) list.textContent = strings.noVersions;
}

byId("plan-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  let plan;
  try {
    plan = structuredClone(loaded.plan);
    plan.goals_of_care = byId("goals").value;
    plan.preferred_place_of_care = byId("place-care").value;
    plan.preferred_place_of_death = byId("place-death").value;
    plan.advance_care.resuscitation = byId("resuscitation").value;
    plan.ceiling_of_care = byId("ceiling").value;
    plan.escalation_ladder = { tiers: parseBox("ladder") };
    plan.symptom_thresholds = parseBox("thresholds");
    plan.crisis_plan.call_tree = parseBox("call-tree");
    plan.care_team = parseBox("team");
  } catch (err) {
    say(status, err.message, "error");
    return;
  }
  try {
    show(await request("PUT", path, { plan, base_version: loaded.version }));
    say(status, strings.saved, "ok");
    await loadVersions();
  } catch (err) {
    say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
  }
});

async function start() {
  await loadSession();
  show(await request("GET", path));
  await loadVersions();
}

start().catch((err) => say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error"));

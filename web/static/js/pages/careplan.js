import { ApiFailure, loadSession, request } from "../lib/api.js";
import { wireDiaryLink } from "../ui/diarylink.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "../ui/dom.js";
import { RowEditor } from "../ui/rows.js";
import { EducationPanel } from "../ui/educationpanel.js";

const page = readJson("page-data");
const strings = readJson("strings");
const path = `/api/patients/${page.patient_id}/care-plan`;
const status = byId("plan-status");
const zone = page.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
let loaded = null;
const c = strings.cols;
const col = (key, type, extra = {}) => ({ key, label: c[key], type, ...extra });
const editors = {
  ladder: new RowEditor(byId("ladder"), [col("label", "text"), col("role", "text"),
    col("user_id", "text", { optional: true }), col("ack_deadline_min", "number"),
    col("is_emergency_services", "checkbox")], strings),
  thresholds: new RowEditor(byId("thresholds"), [col("item", "select", { options: page.symptoms }),
    col("moderate", "number"), col("severe", "number")], strings),
  instructions: new RowEditor(byId("instructions"), [col("crisis", "select", { options: page.crises }),
    col("triggers", "lines"), col("first_steps", "lines")], strings),
  medicines: new RowEditor(byId("medicines"), [col("drug", "text"), col("dose", "text"),
    col("route", "select", { options: page.routes }), col("indication", "text"),
    col("min_interval_min", "number"), col("max_doses_per_24h", "number"),
    col("given_by", "select", { options: page.given_by }), col("location", "text"),
    col("expiry", "date", { optional: true })], strings),
  callTree: new RowEditor(byId("call-tree"), [col("kind", "select", { options: page.contact_kinds }),
    col("name", "text"), col("phone", "tel"), col("hours", "text"), col("when", "text")], strings),
  team: new RowEditor(byId("team"), [col("name", "text"), col("role", "text"),
    col("user_id", "text", { optional: true }), col("phone", "tel", { optional: true }),
    col("email", "email", { optional: true })], strings),
};

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
  editors.ladder.set(plan.escalation_ladder.tiers);
  editors.thresholds.set(Object.entries(plan.symptom_thresholds).map(([item, t]) => ({ item, ...t })));
  editors.instructions.set(plan.crisis_plan.instructions);
  editors.medicines.set(plan.crisis_plan.medicines);
  editors.callTree.set(plan.crisis_plan.call_tree);
  editors.team.set(plan.care_team);
}

async function loadVersions() {
  const data = await request("GET", `${path}/versions`);
  const list = byId("versions");
  list.replaceChildren(...data.items.map((v) => {
    const item = document.createElement("li");
    item.className = "card";
    const changed = v.changes.map((c) => describePath(c.path)).join("; ");
    const who = v.created_by_name ? ` · ${strings.by} ${v.created_by_name}` : "";
    item.textContent = `${strings.version} ${v.version} · ${formatStamp(v.created_at, zone, page.lang)}${who} · ${changed}`;
    return item;
  }));
  if (!data.items.length) {
    const item = document.createElement("li");
    item.textContent = strings.noVersions;
    list.append(item);
  }
}

// A changed field in words: "escalation_ladder.tiers[1].label" becomes "Escalation ladder,
// step 2: Name of this step", never the JSON path.
function describePath(path) {
  const parts = [];
  for (const segment of path.split(".")) {
    const match = /^(\w+)(?:\[(\d+)\])?$/.exec(segment);
    if (!match) continue;
    const [, key, index] = match;
    const name = strings.fields[key] || c[key];
    const number = index === undefined ? "" : ` ${Number(index) + 1}`;
    if (name) parts.push(`${name}${number}`);
    else if (number) parts.push(`${strings.item}${number}`);
  }
  return parts.length ? parts.join(", ") : strings.otherField;
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
    // Tiers are numbered in the order they are listed.
    plan.escalation_ladder = { tiers: editors.ladder.read().map((tier, i) => ({ ...tier, tier: i + 1 })) };
    plan.symptom_thresholds = Object.fromEntries(editors.thresholds.read()
      .map(({ item, moderate, severe }) => [item, { moderate, severe }]));
    plan.crisis_plan.instructions = editors.instructions.read();
    plan.crisis_plan.medicines = editors.medicines.read();
    plan.crisis_plan.call_tree = editors.callTree.read();
    plan.care_team = editors.team.read();
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

const diaryLinks = `/api/patients/${page.patient_id}/diary-links`;
const loadDiaryLink = wireDiaryLink({
  links: {
    list: () => request("GET", diaryLinks),
    make: () => request("POST", `${diaryLinks}?replace=true`),
    stop: (id) => request("DELETE", `${diaryLinks}/${id}`),
  },
  timeZone: page.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone, lang: page.lang, strings: strings.diaryLink,
  onError: (err, node) => say(node, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error"),
});

async function start() {
  await loadSession();
  show(await request("GET", path));
  // Its own failures show in its own status line; the plan editor works regardless.
  const educationPath = `/api/patients/${page.patient_id}/education`;
  const education = new EducationPanel(page.patient_id, page.lang, {
    topics: () => request("GET", "/api/education/topics"),
    view: () => request("GET", educationPath),
    give: (topicId, level) => request("POST", educationPath, { topic_id: topicId, level }),
    teachBack: (topicId, results) => request("POST", `${educationPath}/teach-back`, { topic_id: topicId, results }),
  });
  education.load().catch((err) => education.fail(err));
  await loadDiaryLink();
  await loadVersions();
}

start().catch((err) => say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error"));

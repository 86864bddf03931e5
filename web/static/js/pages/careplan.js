import { ApiFailure, loadSession, request } from "../lib/api.js";
import { wireDiaryLink } from "../ui/diarylink.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "../ui/dom.js";
import { RowEditor } from "../ui/rows.js";
import { EducationPanel } from "../ui/educationpanel.js";
import { TeamThread } from "../ui/teammessages.js";
import * as ev from "../lib/events.js";
import { connect } from "../lib/signal.js";

const page = readJson("page-data");
const strings = readJson("strings");
const path = `/api/patients/${page.patient_id}/care-plan`;
const status = byId("plan-status");
const zone = page.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
let loaded = null;
const c = strings.cols;
const col = (key, type, extra = {}) => ({ key, label: c[key], type, ...extra });
const choices = strings.choices;
// Every choice is shown in words: a select's options carry the plan's values, never shown.
const choose = (key, values, labels, extra = {}) => col(key, "select", { options: values, labels, ...extra });
// A person is picked from the care team by name; the plan keeps their id.
const staffNames = Object.fromEntries(page.staff.map((person) => [person.id, person.name]));
const person = () => choose("user_id", page.staff.map((p) => p.id), staffNames,
  { optional: true, emptyLabel: strings.noPerson, otherLabel: strings.notOnTeam });
const editors = {
  ladder: new RowEditor(byId("ladder"), [col("label", "text"),
    choose("role", page.roles, choices.roles, { optional: true, emptyLabel: strings.noRole }),
    person(), col("ack_deadline_min", "number"), col("is_emergency_services", "checkbox")], strings),
  thresholds: new RowEditor(byId("thresholds"), [choose("item", page.symptoms, choices.symptoms),
    col("moderate", "number"), col("severe", "number")], strings),
  instructions: new RowEditor(byId("instructions"), [choose("crisis", page.crises, choices.crises),
    col("triggers", "lines"), col("first_steps", "lines")], strings),
  medicines: new RowEditor(byId("medicines"), [col("drug", "text"), col("dose", "text"),
    choose("route", page.routes, choices.routes), col("indication", "text"),
    col("min_interval_min", "number"), col("max_doses_per_24h", "number"),
    choose("given_by", page.given_by, choices.given_by), col("location", "text"),
    col("expiry", "date", { optional: true })], strings),
  callTree: new RowEditor(byId("call-tree"), [choose("kind", page.contact_kinds, choices.contact_kinds),
    col("name", "text"), col("phone", "tel"), col("hours", "text"), col("when", "text")], strings),
  team: new RowEditor(byId("team"), [col("name", "text"), choose("role", page.roles, choices.roles),
    person(), col("phone", "tel", { optional: true }), col("email", "email", { optional: true })], strings),
};

function fillSelect(id, values, chosen, labels) {
  const select = byId(id);
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = labels[value] || value.replaceAll("_", " ");
    option.selected = value === chosen;
    return option;
  }));
}

function show(saved) {
  loaded = saved;
  const plan = saved.plan;
  byId("plan-version").textContent = `${strings.version} ${saved.version}`;
  byId("goals").value = plan.goals_of_care;
  fillSelect("place-care", page.places, plan.preferred_place_of_care, choices.places);
  fillSelect("place-death", page.places, plan.preferred_place_of_death, choices.places);
  fillSelect("resuscitation", page.resuscitation, plan.advance_care.resuscitation, choices.resuscitation);
  fillSelect("ceiling", page.ceilings, plan.ceiling_of_care, choices.ceilings);
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
    const name = strings.fields[key] || c[key] || choices.symptoms[key];
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
    say(status, refusal(err), "error");
  }
});

// The server's refusal of a plan in words: the field it names as the page calls it
// ("Escalation ladder, step 2, Role"), never its JSON path, and what to do about it.
function refusal(err) {
  if (!(err instanceof ApiFailure) || !err.status) return strings.offline;
  if (err.status !== 422 || !err.field) return err.message;
  // "Someone must answer" is about the whole step, not the field it was reported on.
  const field = err.field.replace(/^plan\./, "");
  const where = describePath(err.code === "required" ? field.replace(/\.\w+$/, "") : field);
  const sentence = strings.errors[err.code] || strings.errors.other;
  return sentence.replace("%(where)s", where);
}

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
  // The thread with the family, kept current: a new message or answer arrives as an event.
  const thread = new TeamThread(byId("team-thread"), page.patient_id, { call: request, lang: page.lang, zone });
  const socket = connect();
  socket.on(ev.FAMILY_MESSAGE, (data) => {
    if (data && data.patient_id === page.patient_id) thread.load();
  });
  socket.on("connect", () => thread.load());
  await loadDiaryLink();
  await loadVersions();
}

start().catch((err) => say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error"));

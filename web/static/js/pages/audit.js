// The admin's audit log: filter by patient, person, action and days; page back through older
// entries; download the filtered entries as CSV; check the log's hash chain. Entries are
// written in words (who, did what, to which record), never ids. Text only: never innerHTML.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { dayStartIso, formatStamp } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const status = byId("audit-status");
const rows = byId("rows");
const more = byId("more");
const form = byId("filters");
const actionSelect = byId("f-action");
const exportLink = byId("export");

let next = null;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

function handle(err, node) {
  if (err instanceof ApiFailure && err.status === 401) {
    say(status, strings.expired, "error");
    window.location.assign("/login");
    return;
  }
  say(node, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
}

// A permission refused ("careplan.read") names the record before the dot and the verb after.
function describe(item) {
  let verb = item.action;
  let thing = item.resource_type;
  if (verb.includes(".")) [thing, verb] = verb.split(".", 2);
  const verbText = strings.verbs[verb] || verb.replaceAll("_", " ");
  const thingText = strings.things[thing] || strings.another;
  return `${verbText} ${thingText}`;
}

function who(item) {
  if (item.actor_name) {
    const role = strings.roles[item.role];
    return role ? `${item.actor_name} (${role})` : item.actor_name;
  }
  if (item.role === "family") return strings.family;
  return item.actor_id ? strings.formerStaff : strings.nobody;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function renderRow(item) {
  const tr = document.createElement("tr");
  tr.append(
    cell(formatStamp(item.at, page.time_zone, page.lang)),
    cell(who(item)),
    cell(describe(item)),
    cell(item.patient_name || ""),
    cell(strings.outcomes[item.outcome] || item.outcome),
  );
  return tr;
}

function query() {
  const params = new URLSearchParams();
  const data = new FormData(form);
  for (const name of ["patient_id", "actor_id", "action"]) {
    if (data.get(name)) params.set(name, data.get(name));
  }
  if (data.get("from")) params.set("since", dayStartIso(data.get("from"), page.time_zone));
  if (data.get("to")) {
    // "To" includes the whole day: entries before the next day's start.
    const [year, month, day] = data.get("to").split("-").map(Number);
    const nextDay = new Date(Date.UTC(year, month - 1, day + 1)).toISOString().slice(0, 10);
    params.set("until", dayStartIso(nextDay, page.time_zone));
  }
  return params;
}

function offerActions(actions) {
  const chosen = actionSelect.value;
  const known = new Set([...actionSelect.options].map((o) => o.value));
  for (const action of actions) {
    if (known.has(action)) continue;
    const option = document.createElement("option");
    option.value = action;
    option.textContent = describe({ action, resource_type: "" }).replace(` ${strings.another}`, "");
    actionSelect.append(option);
  }
  actionSelect.value = chosen;
}

// Each load is numbered: an earlier search's answer that comes after a later one's is
// dropped, so the rows shown are always those of the filters last asked for.
let loads = 0;

async function load(append) {
  loads += 1;
  const mine = loads;
  const params = query();
  if (append && next) params.set("cursor", next);
  exportLink.href = `/api/audit/export?${query()}`;
  try {
    const data = await request("GET", `/api/audit?${params}`);
    if (mine !== loads) return;
    const fresh = data.items.map(renderRow);
    if (append) rows.append(...fresh);
    else rows.replaceChildren(...fresh);
    next = data.next;
    more.hidden = !next;
    offerActions(data.actions || []);
    say(status, rows.children.length ? strings.loaded : strings.none);
  } catch (err) {
    if (mine === loads) handle(err, status);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load(false);
});
more.addEventListener("click", () => load(true));

byId("verify").addEventListener("click", async () => {
  const button = byId("verify");
  const result = byId("verify-result");
  busy(button, true);
  try {
    const report = await request("GET", "/api/audit/verify");
    if (!report.intact) {
      say(result, fill(strings.broken, { row: report.broken_at, reason: report.reason }), "error");
    } else if (report.rows === 0) {
      say(result, strings.empty, "ok");
    } else {
      say(result, fill(strings.intact, { rows: report.rows, last: report.last_id }), "ok");
    }
  } catch (err) {
    handle(err, result);
  } finally {
    busy(button, false);
  }
});

// Reading needs no session: the first entries are asked for at once, so a search made
// while the session is still coming is always the later one.
load(false);
loadSession().catch((err) => handle(err, status));

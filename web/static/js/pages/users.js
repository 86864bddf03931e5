// The admin's staff logins: add one, change its name, role and care teams, disable or enable
// it, reset its password. Everything goes through /api/users, which checks and audits each
// change; a password is shown once, right after it is made. Text only: never innerHTML.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const status = byId("users-status");
const list = byId("users");
const template = byId("user-template");
const patientNames = new Map(page.patients.map((p) => [p.id, p.name]));
const TEAM_ROLES = new Set(["clinician", "coordinator"]);
// 12 random bytes: 16 URL-safe characters, above the 12-character minimum.
const PASSWORD_BYTES = 12;

function problem(err) {
  return err instanceof ApiFailure && err.status ? err.message : strings.offline;
}

function handle(err, node) {
  if (err instanceof ApiFailure && err.status === 401) {
    say(status, strings.expired, "error");
    window.location.assign("/login");
    return;
  }
  say(node, problem(err), "error");
}

function randomPassword() {
  const bytes = crypto.getRandomValues(new Uint8Array(PASSWORD_BYTES));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}

function checkedTeams(form) {
  return [...form.querySelectorAll("input[name=team]:checked")].map((box) => Number(box.value));
}

function showTeams(form, role) {
  form.querySelector(".teams").hidden = !TEAM_ROLES.has(role);
}

function showSecret(container, value) {
  const out = container.querySelector(".secret-out");
  const input = out.querySelector("input");
  out.hidden = false;
  input.value = value;
  input.focus();
  input.select();
}

function wireCopy(container) {
  for (const button of container.querySelectorAll(".copy")) {
    button.addEventListener("click", async () => {
      const input = button.closest(".secret-out").querySelector("input");
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = strings.copied;
      } catch {
        // No clipboard permission: the text is selected for the person to copy.
      }
    });
  }
}

function teamsText(ids) {
  if (!ids || ids.length === 0) return strings.noTeams;
  return `${strings.teams} ${ids.map((id) => patientNames.get(id)).filter(Boolean).join(", ")}`;
}

function renderUser(user) {
  const item = template.content.firstElementChild.cloneNode(true);
  const you = user.id === page.user_id;
  item.querySelector(".name").textContent = you ? `${user.name} ${strings.youSuffix}` : user.name;
  const role = strings.roles[user.role] || user.role;
  item.querySelector(".summary").textContent = `${role} · ${user.email} · ${user.active ? strings.active : strings.disabled}`;
  item.querySelector(".teams-line").textContent = TEAM_ROLES.has(user.role) ? teamsText(user.care_team_patient_ids) : "";
  const rowStatus = item.querySelector(".row-status");
  const toggle = item.querySelector(".toggle");
  toggle.textContent = user.active ? strings.disable : strings.enable;
  // An admin cannot disable their own login (the API refuses it too).
  toggle.hidden = you;
  toggle.addEventListener("click", async () => {
    busy(toggle, true);
    try {
      const changed = await request("PATCH", `/api/users/${user.id}`, { active: !user.active });
      const fresh = renderUser(changed);
      item.replaceWith(fresh);
      say(fresh.querySelector(".row-status"), changed.active ? strings.enabledNow : strings.disabledNow, "ok");
      fresh.querySelector(".toggle").focus();
    } catch (err) {
      busy(toggle, false);
      handle(err, rowStatus);
    }
  });
  const reset = item.querySelector(".reset");
  reset.addEventListener("click", async () => {
    busy(reset, true);
    try {
      const done = await request("POST", `/api/users/${user.id}/password-reset`);
      say(rowStatus, strings.resetDone, "ok");
      showSecret(item, done.password);
    } catch (err) {
      handle(err, rowStatus);
    } finally {
      busy(reset, false);
    }
  });
  const form = item.querySelector("form.edit");
  form.elements.name.value = user.name;
  form.elements.role.value = user.role;
  for (const box of form.querySelectorAll("input[name=team]")) {
    box.checked = (user.care_team_patient_ids || []).includes(Number(box.value));
  }
  showTeams(form, user.role);
  form.elements.role.addEventListener("change", () => showTeams(form, form.elements.role.value));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    busy(submit, true);
    const newRole = form.elements.role.value;
    const body = { name: form.elements.name.value.trim(), role: newRole };
    body.care_team_patient_ids = TEAM_ROLES.has(newRole) ? checkedTeams(form) : [];
    try {
      const changed = await request("PATCH", `/api/users/${user.id}`, body);
      const fresh = renderUser(changed);
      item.replaceWith(fresh);
      say(fresh.querySelector(".row-status"), strings.saved, "ok");
    } catch (err) {
      busy(submit, false);
      handle(err, rowStatus);
    }
  });
  wireCopy(item);
  return item;
}

async function refresh() {
  try {
    const data = await request("GET", "/api/users");
    list.replaceChildren(...data.items.map(renderUser));
    say(status, strings.loaded);
  } catch (err) {
    handle(err, status);
  }
}

const newForm = byId("new-user");
const newStatus = byId("new-status");
showTeams(newForm, newForm.elements.role.value);
newForm.elements.role.addEventListener("change", () => showTeams(newForm, newForm.elements.role.value));
wireCopy(newForm);
newForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const submit = newForm.querySelector("button[type=submit]");
  const typed = newForm.elements.password.value;
  const password = typed || randomPassword();
  const role = newForm.elements.role.value;
  busy(submit, true);
  try {
    await request("POST", "/api/users", {
      name: newForm.elements.name.value.trim(),
      email: newForm.elements.email.value.trim(),
      role,
      time_zone: newForm.elements.time_zone.value.trim() || "UTC",
      password,
      care_team_patient_ids: TEAM_ROLES.has(role) ? checkedTeams(newForm) : [],
    });
    newForm.reset();
    showTeams(newForm, newForm.elements.role.value);
    if (typed) {
      say(newStatus, strings.created, "ok");
    } else {
      say(newStatus, strings.createdShown, "ok");
      showSecret(newForm, password);
    }
    await refresh();
  } catch (err) {
    handle(err, newStatus);
  } finally {
    busy(submit, false);
  }
});

loadSession().then(refresh, (err) => handle(err, status));

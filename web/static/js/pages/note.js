// The visit note as the care team writes it: save the narrative, sign the note (after a
// confirmation), then add addenda. The server renders the note; after a change that the
// printed note shows (a sign-off, an addendum) the page is loaded again, so what is on the
// screen is exactly what prints.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const notePath = `/api/encounters/${page.encounter_id}/note`;
const message = byId("note-message");
// The forms are in the page as it arrives, so they are wired at once (a click before the
// session is known must not submit them as a plain form); a request waits for the session,
// which carries the CSRF token.
const session = loadSession().catch((err) => {
  say(message, failure(err), "error");
  return null;
});

async function send(method, path, body) {
  await session;
  return request(method, path, body);
}

function failure(err) {
  if (!(err instanceof ApiFailure) || !err.status) return strings.offline;
  return strings.errors[err.code] || err.message;
}

async function saveNarrative(field) {
  const note = await send("PUT", `${notePath}/narrative`, { narrative: field.value });
  field.dataset.saved = note.narrative;
  return note;
}

function wireNarrative() {
  const form = byId("narrative-form");
  if (!form) return;
  const field = byId("narrative-input");
  const saveButton = byId("save-narrative");
  const signButton = byId("sign-note");
  const confirm = byId("sign-confirm");
  const yes = byId("sign-yes");
  field.dataset.saved = field.value;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(saveButton, true);
    say(message, strings.saving);
    try {
      await saveNarrative(field);
      say(message, strings.saved, "ok");
    } catch (err) {
      say(message, failure(err), "error");
    } finally {
      busy(saveButton, false);
    }
  });

  function showConfirm(shown) {
    confirm.hidden = !shown;
    signButton.setAttribute("aria-expanded", String(shown));
    (shown ? yes : signButton).focus();
  }

  signButton.addEventListener("click", () => showConfirm(true));
  byId("sign-cancel").addEventListener("click", () => showConfirm(false));
  confirm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") showConfirm(false);
  });
  yes.addEventListener("click", async () => {
    busy(yes, true);
    say(message, strings.signing);
    try {
      // What is in the field is what gets signed: unsaved words are saved first.
      if (field.value !== field.dataset.saved) await saveNarrative(field);
      await send("POST", `${notePath}/sign-off`);
      window.location.reload();
    } catch (err) {
      say(message, failure(err), "error");
      busy(yes, false);
      showConfirm(false);
    }
  });
}

function wireAddendum() {
  const form = byId("addendum-form");
  if (!form) return;
  const field = byId("addendum-input");
  const button = byId("add-addendum");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!field.value.trim()) {
      say(message, strings.write_addendum, "error");
      field.focus();
      return;
    }
    busy(button, true);
    say(message, strings.adding);
    try {
      await send("POST", `${notePath}/addenda`, { text: field.value });
      window.location.reload();
    } catch (err) {
      say(message, failure(err), "error");
      busy(button, false);
    }
  });
}

byId("print-note").addEventListener("click", () => window.print());

wireNarrative();
wireAddendum();

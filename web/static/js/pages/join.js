import { ApiFailure, request } from "../lib/api.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const form = byId("join-form");
const message = byId("join-message");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const displayName = form.display_name.value.trim();
  if (!displayName) {
    say(message, strings.missing, "error");
    form.display_name.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  busy(button, true);
  say(message, strings.working);
  try {
    await request("POST", "/api/join", { token: page.token, display_name: displayName });
    // The token leaves the address bar and the history once it has been exchanged (R6).
    window.location.replace("/family");
  } catch (err) {
    const text = err instanceof ApiFailure && err.status !== 0 ? err.message : strings.offline;
    say(message, text, "error");
  } finally {
    busy(button, false);
  }
});

import { ApiFailure, request } from "../lib/api.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const strings = readJson("strings");
const form = byId("login-form");
const message = byId("login-message");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    say(message, strings.missing, "error");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  busy(button, true);
  say(message, strings.working);
  try {
    await request("POST", "/api/session", { email, password });
    window.location.assign("/today");
  } catch (err) {
    const text = err instanceof ApiFailure && err.status !== 0 ? err.message : strings.offline;
    say(message, text, "error");
    form.password.value = "";
    form.password.focus();
  } finally {
    busy(button, false);
  }
});

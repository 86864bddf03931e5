// The family's thread with the care team (issue 18), on the diary and family pages.
// Messages wait in the device's own queue (lib/diaryqueue.js) until the clinic has them, so
// one written offline goes when the connection is back, and one sent twice is stored once.
// The page does the talking: `call(method, path, body)` (lib/api.js's request) and `ready`
// (the session's CSRF token loaded, when the browser has one).
import { MESSAGES_KEY, enqueue, flush, loadQueue, newClientId } from "../lib/diaryqueue.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "./dom.js";

const POLL_MS = 30000;

// token: the diary link's (diary page); none on the family page, which is signed in.
export function startFamilyMessages({ call, ready = Promise.resolve(), token = null, lang = "en", zone } = {}) {
  const strings = readJson("message-strings");
  const form = byId("message-form");
  if (!form) return null;
  const box = byId("message-text");
  const status = byId("message-status");
  const list = byId("message-thread");
  const timeZone = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  const withToken = (body) => (token ? { ...body, token } : body);
  const storage = window.localStorage;

  function item(who, text, note, sender) {
    const li = document.createElement("li");
    li.className = `message-item from-${sender}`;
    const head = document.createElement("p");
    head.className = "message-head muted";
    head.textContent = who;
    const body = document.createElement("p");
    body.className = "message-text";
    body.textContent = text;
    // The family's words keep their own direction inside the page's.
    body.dir = "auto";
    li.append(head, body);
    if (note) {
      const receipt = document.createElement("p");
      receipt.className = "receipt muted";
      receipt.textContent = note;
      li.append(receipt);
    }
    return li;
  }

  function render(items) {
    const rows = items.map((m) => {
      const when = formatStamp(m.received_at, timeZone, lang);
      if (m.sender === "team") return item(`${strings.team} · ${when}`, m.text, null, "team");
      const note = m.read_at ? strings.readByTeam : strings.notRead;
      return item(`${m.author || strings.you} · ${when}`, m.text, note, "family");
    });
    // A message the clinic already has is shown once, as stored, even if the answer that
    // takes it off the device's queue has not come back yet.
    const stored = new Set(items.map((m) => m.client_id));
    for (const waiting of loadQueue(storage, MESSAGES_KEY)) {
      if (!stored.has(waiting.client_id)) rows.push(item(strings.you, waiting.text, strings.waiting, "family"));
    }
    if (!rows.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = strings.none;
      rows.push(empty);
    }
    list.replaceChildren(...rows);
  }

  let last = [];
  let asked = 0;
  async function load() {
    await ready;
    // Loads overlap (the poll, a send, coming back online): only the latest one draws, so an
    // older answer never replaces a newer thread.
    const mine = ++asked;
    let items = last;
    try {
      items = (await call("POST", "/api/messages/thread", withToken({}))).items;
    } catch {
      // Offline: what was shown stays, with what waits on the device.
    }
    if (mine !== asked) return;
    last = items;
    render(last);
  }

  const send = (entry) => call("POST", "/api/messages", withToken(entry));
  let flushing = false;
  async function sendQueued() {
    if (flushing) return null;
    flushing = true;
    await ready;
    try {
      const result = await flush(storage, send, MESSAGES_KEY);
      for (const problem of result.refused) {
        say(status, problem.status === 401 ? strings.link : `${strings.refused} ${problem.message}`, "error");
      }
      return result;
    } finally {
      flushing = false;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) {
      say(status, strings.empty, "error");
      box.focus();
      return;
    }
    enqueue(storage, { client_id: newClientId(), text, written_at: new Date().toISOString(), language: lang }, MESSAGES_KEY);
    box.value = "";
    const result = await sendQueued();
    if (result && result.pending === 0 && result.refused.length === 0) say(status, strings.sent, "ok");
    else if (result && result.pending > 0) say(status, strings.queued);
    await load();
  });

  window.addEventListener("online", async () => {
    await sendQueued();
    await load();
  });
  setInterval(async () => {
    if (!navigator.onLine) return;
    if (loadQueue(storage, MESSAGES_KEY).length) await sendQueued();
    if (document.visibilityState === "visible") await load();
  }, POLL_MS);
  load().then(() => (loadQueue(storage, MESSAGES_KEY).length ? sendQueued().then(load) : null));
  return { load };
}

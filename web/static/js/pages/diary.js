import { loadSession, request } from "../lib/api.js";
import { enqueue, flush, loadQueue, newClientId } from "../lib/diaryqueue.js";
import { byId, readJson, say } from "../ui/dom.js";
import { showEducation } from "../ui/education.js";
import { startFamilyMessages } from "../ui/familymessages.js";
import { wireScaleClearing } from "../ui/scale.js";

const page = readJson("page-data");
const strings = readJson("strings");
// Opened offline, the page comes from the diary's service worker without its token (it keeps
// none): the token is read back from the address the family opened.
if (!page.token) page.token = decodeURIComponent(window.location.pathname.split("/").filter(Boolean).pop() || "");

// The topics the team gave, readable offline; marks go with the diary link's token.
showEducation(page, `diary.${page.token}`, (mark) =>
  request("POST", `/api/education/assignments/${mark.assignment_id}/${mark.kind}`, { token: page.token }));
// The thread with the care team: messages go with the diary link's token, and wait on the
// device like check-ins when there is no connection.
// A browser that also holds a visit session must send that session's CSRF token.
startFamilyMessages({
  call: request, ready: loadSession().catch(() => null), token: page.token, lang: page.lang,
});
const form = byId("diary-form");
const status = byId("diary-status");
const queueStatus = byId("queue-status");
const syncClearing = wireScaleClearing(form);

function answers() {
  const items = {};
  for (const group of form.querySelectorAll(".diary-item")) {
    const chosen = group.querySelector("input[type=radio]:checked");
    if (chosen) items[group.dataset.item] = Number(chosen.value);
  }
  const worry = byId("worry").value.trim();
  if (worry) items.worry = worry;
  return items;
}

function clearForm() {
  for (const input of form.querySelectorAll(".diary-item input[type=radio]")) input.checked = false;
  byId("worry").value = "";
  syncClearing();
}

function showQueue() {
  const waiting = loadQueue(window.localStorage).length;
  queueStatus.textContent = waiting ? `${strings.waiting} ${waiting}` : "";
}

function send(entry) {
  return request("POST", "/api/diary", { token: page.token, entry });
}

let flushing = false;
async function sendQueued() {
  if (flushing) return null;
  flushing = true;
  try {
    // A browser that also holds a visit session must send that session's CSRF token.
    await loadSession().catch(() => null);
    const result = await flush(window.localStorage, send);
    for (const problem of result.refused) {
      say(status, problem.status === 401 ? strings.link : `${strings.refused} ${problem.message}`, "error");
    }
    return result;
  } finally {
    flushing = false;
    showQueue();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const items = answers();
  if (!Object.keys(items).length) {
    say(status, strings.empty, "error");
    return;
  }
  enqueue(window.localStorage, {
    client_id: newClientId(), recorded_at: new Date().toISOString(), items,
  });
  clearForm();
  const result = await sendQueued();
  if (result && result.pending === 0 && result.refused.length === 0) say(status, strings.sent, "ok");
  else if (result && result.pending > 0) say(status, strings.queued);
});

window.addEventListener("online", async () => {
  const result = await sendQueued();
  if (result && result.sent > 0 && result.pending === 0 && !result.refused.length) say(status, strings.sent, "ok");
});

// Some browsers miss the "online" event after sleep; a slow retry covers them.
const RETRY_MS = 15000;
setInterval(() => {
  if (loadQueue(window.localStorage).length && navigator.onLine) sendQueued();
}, RETRY_MS);

showQueue();
if (loadQueue(window.localStorage).length) sendQueued();

// The diary opens with no connection: a service worker keeps the page (without its token) and
// its files. The first opening, before the worker was there, lists what it loaded so the worker
// can keep it too; later openings pass through the worker, which keeps them as they go (one
// request for the page each time, so one audit row and one throttle count, as before).
if ("serviceWorker" in navigator) {
  const firstOpening = !navigator.serviceWorker.controller;
  navigator.serviceWorker.register("/diary-sw.js", { scope: "/diary/" })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      if (!firstOpening) return;
      const assets = performance.getEntriesByType("resource").map((entry) => entry.name)
        .filter((url) => new URL(url).pathname.startsWith("/static/"));
      registration.active.postMessage({ type: "keep", page: window.location.href, assets });
    })
    .catch(() => {});
}

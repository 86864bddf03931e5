// A clinician's calendar feed: make the secret address (shown once, with a copy button),
// make a new one, or stop it, through /api/clinicians/{id}/calendar-feed. Text only.
import { ApiFailure, loadSession, request } from "../lib/api.js";
import { formatStamp } from "../lib/time.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const state = byId("feed-state");
const status = byId("feed-status");
const make = byId("make");
const stop = byId("stop");
const out = byId("feed-out");
const urlInput = byId("feed-url");
const path = `/api/clinicians/${page.user_id}/calendar-feed`;

let feed = page.feed;

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

function when(iso) {
  return formatStamp(iso, page.time_zone, page.lang);
}

function show() {
  if (feed) {
    const used = feed.last_used_at ? fill(strings.used, { used: when(feed.last_used_at) }) : strings.neverUsed;
    state.textContent = `${fill(strings.working, { made: when(feed.created_at) })} ${used}`;
  } else {
    state.textContent = strings.none;
  }
  make.textContent = feed ? strings.remake : strings.make;
  stop.hidden = !feed;
}

function handle(err) {
  if (err instanceof ApiFailure && err.status === 401) {
    say(status, strings.expired, "error");
    window.location.assign("/login");
    return;
  }
  say(status, err instanceof ApiFailure && err.status ? err.message : strings.offline, "error");
}

make.addEventListener("click", async () => {
  busy(make, true);
  try {
    const made = await request("POST", path);
    feed = { created_at: made.created_at, last_used_at: null };
    out.hidden = false;
    urlInput.value = made.url;
    show();
    say(status, strings.made, "ok");
    urlInput.focus();
    urlInput.select();
  } catch (err) {
    handle(err);
  } finally {
    busy(make, false);
  }
});

stop.addEventListener("click", async () => {
  busy(stop, true);
  try {
    await request("DELETE", path);
    feed = null;
    out.hidden = true;
    urlInput.value = "";
    show();
    say(status, strings.stopped, "ok");
    make.focus();
  } catch (err) {
    handle(err);
  } finally {
    busy(stop, false);
  }
});

byId("copy").addEventListener("click", async () => {
  urlInput.select();
  try {
    await navigator.clipboard.writeText(urlInput.value);
    say(status, strings.copied, "ok");
  } catch {
    // No clipboard permission: the address is selected for the person to copy.
  }
});

show();
loadSession().catch(handle);

import { loadSession, request as apiRequest } from "../lib/api.js";
import * as ev from "../lib/events.js";
import { IceServers } from "../lib/iceservers.js";
import { PeerLink } from "../lib/peer.js";
import { connect, request } from "../lib/signal.js";
import { dayRange, formatClock } from "../lib/time.js";
import { bindToggle, setBanner } from "../ui/callcontrols.js";
import { byId, readJson } from "../ui/dom.js";
import { Charts } from "../ui/charts.js";
import { StepsPanel } from "../ui/steps.js";
import { Tabs } from "../ui/tabs.js";
import { callName, Tiles } from "../ui/tiles.js";
import { EducationPanel } from "../ui/educationpanel.js";
import { addToFeed } from "../ui/drillpanel.js";
import { Recording } from "../ui/recording.js";
import { MediaSteps } from "../ui/mediastep.js";

const page = readJson("page-data");
const strings = readJson("strings");
const tiles = new Tiles(byId("remote"), strings);
tiles.onSize = (id, width, height) => { if (link) link.setTileSize(id, width, height); };
const charts = new Charts(byId("charts"), strings, page.bands);
// Counting breaths on video (few home devices measure it): a tap per breath for 30 s, doubled.
const BREATH_WINDOW_S = 30;
const banner = byId("connection");
// The record's links in the page header: the FHIR bundle to download, the note to print.
byId("fhir-link").href = `/api/encounters/${page.encounter_id}/fhir`;
const mediaSteps = new MediaSteps();
const recording = new Recording(page.encounter_id, {
  request: apiRequest, staff: true, timeZone: page.time_zone, lang: page.lang,
});
recording.refresh();
byId("note-link").href = `/visit/${page.encounter_id}/note`;
// Laptop (1024 px and wider): video, readings and steps side by side. Narrower: tabs.
const layout = byId("visit-layout");
let unseenAlerts = 0;
const tabs = new Tabs(layout.querySelector("[role=tablist]"), {
  wide: window.matchMedia("(min-width: 1024px)"),
  onSelect: (id) => {
    layout.dataset.tab = id.replace("tab-", "");
    if (id === "tab-live") {
      unseenAlerts = 0;
      byId("alert-count").hidden = true;
    }
  },
});
let socket = null;
let link = null;
// TURN credentials are time-limited: renewed before they run out, for the next connection and
// the open one alike.
const ice = new IceServers(page.ice_servers, page.ice_servers_expire_at,
  () => apiRequest("GET", "/api/ice-servers"));
ice.onChange((servers) => { if (link) link.setIceServers(servers); });
ice.start();
let stream = null;
let myId = null;
let inCall = false;
let retryTimer = null;
let lastKnock = 0;
let knownWaiting = new Set();
// The roles of people who come in on a visit link (the others are the care team, the hosts).
const LINK_ROLES = new Set(["family", "interpreter", "guest_clinician"]);
// One knock per arrival, and never more than one every 10 s however many arrive at once.
const KNOCK_MIN_INTERVAL_MS = 10000;

function knock() {
  const now = Date.now();
  if (now - lastKnock < KNOCK_MIN_INTERVAL_MS) return;
  lastKnock = now;
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    for (const at of [0, 0.18]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "triangle";
      osc.frequency.value = 220;
      gain.gain.setValueAtTime(0.4, ctx.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.12);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.13);
    }
    setTimeout(() => ctx.close().catch(() => {}), 800);
  } catch {
    // Sound is a courtesy; the list itself shows who is waiting.
  }
}

async function act(event, data) {
  try {
    return await request(socket, event, data);
  } catch (err) {
    setBanner(banner, strings.error + err.message);
    return null;
  }
}

function renderLobby(waiting) {
  const list = byId("lobby");
  const template = byId("waiting-template");
  byId("lobby-empty").hidden = waiting.length > 0;
  const items = waiting.map((person) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.participantId = person.participant_id;
    item.querySelector(".name").textContent = callName(person, strings.roles);
    item.querySelector(".admit").addEventListener("click", () => act(ev.ADMIT, { participant_id: person.participant_id }));
    item.querySelector(".deny").addEventListener("click", () => act(ev.DENY, { participant_id: person.participant_id }));
    return item;
  });
  list.replaceChildren(...items);
  const ids = new Set(waiting.map((p) => p.participant_id));
  if ([...ids].some((id) => !knownWaiting.has(id))) knock();
  knownWaiting = ids;
}

function renderPeople(roster) {
  const list = byId("people");
  const template = byId("person-template");
  list.replaceChildren(...roster.map((person) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.participantId = person.participant_id;
    item.querySelector(".name").textContent = callName(person, strings.roles);
    const q = person.online ? person.quality : "offline";
    item.querySelector(".quality").textContent = q ? `(${strings.quality[q]})` : "";
    const button = item.querySelector(".to-lobby");
    if (person.participant_id === myId || !LINK_ROLES.has(person.role)) button.remove();
    else button.addEventListener("click", () => act(ev.TO_LOBBY, { participant_id: person.participant_id }));
    return item;
  }));
  tiles.update(roster.filter((p) => p.participant_id !== myId));
}

async function startCall() {
  if (link) link.close();
  link = new PeerLink(socket, stream, ice.list, {
    onTrack: (owner, track) => { if (owner) tiles.addTrack(owner, track); },
    onState: (state) => {
      if (state === "failed") scheduleRestart();
      if (state === "connected") setBanner(banner, "");
    },
    onQuality: (summary) => { byId("my-quality").textContent = strings.quality[summary.level]; },
  });
  try {
    await link.start();
  } catch {
    scheduleRestart();
  }
}

function scheduleRestart() {
  if (!inCall || retryTimer) return;
  setBanner(banner, strings.reconnecting);
  retryTimer = setTimeout(async () => {
    retryTimer = null;
    if (inCall && socket.connected) await startCall();
  }, 1500);
}

// Join the visit's room. When the server that holds the visit does not answer (another node
// restarting, or a lost acknowledgement), the page says it is reconnecting and asks again,
// as the family's page does; other refusals are shown as they are.
const JOIN_RETRY_MS = 3000;
const JOIN_RETRY_CODES = new Set(["unavailable", "timeout"]);
let joinTimer = null;

async function join() {
  clearTimeout(joinTimer);
  joinTimer = null;
  let reply;
  try {
    reply = await request(socket, ev.JOIN, { encounter_id: page.encounter_id });
  } catch (err) {
    if (JOIN_RETRY_CODES.has(err.code)) {
      setBanner(banner, strings.reconnecting);
      joinTimer = setTimeout(() => { if (socket.connected) join(); }, JOIN_RETRY_MS);
    } else {
      setBanner(banner, strings.error + err.message);
    }
    return;
  }
  setBanner(banner, "");
  myId = reply.participant_id;
  if (inCall) await startCall();
}

function wire() {
  socket = connect(page.encounter_id);
  socket.on("connect", () => {
    setBanner(banner, "");
    join();
  });
  socket.on("disconnect", () => { if (inCall) setBanner(banner, strings.reconnecting); });
  socket.on(ev.LOBBY, (data) => renderLobby(data.waiting));
  socket.on(ev.PARTICIPANTS, renderPeople);
  socket.on(ev.READING, (reading) => charts.add(reading));
  socket.on(ev.STEP, (data) => { if (steps) steps.render(data.state, data.comparison); });
  socket.on(ev.ALERT, showAlert);
  socket.on(ev.DRILL, drillEventPushed);
  socket.on(ev.RENEGOTIATE, (offer) => { if (link) link.renegotiate(offer).catch(() => scheduleRestart()); });
  socket.on(ev.MEDIA_LOST, () => scheduleRestart());
  socket.on(ev.RECORDING, (data) => recording.update(data));
  socket.on(ev.PARTICIPANTS, (roster) => mediaSteps.roster(roster, myId));
  socket.on(ev.MEDIA_STEP, (data) => mediaSteps.update(data, myId));
  socket.on(ev.VISIT_ENDED, () => {
    inCall = false;
    if (link) link.close();
    link = null;
    tiles.clear();
    setBanner(banner, strings.ended);
  });
}

byId("start").addEventListener("click", async () => {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  } catch {
    setBanner(banner, strings.no_camera);
    stream = null;
  }
  const self = byId("self");
  self.srcObject = stream;
  self.play().catch(() => {});
  inCall = true;
  byId("start").hidden = true;
  for (const id of ["mute", "camera", "end"]) byId(id).disabled = false;
  await startCall();
});

bindToggle(byId("mute"), strings.mute, strings.unmute, (muted) => link && link.setSending("audio", !muted));
bindToggle(byId("camera"), strings.stop_camera, strings.start_camera, (off) => link && link.setSending("video", !off));
byId("end").addEventListener("click", async () => {
  if (!window.confirm(strings.confirm_end)) return;
  await act(ev.END_VISIT, {});
});
byId("lobby-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = byId("lobby-text").value.trim();
  const wait = byId("lobby-wait").value;
  await act(ev.LOBBY_MESSAGE, { message: text || null, wait_minutes: wait === "" ? null : Number(wait) });
});

function showAlert(alert) {
  const item = document.createElement("li");
  item.className = "alert";
  item.dataset.parameter = alert.parameter || "";
  item.textContent = `${formatClock(new Date().toISOString(), page.time_zone, page.lang)} · ${alert.summary}`;
  byId("alerts").prepend(item);
  byId("alerts-empty").hidden = true;
  // Behind another tab, the Readings tab counts the alerts not yet seen.
  if (!tabs.isWide() && tabs.selected.id !== "tab-live") {
    unseenAlerts += 1;
    byId("alert-count").textContent = String(unseenAlerts);
    byId("alert-count").hidden = false;
  }
}

// A drill's feed: what the script played and what people recorded. Loaded once, then
// pushed; a reconnect re-reads it (each event shows once).
let drillSteps = {};
function showDrillEvent(event) {
  const feed = byId("drill-feed");
  if (!feed) return;
  const at = event.at ? new Date(event.at) : new Date();
  addToFeed(feed, event, strings.drill_events, drillSteps,
    at.toLocaleTimeString(page.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: page.time_zone }));
}

async function loadDrillFeed() {
  if (!page.drill_id) return false;
  try {
    const detail = await apiRequest("GET", `/api/drills/${page.drill_id}`);
    drillSteps = Object.fromEntries(detail.family_steps.map((s) => [s.id, s.text]));
    for (const event of detail.events) showDrillEvent(event);
    return true;
  } catch {
    // New drill events still arrive on the socket.
    return false;
  }
}

// A pushed event carries the scenario's words as stored (English); the drill read back
// gives them in this page's language. Unreachable, the pushed words are shown as they are.
async function drillEventPushed(event) {
  if (!(await loadDrillFeed())) showDrillEvent(event);
}

async function loadReadings() {
  // A drill's readings are its own visit's only, and real ones never show in a drill.
  const scope = page.is_drill ? `encounter_id=${page.encounter_id}` : `since=${encodeURIComponent(page.since)}`;
  try {
    const data = await apiRequest("GET", `/api/patients/${page.patient_id}/readings?${scope}`);
    for (const reading of data.items) charts.add(reading);
  } catch {
    // Live readings still arrive on the socket.
  }
}

let breaths = 0;
let breathTimer = null;
byId("count-breaths").addEventListener("click", () => {
  if (breathTimer) return;
  breaths = 0;
  let left = BREATH_WINDOW_S;
  const tap = byId("breath-tap");
  const status = byId("breath-status");
  tap.hidden = false;
  tap.focus();
  status.textContent = strings.breaths_left.replace("%(n)s", left);
  breathTimer = setInterval(async () => {
    left -= 1;
    status.textContent = strings.breaths_left.replace("%(n)s", left);
    if (left > 0) return;
    clearInterval(breathTimer);
    breathTimer = null;
    tap.hidden = true;
    const perMinute = breaths * (60 / BREATH_WINDOW_S);
    try {
      await apiRequest("POST", `/api/encounters/${page.encounter_id}/readings`, {
        id: crypto.randomUUID(), kind: "respiratory_rate", value: perMinute, unit: "/min",
        taken_at: new Date().toISOString(), source: "manual",
      });
      status.textContent = strings.breaths_saved.replace("%(n)s", perMinute);
    } catch (err) {
      status.textContent = strings.breaths_failed + err.message;
    }
  }, 1000);
});
byId("breath-tap").addEventListener("click", () => { breaths += 1; });

let steps = null;

async function loadSteps() {
  const message = byId("steps-message");
  try {
    const [template, visit, scenarios] = await Promise.all([
      apiRequest("GET", `/api/templates/${page.template}`),
      apiRequest("GET", `/api/encounters/${page.encounter_id}`),
      apiRequest("GET", "/api/scenarios"),
    ]);
    // The crisis plan is shown beside the rehearsal; a visit goes on without it.
    const carePlan = await apiRequest("GET", `/api/patients/${page.patient_id}/care-plan`)
      .then((reply) => reply.plan, () => null);
    const visitApi = `/api/encounters/${page.encounter_id}`;
    // Topics given and taught back here belong to this visit; the rehearsal step shows the
    // panel, starting with the topics behind the patient's crisis plan.
    const educationPath = `/api/patients/${page.patient_id}/education`;
    const education = new EducationPanel(page.patient_id, page.lang, {
      topics: () => apiRequest("GET", "/api/education/topics"),
      view: () => apiRequest("GET", educationPath),
      give: (topicId, level) => apiRequest("POST", educationPath,
        { topic_id: topicId, level, encounter_id: page.encounter_id }),
      teachBack: (topicId, results) => apiRequest("POST", `${educationPath}/teach-back`,
        { topic_id: topicId, results, encounter_id: page.encounter_id }),
    });
    education.load().catch((err) => education.fail(err));
    steps = new StepsPanel(byId("steps"), {
      template, strings,
      context: { patient_name: page.patient_name, birth_date: page.birth_date, scenarios: scenarios.items,
        carePlan, educationPanel: byId("education-panel"),
        takeStill: () => apiRequest("POST", `${visitApi}/snapshot`) },
      noteUrl: `/visit/${page.encounter_id}/note`,
      postEvent: (body) => apiRequest("POST", `${visitApi}/events`, body),
      onMessage: (text, kind) => { message.textContent = text; message.className = `message ${kind || ""}`; },
    });
    steps.render(visit.state || { status: "not_started", steps: [] }, visit.comparison || null);
  } catch (err) {
    message.textContent = err.message;
  }
}

async function listToday() {
  const range = dayRange(new Date(), page.time_zone);
  try {
    const data = await apiRequest("GET", `/api/encounters?from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`);
    byId("today-visits").replaceChildren(...data.items.map((visit) => {
      const item = document.createElement("li");
      item.className = "person";
      const link = document.createElement("a");
      link.href = `/visit/${visit.id}`;
      link.textContent = `${formatClock(visit.starts_at, page.time_zone, page.lang)} · ${visit.patient_name || ""}`;
      if (visit.id === page.encounter_id) link.setAttribute("aria-current", "page");
      item.append(link);
      return item;
    }));
  } catch {
    // The list is a convenience beside the call; the call goes on without it.
  }
}

// Inviting someone to the call: a link for an interpreter, a family member or another
// clinician; the link is shown once, to copy; the list shows each link's role and state and
// cancels one.
async function listInvites() {
  try {
    const data = await apiRequest("GET", `/api/encounters/${page.encounter_id}/links`);
    byId("invites").replaceChildren(...data.items.map((item) => {
      const row = document.createElement("li");
      row.className = "person";
      row.dataset.linkId = String(item.id);
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = `${strings.link_roles[item.role] || ""} · ${strings.link_status[item.status] || ""}`;
      row.append(label);
      if (item.status === "active") {
        const cancel = document.createElement("button");
        cancel.type = "button";
        cancel.className = "button quiet small";
        cancel.textContent = strings.cancel_link;
        cancel.addEventListener("click", async () => {
          try {
            await apiRequest("DELETE", `/api/encounters/${page.encounter_id}/links/${item.id}`);
          } catch (err) {
            byId("invite-status").textContent = strings.error + err.message;
          }
          listInvites();
        });
        row.append(" ", cancel);
      }
      return row;
    }));
  } catch {
    // The list is a convenience; a new link can still be made.
  }
}

byId("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = byId("invite-status");
  const out = byId("invite-link");
  try {
    const made = await apiRequest("POST", `/api/encounters/${page.encounter_id}/links`,
      { role: byId("invite-role").value });
    out.value = made.family_link;
    byId("invite-made").hidden = false;
    out.focus();
    out.select();
    status.textContent = strings.link_made;
  } catch (err) {
    status.textContent = strings.error + err.message;
  }
  listInvites();
});
byId("invite-copy").addEventListener("click", async () => {
  const out = byId("invite-link");
  try {
    await navigator.clipboard.writeText(out.value);
    byId("invite-status").textContent = strings.link_copied;
  } catch {
    out.select();
  }
});

wire();
loadSession().then(() => { listToday(); loadReadings(); loadSteps(); loadDrillFeed(); listInvites(); }, () => {});

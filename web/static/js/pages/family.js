import * as ev from "../lib/events.js";
import { IceServers } from "../lib/iceservers.js";
import { PeerLink } from "../lib/peer.js";
import { ReadingQueue } from "../lib/readings.js";
import { connect, request } from "../lib/signal.js";
import { bindToggle, setBanner } from "../ui/callcontrols.js";
import { byId, readJson, say } from "../ui/dom.js";
import { showEducation } from "../ui/education.js";
import { startFamilyMessages } from "../ui/familymessages.js";
import { request as apiRequest, loadSession } from "../lib/api.js";
import { bindDevicePanel } from "../ui/devices.js";
import { buildStepForm } from "../ui/stepforms.js";
import { Tiles } from "../ui/tiles.js";
import { mergePrompts } from "../lib/drills.js";
import { markStep, renderFamilySteps, renderPrompts } from "../ui/drillpanel.js";
import { meterMicrophone, openCamera, playTestSound } from "../ui/devicecheck.js";
import { delayUntil, formatWhen, MAX_TIMER_MS } from "../lib/time.js";
import { mountSurvey } from "../ui/survey.js";
import { countSentence } from "../lib/plurals.js";
import { Recording } from "../ui/recording.js";
import { MediaSteps } from "../ui/mediastep.js";

const page = readJson("page-data");
const strings = readJson("strings");
const tiles = new Tiles(byId("remote"), strings);
tiles.onSize = (id, width, height) => { if (link) link.setTileSize(id, width, height); };
const banner = byId("connection");
let socket = null;
const mediaSteps = new MediaSteps();
const recording = new Recording(page.encounter_id, {
  request: apiRequest, timeZone: page.time_zone, lang: page.lang,
});
let link = null;
// TURN credentials are time-limited: renewed before they run out, for the next connection and
// the open one alike.
const ice = new IceServers(page.ice_servers, page.ice_servers_expire_at,
  () => apiRequest("GET", "/api/ice-servers"));
ice.onChange((servers) => { if (link) link.setIceServers(servers); });
ice.start();
let audioOnly = false;
let stream = null;
let state = "connecting"; // connecting | early | lobby | admitted | ended
let retryTimer = null;
let myId = null;
const queue = new ReadingQueue(window.localStorage, `hearth.readings.${page.encounter_id}`);
// Someone on an interpreter's or a guest clinician's link gets the call only: the page has no
// questions, readings, education, drill or survey, and opens no readings channel.
const callOnly = Boolean(page.call_only);
const devices = callOnly ? null : bindDevicePanel(byId("devices"), strings, queue, { simulatorAllowed: page.simulator });

async function localMedia() {
  if (stream) return stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  } catch {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      setBanner(banner, strings.no_camera);
    } catch {
      stream = null;
      setBanner(banner, strings.no_camera);
    }
  }
  const self = byId("self");
  self.srcObject = stream;
  self.play().catch(() => {});
  return stream;
}

function show(section) {
  for (const id of ["lobby", "too-early", "call", "ended"]) byId(id).hidden = id !== section;
}

// Too early for the waiting room: say when it opens, in the family's words and zone, keep the
// camera and sound check at hand, and try again by itself at that time.
let earlyTimer = null;
let earlyStream = null;
let stopEarlyMeter = null;

function showTooEarly(opensAt) {
  state = "early";
  show("too-early");
  const when = formatWhen(opensAt, page.time_zone, page.lang);
  byId("too-early-text").textContent = strings.too_early.replace("%(time)s", when);
  clearTimeout(earlyTimer);
  // A little after the opening, so a clock a second behind the server's is not refused again.
  // Longer waits than a timer can hold (about 24 days) are re-armed by the next refusal.
  const wait = Math.min(MAX_TIMER_MS, delayUntil(opensAt, new Date()) + 2000);
  earlyTimer = setTimeout(() => {
    earlyTimer = null;
    if (socket && socket.connected) join();
  }, wait);
}

function stopEarlyCheck() {
  if (stopEarlyMeter) stopEarlyMeter();
  stopEarlyMeter = null;
  if (earlyStream) for (const track of earlyStream.getTracks()) track.stop();
  earlyStream = null;
}

byId("early-check").addEventListener("click", async () => {
  const status = byId("early-camera-status");
  try {
    stopEarlyCheck();
    earlyStream = await openCamera(byId("early-preview"));
    say(status, strings.camera_ok, "ok");
    byId("early-results").hidden = false;
    const bar = byId("early-mic-level");
    stopEarlyMeter = meterMicrophone(earlyStream, (level) => {
      bar.style.width = `${Math.round(level * 100)}%`;
      bar.parentElement.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    });
  } catch (err) {
    say(status, err && err.name === "NotAllowedError" ? strings.camera_denied : strings.camera_missing, "error");
  }
});
byId("early-sound").addEventListener("click", () => playTestSound());

function showLobby(status) {
  show("lobby");
  const text = status && status.clinician_present === false ? strings.waiting_no_clinician : strings.waiting;
  const wait = status && status.wait_minutes ? " " + countSentence(strings.wait_minutes, status.wait_minutes, page.lang) : "";
  byId("lobby-status").textContent = text + wait;
  const note = byId("lobby-message");
  note.hidden = !(status && status.message);
  note.textContent = status && status.message ? status.message : "";
}

// A drill: the prompts so far and the plan's first steps. Prompts are pushed only to people
// in the call, so the page also re-reads them on (re)connect and every few seconds.
const DRILL_POLL_LOBBY_MS = 3000;
const DRILL_POLL_CALL_MS = 10000;
let prompts = [];
let drillStatus = null;
let drillTimer = null;

function showDrillStatus(status) {
  drillStatus = status;
  byId("drill-status").textContent = strings.drill[status] || "";
  if (!prompts.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = strings.drill.no_prompts;
    byId("prompts").replaceChildren(empty);
  }
}

async function takeStep(step, button) {
  const note = byId("step-status");
  button.disabled = true;
  try {
    await apiRequest("POST", `/api/drills/${page.drill_id}/actions`, { kind: "family_step", step: step.id });
    markStep(button, true, strings.drill);
    note.textContent = strings.drill.saved;
  } catch (err) {
    note.textContent = err.status === 409 ? strings.drill.not_running : (err.status ? err.message : strings.offline);
  } finally {
    button.disabled = false;
  }
}

let drillLoading = false;
async function loadDrill() {
  if (!page.drill_id || drillLoading) return;
  drillLoading = true;
  clearTimeout(drillTimer);
  drillTimer = null;
  try {
    const view = await apiRequest("GET", `/api/drills/${page.drill_id}/family`);
    prompts = mergePrompts(prompts, view.prompts);
    if (prompts.length) renderPrompts(byId("prompts"), prompts);
    renderFamilySteps(byId("family-steps"), view.family_steps, strings.drill, takeStep);
    showDrillStatus(view.status);
    byId("drill-panel").hidden = state === "ended";
  } catch {
    // Shown again at the next read; the call goes on without it.
  } finally {
    drillLoading = false;
  }
  if (state !== "ended" && drillStatus !== "finished" && drillStatus !== "cancelled") {
    drillTimer = setTimeout(loadDrill, state === "admitted" ? DRILL_POLL_CALL_MS : DRILL_POLL_LOBBY_MS);
  }
}

function onDrillEvent(event) {
  if (event.kind === "prompt") {
    // A pushed prompt carries its translations; the family reads it in the page's language.
    const text = (event.texts && event.texts[page.lang]) || event.text;
    prompts = mergePrompts(prompts, [{ ...event, text }]);
    renderPrompts(byId("prompts"), prompts);
  } else if (event.kind === "family_step") {
    const item = byId("family-steps").querySelector(`[data-step="${CSS.escape(String(event.step))}"] button`);
    if (item) markStep(item, true, strings.drill);
  }
}

function endWith(title, text) {
  state = "ended";
  clearTimeout(earlyTimer);
  earlyTimer = null;
  stopEarlyCheck();
  if (page.drill_id) byId("drill-panel").hidden = true;
  if (link) link.close();
  link = null;
  tiles.clear();
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  byId("ended-title").textContent = title;
  byId("ended-text").textContent = text;
  show("ended");
  if (socket) socket.disconnect();
  if (callOnly) return;
  mountSurvey(byId("survey"), readJson("survey-strings"), {
    offered: async () => (await apiRequest("GET", "/api/survey")).offered,
    answer: (answers) => apiRequest("POST", "/api/survey", { answers }),
    skip: () => apiRequest("POST", "/api/survey/skip"),
  });
}

async function loadProgress() {
  if (callOnly) return;
  try {
    const visit = await apiRequest("GET", `/api/encounters/${page.encounter_id}`);
    await checkQuestions(visit.state);
  } catch {
    // The questions also arrive with the next step event.
  }
}

async function startCall() {
  show("call");
  loadProgress();
  queue.detach();
  if (link) link.close();
  const local = await localMedia();
  // Sound only: a connection that carries no video either way, which saves the family's
  // data and the server's bandwidth (the server sends an audio-only page no video).
  const media = local && audioOnly ? new MediaStream(local.getAudioTracks()) : local;
  link = new PeerLink(socket, media, ice.list, {
    receiveVideo: !audioOnly,
    onTrack: (owner, track) => { if (owner) tiles.addTrack(owner, track); },
    onState: (pcState) => {
      if (pcState === "failed") scheduleRestart();
      if (pcState === "connected") setBanner(banner, "");
    },
    onQuality: (summary) => { byId("my-quality").textContent = strings.quality[summary.level]; },
    onChannel: callOnly ? null : (channel) => {
      channel.addEventListener("message", (event) => devices.onReply(queue.receive(event.data)));
      channel.addEventListener("close", () => queue.detach());
      queue.attach((text) => channel.send(text));
    },
  });
  try {
    await link.start();
  } catch {
    scheduleRestart();
  }
}

// aiortc has no ICE restart: after a failure the page negotiates a fresh connection.
function scheduleRestart() {
  if (state !== "admitted" || retryTimer) return;
  setBanner(banner, strings.reconnecting);
  retryTimer = setTimeout(async () => {
    retryTimer = null;
    if (state === "admitted" && socket && socket.connected) await startCall();
  }, 1500);
}

async function join() {
  try {
    const reply = await request(socket, ev.JOIN, { encounter_id: page.encounter_id });
    clearTimeout(earlyTimer);
    earlyTimer = null;
    stopEarlyCheck();
    state = reply.state;
    myId = reply.participant_id;
    if (reply.state === "admitted") await startCall();
    else showLobby(reply.lobby);
  } catch (err) {
    if (err.code === "not_found" || err.code === "session_expired") {
      endWith(strings.ended, err.message);
    } else if (err.code === "too_early" && err.details.opens_at) {
      showTooEarly(err.details.opens_at);
    } else {
      setBanner(banner, strings.offline);
      setTimeout(join, 3000);
    }
  }
}

function wire() {
  socket = connect(page.encounter_id);
  socket.on("connect", () => {
    setBanner(banner, "");
    join();
    loadDrill();
  });
  socket.on(ev.DRILL, onDrillEvent);
  socket.on("disconnect", () => {
    if (state !== "ended") setBanner(banner, strings.reconnecting);
  });
  socket.on("connect_error", (err) => {
    if (err && err.data && err.data.code === "not_logged_in") endWith(strings.ended, err.data.error);
    else setBanner(banner, strings.offline);
  });
  socket.on(ev.LOBBY_STATUS, (status) => { if (state === "lobby") showLobby(status); });
  socket.on(ev.ADMITTED, async () => {
    state = "admitted";
    await startCall();
  });
  socket.on(ev.SENT_TO_LOBBY, () => {
    state = "lobby";
    if (link) link.close();
    link = null;
    tiles.clear();
    showLobby({ message: strings.sent_to_lobby });
  });
  if (!callOnly) socket.on(ev.STEP, (data) => checkQuestions(data.state).catch(() => {}));
  socket.on(ev.RENEGOTIATE, (offer) => { if (link) link.renegotiate(offer).catch(() => scheduleRestart()); });
  socket.on(ev.MEDIA_LOST, () => scheduleRestart());
  socket.on(ev.RECORDING, (data) => recording.update(data));
  socket.on(ev.PARTICIPANTS, (roster) => mediaSteps.roster(roster, myId));
  socket.on(ev.MEDIA_STEP, (data) => mediaSteps.update(data, myId));
  socket.on("connect", () => recording.refresh());
  socket.on(ev.PARTICIPANTS, (roster) => {
    tiles.update(roster.filter((p) => p.participant_id !== myId));
  });
  socket.on(ev.DENIED, (info) => endWith(strings.ended, (info && info.message) || strings.denied));
  socket.on(ev.VISIT_ENDED, () => endWith(strings.ended, ""));
  socket.on(ev.REPLACED, () => endWith(strings.ended, strings.replaced));
}

// The symptom questions appear once the clinician has done identity and consent, and go
// away when the step is done; the answers never come back to this page.
let questionStep = null;
let readQuestions = null;
const DONE = new Set(["completed", "skipped"]);

async function checkQuestions(view) {
  const steps = new Map(((view && view.steps) || []).map((s) => [s.step, s.status]));
  const ready = view && view.status === "in_progress" && DONE.has(steps.get("identity"))
    && DONE.has(steps.get("consent")) && steps.get("assessment") === "open";
  const box = byId("questions");
  if (!ready) {
    box.hidden = true;
    return;
  }
  if (!questionStep) {
    const template = await apiRequest("GET", `/api/templates/${page.template}`);
    questionStep = template.steps.find((s) => s.kind === "assessment" && (s.who === "either" || s.who === "family"));
    if (!questionStep) return;
  }
  if (box.hidden) {
    const { form, read } = buildStepForm(questionStep, null, strings, {}, { familyOnly: true });
    readQuestions = read;
    byId("question-form").replaceChildren(form);
    box.hidden = false;
  }
}

if (!callOnly) byId("send-answers").addEventListener("click", async () => {
  const status = byId("question-status");
  try {
    await apiRequest("POST", `/api/encounters/${page.encounter_id}/events`,
      { type: "complete", step: questionStep.id, answers: readQuestions() });
    status.textContent = strings.answers_sent;
    byId("questions").hidden = true;
  } catch (err) {
    status.textContent = err.status === 422 ? `${strings.answers_missing} (${err.message})` : err.message;
  }
});

bindToggle(byId("mute"), strings.mute, strings.unmute, (muted) => link && link.setSending("audio", !muted));
bindToggle(byId("camera"), strings.stop_camera, strings.start_camera, (off) => link && link.setSending("video", !off));
bindToggle(byId("audio-only"), strings.sound_only, strings.video_on, (on) => {
  audioOnly = on;
  tiles.hideVideo(on);
  // A new connection in the new shape; the call continues on it within a second or two.
  if (state === "admitted" && socket && socket.connected) startCall().catch(() => scheduleRestart());
});
byId("leave").addEventListener("click", async () => {
  try { await request(socket, ev.LEAVE, {}); } catch { /* leaving anyway */ }
  endWith(strings.ended, strings.left);
});

// The session's CSRF token comes first: answers and readings are writes.
loadSession().finally(() => {
  // The topics the team gave, readable offline; marks are writes of this visit's session.
  if (!callOnly) showEducation(page, `visit.${page.encounter_id}`, (mark) =>
    apiRequest("POST", `/api/education/assignments/${mark.assignment_id}/${mark.kind}`, {}));
  // The thread with the care team (the page of a call-only guest has none).
  startFamilyMessages({ call: apiRequest, lang: page.lang, zone: page.time_zone });
  wire();
});

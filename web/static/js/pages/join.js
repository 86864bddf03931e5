import { ApiFailure, request } from "../lib/api.js";
import { networkVerdict } from "../lib/quality.js";
import { meterMicrophone, openCamera, playTestSound } from "../ui/devicecheck.js";
import { busy, byId, readJson, say } from "../ui/dom.js";

const page = readJson("page-data");
const strings = readJson("strings");
const form = byId("join-form");
const message = byId("join-message");
let stream = null;
let stopMeter = null;

// Round trips to our own server and one small download: enough for a plain verdict.
async function checkNetwork() {
  const rtts = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    const response = await fetch("/livez", { cache: "no-store" });
    await response.text();
    rtts.push(performance.now() - started);
  }
  const started = performance.now();
  const response = await fetch("/api/network-check", { cache: "no-store" });
  const bytes = (await response.arrayBuffer()).byteLength;
  const seconds = Math.max(0.001, (performance.now() - started) / 1000);
  const kbps = (bytes * 8) / 1000 / seconds;
  return networkVerdict(rtts, kbps);
}

function showNameStep() {
  byId("name-step").hidden = false;
}

byId("start-check").addEventListener("click", async () => {
  const status = byId("camera-status");
  try {
    stream = await openCamera(byId("preview"));
    say(status, strings.camera_ok, "ok");
    byId("check-results").hidden = false;
    const bar = byId("mic-level");
    stopMeter = meterMicrophone(stream, (level) => {
      bar.style.width = `${Math.round(level * 100)}%`;
      bar.parentElement.setAttribute("aria-valuenow", String(Math.round(level * 100)));
    });
    byId("start-check").hidden = true;
  } catch (err) {
    say(status, err && err.name === "NotAllowedError" ? strings.camera_denied : strings.camera_missing, "error");
  }
  showNameStep();
  const net = byId("network-status");
  byId("check-results").hidden = false;
  try {
    const result = await checkNetwork();
    say(net, strings.net[result.verdict], result.verdict === "weak" ? "error" : "ok");
    sessionStorage.setItem("hearth.network", result.verdict);
  } catch {
    say(net, strings.net.failed, "error");
  }
});

byId("test-sound").addEventListener("click", () => playTestSound());

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
    // An interpreter's or a guest clinician's link opens the call-only page.
    const session = await request("GET", "/api/session");
    // A reload of the visit page must not send the family back through the check.
    sessionStorage.setItem("hearth.deviceCheck", "done");
    if (stopMeter) stopMeter();
    if (stream) for (const track of stream.getTracks()) track.stop();
    // The token leaves the address bar and the history once it has been exchanged,
    // so a shared or borrowed device does not keep a working link.
    window.location.replace(session.kind === "guest" ? "/call" : "/family");
  } catch (err) {
    const text = err instanceof ApiFailure && err.status !== 0 ? err.message : strings.offline;
    say(message, text, "error");
  } finally {
    busy(button, false);
  }
});

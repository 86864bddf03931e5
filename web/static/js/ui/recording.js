// Recording with consent (issue 20), on every page of the call: the banner while a recording
// runs (both sides), the withdraw button for the family and anyone else in the call, and on
// the clinician's page the start/stop control and the visit's recordings with a player.
// The page hands over its socket's "recording" events through update(); the server is the
// only judge of consent: a refused start says why, in the person's language. The page
// hands over its API request function (ui modules leave the network to the pages).
import { formatStamp } from "../lib/time.js";
import { byId, readJson } from "./dom.js";

export class Recording {
  constructor(encounterId, { request, staff = false, timeZone, lang } = {}) {
    this.request = request;
    this.encounterId = encounterId;
    this.staff = staff;
    this.timeZone = timeZone;
    this.lang = lang;
    this.strings = readJson("recording-strings");
    this.banner = byId("recording-banner");
    this.toggle = byId("recording-toggle");
    this.message = byId("recording-message");
    this.list = byId("recordings");
    this.active = false;
    // Players opened in the list, by recording and part: the list is drawn again whenever a
    // recording stops (the stop's answer and the room's event both ask), and a part someone
    // is watching must stay where it is, still playing.
    this.players = new Map();
    const withdraw = byId("recording-withdraw");
    if (withdraw) withdraw.addEventListener("click", () => this.withdraw());
    if (this.toggle) this.toggle.addEventListener("click", () => this.startOrStop());
  }

  // Asks the server once (a page opened while a recording runs shows the banner at once).
  async refresh() {
    if (!this.banner) return;
    try {
      const status = await this.request("GET", `/api/encounters/${this.encounterId}/recording`);
      this.show(status.recording);
    } catch {
      // The next "recording" event corrects it.
    }
    if (this.staff) await this.load();
  }

  // A "recording" event from the visit's room: {active, reason?}.
  update(data) {
    if (!data) return;
    this.show(Boolean(data.active));
    if (this.message) {
      const text = data.active ? this.strings.started
        : data.reason === "withdrawn" ? this.strings.withdrawn : this.strings.stopped;
      this.say(text);
    }
    if (this.staff && !data.active) this.load();
  }

  show(active) {
    this.active = active;
    if (this.banner) this.banner.hidden = !active;
    if (this.toggle) {
      this.toggle.textContent = active ? this.strings.stop : this.strings.start;
      this.toggle.setAttribute("aria-pressed", String(active));
      this.toggle.classList.toggle("danger", active);
    }
  }

  say(text) {
    if (this.message) this.message.textContent = text || "";
  }

  failure(err) {
    const known = this.strings.codes && this.strings.codes[err.code];
    return known || this.strings.error + (err.message || "");
  }

  async startOrStop() {
    const verb = this.active ? "stop" : "start";
    this.toggle.disabled = true;
    try {
      await this.request("POST", `/api/encounters/${this.encounterId}/recording/${verb}`);
      this.show(verb === "start");
      this.say(verb === "start" ? this.strings.started : this.strings.stopped);
      if (verb === "stop") await this.load();
    } catch (err) {
      this.say(this.failure(err));
    } finally {
      this.toggle.disabled = false;
    }
  }

  async withdraw() {
    if (!window.confirm(this.strings.confirm_withdraw)) return;
    try {
      await this.request("POST", `/api/encounters/${this.encounterId}/recording/withdraw`);
      this.show(false);
      const note = this.banner && this.banner.parentNode ? this.banner : null;
      if (note) {
        note.hidden = false;
        note.querySelector(".recording-text").textContent = this.strings.withdraw_done;
        const button = byId("recording-withdraw");
        if (button) button.hidden = true;
        note.classList.add("done");
      }
    } catch (err) {
      if (this.banner) this.banner.querySelector(".recording-text").textContent = this.failure(err);
    }
  }

  async load() {
    if (!this.list) return;
    let found;
    try {
      found = await this.request("GET", `/api/encounters/${this.encounterId}/recordings`);
    } catch (err) {
      this.say(this.failure(err));
      return;
    }
    this.show(found.recording);
    this.list.replaceChildren(...found.recordings.map((r) => this.item(r)));
    if (!found.recordings.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = this.strings.no_recordings;
      this.list.append(empty);
    }
  }

  item(recording) {
    const s = this.strings;
    const li = document.createElement("li");
    const head = document.createElement("p");
    const when = formatStamp(recording.started_at, this.timeZone, this.lang);
    const state = recording.running ? s.recording_now
      : recording.deleted ? s.deleted
        : [s.reasons[recording.stop_reason] || "",
          recording.delete_after ? `${s.kept_until} ${formatStamp(recording.delete_after, this.timeZone, this.lang)}` : ""]
          .filter(Boolean).join(" · ");
    head.textContent = `${when} · ${state}`;
    li.append(head);
    const parts = document.createElement("ul");
    parts.className = "parts";
    for (const part of recording.parts) {
      const item = document.createElement("li");
      const key = `${recording.id}/${part.index}`;
      const open = this.players.get(key);
      if (open) {
        item.append(open);
        parts.append(item);
        continue;
      }
      const play = document.createElement("button");
      play.type = "button";
      play.className = "button small";
      const who = s.roles[part.role] || s.roles.participant;
      play.textContent = `${s.play}: ${who}`;
      play.addEventListener("click", () => {
        // Each play is one request, audited by the server; the file is decrypted as it is sent.
        const video = document.createElement("video");
        video.controls = true;
        video.preload = "auto";
        video.setAttribute("aria-label", who);
        video.src = `/api/recordings/${recording.id}/parts/${part.index}`;
        this.players.set(key, video);
        play.replaceWith(video);
        video.play().catch(() => {});
      });
      item.append(play);
      parts.append(item);
    }
    li.append(parts);
    return li;
  }
}

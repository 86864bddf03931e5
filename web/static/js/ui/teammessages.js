// The care team's view of a family's thread (issue 18): read, answer, read receipts both ways.
// Used on the patient's page and the alert console; both re-read it when Socket.IO says the
// thread changed (FAMILY_MESSAGE), so a new message shows without reloading. The page does the
// talking: `call(method, path, body)` is lib/api.js's request.
import { newClientId } from "../lib/diaryqueue.js";
import { formatStamp } from "../lib/time.js";
import { byId, readJson, say } from "./dom.js";

export class TeamThread {
  constructor(container, patientId, { call, lang = "en", zone } = {}) {
    this.call = call;
    this.strings = readJson("team-message-strings");
    this.patientId = patientId;
    this.lang = lang;
    this.zone = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;
    const panel = byId("team-thread-template").content.firstElementChild.cloneNode(true);
    container.append(panel);
    this.panel = panel;
    this.list = panel.querySelector(".message-thread");
    this.status = panel.querySelector(".thread-status");
    this.form = panel.querySelector(".reply-form");
    this.pending = null; // an answer being sent: the same client id if it is tried again
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.reply();
    });
  }

  get path() {
    return `/api/patients/${this.patientId}/messages`;
  }

  when(iso) {
    return formatStamp(iso, this.zone, this.lang);
  }

  line(cls, text) {
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    return p;
  }

  item(m) {
    const s = this.strings;
    const li = document.createElement("li");
    li.className = `message-item from-${m.sender}`;
    li.dataset.messageId = String(m.id);
    const via = m.via === "diary" ? s.viaDiary : m.via === "visit" ? s.viaVisit : "";
    const who = m.sender === "family" ? [m.author || s.family, via].filter(Boolean).join(", ") : m.author || "";
    li.append(this.line("message-head muted", `${who} · ${this.when(m.received_at)}`));
    const text = this.line("message-text", m.text);
    text.dir = "auto";
    li.append(text);
    if (m.red_flags && m.red_flags.length) li.append(this.line("message-flags", `${s.flags} ${m.red_flags.join(", ")}`));
    if (m.after_hours) li.append(this.line("muted", s.afterHours + (m.alert_id ? ` ${s.alert}` : "")));
    let receipt;
    if (m.sender === "family") {
      receipt = m.read_at ? s.readBy.replace("%(name)s", m.read_by || "").replace("%(time)s", this.when(m.read_at)) : s.unreadByTeam;
    } else {
      receipt = m.read_at ? s.readByFamily.replace("%(time)s", this.when(m.read_at)) : s.unreadByFamily;
    }
    li.append(this.line("receipt muted", receipt));
    return li;
  }

  async load() {
    // Loads overlap (a push, an answer sent): only the latest one draws.
    this.asked = (this.asked || 0) + 1;
    const mine = this.asked;
    try {
      const thread = await this.call("GET", this.path);
      if (mine !== this.asked) return;
      const items = thread.items.map((m) => this.item(m));
      if (!items.length) {
        const empty = document.createElement("li");
        empty.className = "muted";
        empty.textContent = this.strings.none;
        items.push(empty);
      }
      this.list.replaceChildren(...items);
      // A person has the thread on screen: the family's messages are read (their receipt).
      const unread = thread.items.filter((m) => m.sender === "family" && !m.read_at);
      if (unread.length) {
        await this.call("POST", `${this.path}/read`, { up_to_id: Math.max(...unread.map((m) => m.id)) });
      }
    } catch (err) {
      say(this.status, err && err.status ? err.message : this.strings.offline, "error");
    }
  }

  async reply() {
    const box = this.form.elements.text;
    const text = box.value.trim();
    if (!text) {
      say(this.status, this.strings.empty, "error");
      box.focus();
      return;
    }
    if (!this.pending || this.pending.text !== text) this.pending = { client_id: newClientId(), text };
    try {
      await this.call("POST", this.path, this.pending);
      this.pending = null;
      box.value = "";
      say(this.status, this.strings.sent, "ok");
      await this.load();
    } catch (err) {
      say(this.status, err && err.status ? err.message : this.strings.offline, "error");
    }
  }
}

// The alert console's list of families who wrote and are not read yet; a thread opened from
// it stays open (and current) after it is read, until the coordinator closes it.
export function watchUnreadThreads(list, status, { call, lang = "en", zone } = {}) {
  const strings = readJson("team-message-strings");
  const open = new Map(); // patient id -> { li, thread }
  const timeZone = zone || Intl.DateTimeFormat().resolvedOptions().timeZone;

  function row(patientId, name, unread, newestAt) {
    const kept = open.get(patientId);
    const li = kept ? kept.li : document.createElement("li");
    li.dataset.patientId = String(patientId);
    let head = li.querySelector(".thread-head");
    if (!head) {
      head = document.createElement("p");
      head.className = "thread-head";
      li.prepend(head);
    }
    const parts = [name];
    if (unread) parts.push(`${unread} ${strings.newMessages} · ${formatStamp(newestAt, timeZone, lang)}`);
    head.textContent = parts.join(" · ");
    let toggle = li.querySelector(".thread-toggle");
    if (!toggle) {
      toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "button thread-toggle";
      toggle.addEventListener("click", () => {
        const current = open.get(patientId);
        if (current) {
          current.thread.panel.remove();
          open.delete(patientId);
          toggle.textContent = strings.open;
          toggle.setAttribute("aria-expanded", "false");
          refresh();
          return;
        }
        const thread = new TeamThread(li, patientId, { call, lang, zone: timeZone });
        open.set(patientId, { li, thread, name });
        toggle.textContent = strings.close;
        toggle.setAttribute("aria-expanded", "true");
        thread.load();
      });
      toggle.textContent = strings.open;
      toggle.setAttribute("aria-expanded", "false");
      head.after(toggle);
    }
    return li;
  }

  async function refresh() {
    try {
      const data = await call("GET", "/api/messages/unread");
      const rows = data.items.map((t) => row(t.patient_id, t.patient_name, t.unread, t.newest_at));
      const listed = new Set(data.items.map((t) => t.patient_id));
      for (const [patientId, kept] of open) if (!listed.has(patientId)) rows.push(row(patientId, kept.name, 0, null));
      list.replaceChildren(...rows);
      say(status, rows.length ? "" : strings.noUnread);
    } catch (err) {
      say(status, err && err.status ? err.message : strings.offline, "error");
    }
  }

  return {
    refresh,
    changed(data) {
      const kept = data && open.get(data.patient_id);
      if (kept) kept.thread.load();
      refresh();
    },
  };
}

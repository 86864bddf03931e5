// The family's diary link on the care plan page: whether one works, make one (shown once,
// with its QR code to scan and a copy button; making a new one stops the old), or stop it.
// The API keeps only a keyed hash of each link, so a link is never shown again. Text only:
// the QR code is an <img> of the server's SVG, never inserted as markup. The page hands in
// `links` (list, make, stop), the calls to the server; this module only draws and listens.
import { formatStamp } from "../lib/time.js";
import { busy, byId, say } from "./dom.js";

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

export function wireDiaryLink({ links: server, timeZone, lang, strings, onError }) {
  const state = byId("diary-link-state");
  const status = byId("diary-link-status");
  const issue = byId("diary-link-issue");
  const revoke = byId("diary-link-revoke");
  const out = byId("diary-link-out");
  const url = byId("diary-link-url");
  const qr = byId("diary-link-qr");
  let links = [];
  const when = (iso) => formatStamp(iso, timeZone, lang);

  function show() {
    const current = links[0];
    if (current) {
      const parts = [fill(strings.working, { made: when(current.created_at), expires: when(current.expires_at) })];
      if (current.created_by_name) parts.push(fill(strings.by, { name: current.created_by_name }));
      if (current.last_used_at) parts.push(fill(strings.usedAt, { used: when(current.last_used_at) }));
      state.textContent = parts.join(" ");
    } else {
      state.textContent = strings.none;
    }
    issue.textContent = current ? strings.reissue : strings.issue;
    revoke.hidden = !current;
  }

  async function load() {
    links = (await server.list()).items;
    show();
  }

  issue.addEventListener("click", async () => {
    busy(issue, true);
    try {
      const made = await server.make();
      qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(made.qr_svg)}`;
      url.value = made.diary_link;
      out.hidden = false;
      await load();
      say(status, strings.made, "ok");
      url.focus();
      url.select();
    } catch (err) {
      onError(err, status);
    } finally {
      busy(issue, false);
    }
  });

  revoke.addEventListener("click", async () => {
    busy(revoke, true);
    try {
      for (const link of links) await server.stop(link.id);
      out.hidden = true;
      url.value = "";
      qr.removeAttribute("src");
      await load();
      say(status, strings.stopped, "ok");
      issue.focus();
    } catch (err) {
      onError(err, status);
    } finally {
      busy(revoke, false);
    }
  });

  byId("diary-link-copy").addEventListener("click", async () => {
    url.select();
    try {
      await navigator.clipboard.writeText(url.value);
      say(status, strings.copied, "ok");
    } catch {
      // No clipboard permission: the link is selected for the person to copy.
    }
  });

  return load;
}

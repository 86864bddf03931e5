// The family's diary offline (served as /diary-sw.js, scope /diary/). What it keeps, in one
// Cache Storage cache on the family's device:
//  - the diary page, under the fixed key "/diary/" and with the link's token taken out of it:
//    the token is never a cache key and never stored by this worker. Opened offline, the page
//    reads the token back from its own address (which the family already has).
//  - the page's static files (/static/…: styles, scripts), which hold nothing about anyone.
// Online, every opening of a diary link asks the server first: a page that comes back is
// kept (token removed); a link that no longer works (404, 410) drops the kept page, so a
// revoked link stops opening offline at the next visit online. API calls are never cached:
// entries made offline wait in the page's own queue (lib/diaryqueue.js).

const CACHE = "hearth-diary-v1";
const PAGE_KEY = "/diary/";
const GONE = new Set([401, 403, 404, 410]);

function tokenOf(url) {
  const parts = new URL(url).pathname.split("/").filter(Boolean);
  return parts.length === 2 && parts[0] === "diary" ? parts[1] : null;
}

// The page without its token: the same headers (its CSP among them), no caching by the browser.
async function tokenFree(response, url) {
  const token = tokenOf(url);
  let text = await response.text();
  if (token) text = text.split(token).join("").split(encodeURIComponent(token)).join("");
  const headers = new Headers(response.headers);
  headers.set("Cache-Control", "no-store");
  return new Response(text, { status: 200, headers });
}

async function remember(url, response) {
  const cache = await caches.open(CACHE);
  if (response.status === 200) await cache.put(PAGE_KEY, await tokenFree(response, url));
  else if (GONE.has(response.status)) await cache.delete(PAGE_KEY);
}

async function openPage(request) {
  try {
    const response = await fetch(request);
    // Only a link's own answer says whether that link still works.
    if (tokenOf(request.url)) await remember(request.url, response.clone());
    return response;
  } catch {
    const kept = await caches.match(PAGE_KEY);
    if (kept) return kept;
    return new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
}

async function staticFile(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  const fresh = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(request, response.clone());
    return response;
  });
  if (kept) {
    fresh.catch(() => null);
    return kept;
  }
  return fresh;
}

// The first opening is not yet through this worker: the page lists what it loaded.
async function keep({ page, assets }) {
  const cache = await caches.open(CACHE);
  const own = (url) => new URL(url).origin === self.location.origin && new URL(url).pathname.startsWith("/static/");
  await Promise.all(assets.filter(own).map(async (url) => {
    const response = await fetch(url);
    if (response.ok) await cache.put(url, response);
  }).map((p) => p.catch(() => null)));
  if (tokenOf(page)) await remember(page, await fetch(page, { credentials: "same-origin" }));
}

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith("hearth-diary-") && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "keep") {
    event.waitUntil(keep(event.data).then(() => event.source && event.source.postMessage({ type: "kept" })));
  }
});
self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith("/diary/")) event.respondWith(openPage(request));
  else if (url.pathname.startsWith("/static/")) event.respondWith(staticFile(request));
});

// The diary's offline queue: entries wait in storage until the clinic has them. DOM-free.
// Each entry carries a client id, so sending one twice (a reply lost on a bad line) stores
// it once; an entry leaves the queue only when the server has answered for it. The family's
// messages to the team wait the same way, under their own key (MESSAGES_KEY).

export const QUEUE_KEY = "hearth.diary.queue";
export const MESSAGES_KEY = "hearth.messages.queue";

export function newClientId(cryptoObj = globalThis.crypto) {
  return cryptoObj.randomUUID();
}

export function loadQueue(storage, key = QUEUE_KEY) {
  try {
    const items = JSON.parse(storage.getItem(key) || "[]");
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function saveQueue(storage, items, key) {
  storage.setItem(key, JSON.stringify(items));
}

export function enqueue(storage, entry, key = QUEUE_KEY) {
  const items = loadQueue(storage, key);
  items.push(entry);
  saveQueue(storage, items, key);
  return items.length;
}

// Sends every queued entry in order with `send(entry)`, which resolves when stored and
// rejects with {status, code, message}. Unreachable (status 0), 429 and 5xx keep the entry
// for the next try; any other refusal drops it (resending cannot help) and is reported.
export async function flush(storage, send, key = QUEUE_KEY) {
  const refused = [];
  let sent = 0;
  for (const entry of loadQueue(storage, key)) {
    try {
      await send(entry);
      sent += 1;
    } catch (err) {
      const status = err && typeof err.status === "number" ? err.status : 0;
      if (status === 0 || status === 429 || status >= 500) {
        return { sent, refused, pending: loadQueue(storage, key).length };
      }
      refused.push({ entry, status, code: err.code, message: err.message });
    }
    saveQueue(storage, loadQueue(storage, key).filter((e) => e.client_id !== entry.client_id), key);
  }
  return { sent, refused, pending: loadQueue(storage, key).length };
}

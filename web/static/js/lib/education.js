// The family's education topics kept on the device, so they can be read without a connection
// once a page has loaded them, and the "opened" / "question" marks waiting to be sent.
// DOM-free: the storage is passed in (localStorage in the browser, a Map-like fake in tests).

const PREFIX = "hearth.education.";

export function storageKey(scope) {
  return `${PREFIX}${scope}`;
}

export function saveTopics(storage, scope, topics) {
  try {
    storage.setItem(storageKey(scope), JSON.stringify(topics));
  } catch {
    // A full or disabled storage only loses the offline copy; the page still shows them.
  }
}

export function loadTopics(storage, scope) {
  try {
    const text = storage.getItem(storageKey(scope));
    const value = text ? JSON.parse(text) : null;
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

// The page's own list when it came from the server; else the copy kept from the last visit.
export function topicsToShow(fromPage, stored) {
  return Array.isArray(fromPage) ? fromPage : stored;
}

export function loadPending(storage, scope) {
  try {
    const value = JSON.parse(storage.getItem(`${storageKey(scope)}.pending`) || "[]");
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

export function savePending(storage, scope, marks) {
  try {
    storage.setItem(`${storageKey(scope)}.pending`, JSON.stringify(marks));
  } catch {
    // As above: only the retry is lost.
  }
}

// Adds a mark once: opening a topic three times offline is one "opened" to send, not three.
export function addPending(marks, mark) {
  const same = (m) => m.assignment_id === mark.assignment_id && m.kind === mark.kind;
  return marks.some(same) ? marks : [...marks, mark];
}

// Sends each waiting mark; keeps the ones that could not be sent for lack of a connection.
// A refusal from the server (a topic no longer given, a link revoked) drops the mark.
export async function sendPending(marks, send) {
  const left = [];
  for (const mark of marks) {
    try {
      await send(mark);
    } catch (error) {
      if (!error || error.status === undefined || error.status === 0) left.push(mark);
    }
  }
  return left;
}

// Talking to Hearth's JSON API. DOM-free, so it can be tested with `node --test`.
// Every request has a timeout: a person must never watch a button that does nothing.

export const DEFAULT_TIMEOUT_MS = 10000;

export class ApiFailure extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.field = field; // the request field the server refused, when it names one
  }
}

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export async function request(method, path, body, { timeoutMs = DEFAULT_TIMEOUT_MS, fetchFn = fetch } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csrfToken && method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetchFn(path, {
      method, headers, credentials: "same-origin", signal: controller.signal,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, "unreachable", "unreachable");
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = data && data.code ? data.code : "http_" + response.status;
    const message = data && data.error ? data.error : "HTTP " + response.status;
    throw new ApiFailure(response.status, code, message, data && data.field ? data.field : null);
  }
  return data;
}

// Loads the session (and with it the CSRF token); null when nobody is signed in.
export async function loadSession(options) {
  try {
    const session = await request("GET", "/api/session", undefined, options);
    setCsrfToken(session.csrf_token);
    return session;
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) return null;
    throw err;
  }
}

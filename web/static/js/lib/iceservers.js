// The ICE servers a visit page hands its peer connections. They come with the page, and their
// TURN credential is time-limited: renew it from GET /api/ice-servers before it runs out, so a
// long visit (or a reconnect late in one) still has a working TURN server. DOM-free.

// Renew this long before expiry, or halfway through a shorter lifetime.
export const RENEW_MARGIN_MS = 5 * 60 * 1000;
// After a failed renewal, try again this soon (the old credential may still hold a while).
export const RETRY_MS = 30 * 1000;
const MIN_WAIT_MS = 1000;

// Milliseconds from now until the credential expiring at expiresAt should be renewed; null if
// there is nothing to renew.
export function renewDelay(expiresAt, now) {
  if (!expiresAt) return null;
  const left = new Date(expiresAt).getTime() - now.getTime();
  const margin = Math.min(RENEW_MARGIN_MS, left / 2);
  return Math.max(MIN_WAIT_MS, left - margin);
}

export class IceServers {
  // fetchServers(): resolves to {ice_servers, expires_at} (the API's answer).
  constructor(servers, expiresAt, fetchServers, { now = () => new Date(), setTimer = setTimeout, clearTimer = clearTimeout } = {}) {
    this.list = servers || [];
    this.expiresAt = expiresAt || null;
    this.fetchServers = fetchServers;
    this.now = now;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.timer = null;
    this.listeners = [];
  }

  // fn(list) after every renewal, e.g. to give an open connection the new credential.
  onChange(fn) {
    this.listeners.push(fn);
  }

  start() {
    this.schedule(renewDelay(this.expiresAt, this.now()));
  }

  stop() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  schedule(delay) {
    this.stop();
    if (delay === null) return;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.renew();
    }, delay);
  }

  async renew() {
    try {
      const fresh = await this.fetchServers();
      this.list = fresh.ice_servers || [];
      this.expiresAt = fresh.expires_at || null;
      for (const fn of this.listeners) fn(this.list);
      this.schedule(renewDelay(this.expiresAt, this.now()));
    } catch (err) {
      // Signed out or refused: nothing to renew for. Unreachable: try again soon.
      if (err && (err.status === 401 || err.status === 403)) return;
      this.schedule(RETRY_MS);
    }
  }
}

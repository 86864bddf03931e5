// Readings from the family's side: ids, units, the resend queue and the simulator. DOM-free.

export const UNITS = {
  spo2: "%", heart_rate: "/min", blood_pressure: "mm[Hg]", temperature: "Cel", weight: "kg",
  respiratory_rate: "/min", glucose: "mmol/L",
};

export function newId() {
  if (globalThis.crypto && globalThis.crypto.randomUUID) return globalThis.crypto.randomUUID();
  return `r-${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// Glucose may be typed in mmol/L or mg/dL, as the family's meter shows it.
export function manualMessage(kind, value, now = new Date(), unit = UNITS[kind]) {
  return { id: newId(), kind, value, unit, taken_at: now.toISOString(), source: "manual" };
}

function base64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

// `context`: a glucose meter's Measurement Context (0x2A34) for this measurement, if it sent one.
export function bleMessage(characteristic, bytes, now = new Date(), device = null, context = null) {
  const message = { id: newId(), source: "ble", gatt: characteristic, data: base64(bytes), taken_at: now.toISOString() };
  if (context) message.context = base64(context);
  if (device) message.device = { model: device.name || "", id: device.id || "" };
  return message;
}

// Messages wait here until the server acknowledges them; after a reconnect everything not yet
// acknowledged is sent again. The server stores a resent id once, so nothing is doubled.
export class ReadingQueue {
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    this.pending = new Map(JSON.parse((storage && storage.getItem(key)) || "[]").map((m) => [m.id, m]));
    this.send = null;
  }

  save() {
    if (this.storage) this.storage.setItem(this.key, JSON.stringify([...this.pending.values()]));
  }

  attach(send) {
    this.send = send;
    for (const message of this.pending.values()) send(JSON.stringify(message));
  }

  detach() {
    this.send = null;
  }

  add(message) {
    this.pending.set(message.id, message);
    this.save();
    if (this.send) this.send(JSON.stringify(message));
  }

  // Returns {status: "ack"|"nack", id, code, error} for a server reply, or null.
  receive(text) {
    let reply;
    try {
      reply = JSON.parse(text);
    } catch {
      return null;
    }
    if (reply.ack) {
      this.pending.delete(reply.ack);
      this.save();
      return { status: "ack", id: reply.ack };
    }
    if ("nack" in reply) {
      // A refused reading would be refused again: drop it and tell the person why.
      if (reply.nack) this.pending.delete(reply.nack);
      this.save();
      return { status: "nack", id: reply.nack, code: reply.code, error: reply.error };
    }
    return null;
  }
}

// A small deterministic random source, so a drill's stream can be replayed.
export function seeded(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    return ((state >>> 0) % 100000) / 100000;
  };
}

// Realistic home readings: SpO2 around 95 % with sensor noise and, optionally, a fall to 84 %
// over three minutes; pulse around 84 rising as SpO2 falls; breathing 16 rising to 28.
export function simulate(secondsSinceStart, { desaturate = false, random = Math.random } = {}) {
  const fall = desaturate ? Math.min(1, secondsSinceStart / 180) : 0;
  const noise = () => (random() - 0.5) * 2;
  const spo2 = Math.round(Math.min(100, 95 - 11 * fall + noise()));
  const pulse = Math.round(84 + 26 * fall + noise() * 3);
  const breathing = Math.round(16 + 12 * fall + noise());
  return { spo2, heart_rate: pulse, respiratory_rate: breathing };
}

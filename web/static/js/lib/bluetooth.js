// Web Bluetooth for the standard health devices: the raw characteristic value goes to the
// server as base64, which decodes it (encounters/gatt.py). Chrome on Android, Windows, macOS
// and ChromeOS have Web Bluetooth; Safari, iOS and Firefox do not
// (every iOS browser is WebKit), so those families type their readings.

export const DEVICES = {
  pulse_oximeter: { service: 0x1822, characteristics: [0x2a5f, 0x2a5e] },
  blood_pressure: { service: 0x1810, characteristics: [0x2a35] },
  thermometer: { service: 0x1809, characteristics: [0x2a1c] },
  scale: { service: 0x181d, characteristics: [0x2a9d] },
  heart_rate: { service: 0x180d, characteristics: [0x2a37] },
  // Glucose Measurement, its Context, and the Record Access Control Point that asks for records.
  glucose_meter: { service: 0x1808, characteristics: [0x2a18, 0x2a34], racp: 0x2a52 },
};
// RACP "report stored records", operator "last record": the newest measurement, not the
// meter's whole memory (older records would arrive stamped with today's time).
const RACP_REPORT_LAST_RECORD = [0x01, 0x06];
// A meter sends the context right after its measurement; one that never comes is not waited for.
export const CONTEXT_WAIT_MS = 2000;

// Joins each Glucose Measurement (0x2A18) to its Context (0x2A34) by sequence number, so the
// server gets both in one message. A measurement whose flags announce no context goes at once.
export class GlucoseJoiner {
  constructor(emit, { wait = CONTEXT_WAIT_MS, timers = globalThis } = {}) {
    this.emit = emit;
    this.wait = wait;
    this.timers = timers;
    this.pending = new Map(); // sequence number -> {bytes, timer}
  }

  static sequence(bytes) {
    return bytes.length >= 3 ? bytes[1] | (bytes[2] << 8) : null;
  }

  measurement(bytes) {
    const sequence = GlucoseJoiner.sequence(bytes);
    const announcesContext = bytes.length > 0 && (bytes[0] & 0x10) !== 0;
    if (sequence === null || !announcesContext) {
      this.emit(bytes, null);
      return;
    }
    const timer = this.timers.setTimeout(() => this.flush(sequence), this.wait);
    this.pending.set(sequence, { bytes, timer });
  }

  context(bytes) {
    const sequence = GlucoseJoiner.sequence(bytes);
    const waiting = this.pending.get(sequence);
    if (!waiting) return; // a context without its measurement says nothing on its own
    this.timers.clearTimeout(waiting.timer);
    this.pending.delete(sequence);
    this.emit(waiting.bytes, bytes);
  }

  flush(sequence) {
    const waiting = this.pending.get(sequence);
    if (!waiting) return;
    this.pending.delete(sequence);
    this.emit(waiting.bytes, null);
  }
}

export function hasBluetooth(nav = globalThis.navigator) {
  return Boolean(nav && nav.bluetooth && nav.bluetooth.requestDevice);
}

function hex(uuid) {
  return uuid.toString(16).padStart(4, "0");
}

// Must be called from a click: the browser shows its own device chooser.
export async function pairDevice(kind, onValue, nav = globalThis.navigator) {
  const spec = DEVICES[kind];
  const device = await nav.bluetooth.requestDevice({ filters: [{ services: [spec.service] }] });
  const server = await device.gatt.connect();
  const service = await server.getPrimaryService(spec.service);
  const joiner = new GlucoseJoiner((bytes, context) => onValue("2a18", bytes, device, context));
  // GATT operations cannot run in parallel on many devices: subscribe one at a time.
  for (const uuid of spec.characteristics) {
    let characteristic;
    try {
      characteristic = await service.getCharacteristic(uuid);
    } catch {
      continue;
    }
    characteristic.addEventListener("characteristicvaluechanged", (event) => {
      const view = event.target.value;
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      if (uuid === 0x2a18) joiner.measurement(bytes);
      else if (uuid === 0x2a34) joiner.context(bytes);
      else onValue(hex(uuid), bytes, device, null);
    });
    await characteristic.startNotifications();
  }
  if (spec.racp) {
    const racp = await service.getCharacteristic(spec.racp);
    await racp.startNotifications(); // the meter indicates the request's outcome here
    await racp.writeValue(new Uint8Array(RACP_REPORT_LAST_RECORD));
  }
  return device;
}

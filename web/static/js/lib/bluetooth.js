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
};

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
      onValue(hex(uuid), new Uint8Array(view.buffer, view.byteOffset, view.byteLength), device);
    });
    await characteristic.startNotifications();
  }
  return device;
}

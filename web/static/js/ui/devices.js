// The family's "Add a reading" panel: Web Bluetooth where the browser has it, large manual
// entry everywhere, and the simulator in demos and drills.
import { DEVICES, hasBluetooth, pairDevice } from "../lib/bluetooth.js";
import { bleMessage, manualMessage, simulate } from "../lib/readings.js";

const SIMULATOR_INTERVAL_MS = 2000;

export function bindDevicePanel(root, strings, queue, { simulatorAllowed }) {
  const status = root.querySelector(".reading-status");
  const form = root.querySelector("form.manual");
  const kindSelect = form.querySelector("select[name=kind]");
  const valueInput = form.querySelector("input[name=value]");
  const secondInput = form.querySelector("input[name=value2]");
  const unitLabel = form.querySelector(".unit");

  function say(text) {
    status.textContent = text;
  }

  // An option may name its unit (glucose: mmol/L or mg/dL, as the meter shows it).
  const chosenUnit = () => kindSelect.selectedOptions[0]?.dataset.unit;

  function showUnit() {
    const kind = kindSelect.value;
    unitLabel.textContent = chosenUnit() || strings.units[kind];
    secondInput.closest(".field").hidden = kind !== "blood_pressure";
    valueInput.setAttribute("aria-label", kind === "blood_pressure" ? strings.systolic : strings.value);
  }
  kindSelect.addEventListener("change", showUnit);
  showUnit();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const kind = kindSelect.value;
    const first = Number(valueInput.value.replace(",", "."));
    if (!valueInput.value || Number.isNaN(first)) {
      say(strings.enter_number);
      valueInput.focus();
      return;
    }
    let value = first;
    if (kind === "blood_pressure") {
      const second = Number(secondInput.value.replace(",", "."));
      if (!secondInput.value || Number.isNaN(second)) {
        say(strings.enter_number);
        secondInput.focus();
        return;
      }
      value = { systolic: first, diastolic: second };
    }
    queue.add(manualMessage(kind, value, new Date(), chosenUnit() || undefined));
    say(strings.sending);
    valueInput.value = "";
    secondInput.value = "";
  });

  const bluetoothBox = root.querySelector(".bluetooth");
  if (hasBluetooth()) {
    for (const kind of Object.keys(DEVICES)) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = strings.devices[kind];
      button.addEventListener("click", async () => {
        try {
          await pairDevice(kind, (uuid, bytes, device, context) =>
            queue.add(bleMessage(uuid, bytes, new Date(), device, context)));
          say(strings.paired);
        } catch {
          say(strings.pair_failed);
        }
      });
      bluetoothBox.append(button);
    }
  } else {
    bluetoothBox.textContent = strings.no_bluetooth;
  }

  const simBox = root.querySelector(".simulator");
  simBox.hidden = !simulatorAllowed;
  let timer = null;
  let started = 0;
  const simButton = simBox.querySelector("button");
  simButton.addEventListener("click", () => {
    if (timer) {
      clearInterval(timer);
      timer = null;
      simButton.textContent = strings.sim_start;
      simButton.setAttribute("aria-pressed", "false");
      return;
    }
    started = Date.now();
    const desaturate = simBox.querySelector("input[type=checkbox]").checked;
    timer = setInterval(() => {
      const values = simulate((Date.now() - started) / 1000, { desaturate });
      for (const [kind, value] of Object.entries(values)) {
        queue.add({ ...manualMessage(kind, value), source: "simulator" });
      }
    }, SIMULATOR_INTERVAL_MS);
    simButton.textContent = strings.sim_stop;
    simButton.setAttribute("aria-pressed", "true");
  });

  return {
    onReply(result) {
      if (!result) return;
      if (result.status === "ack") say(strings.saved);
      else say(`${strings.not_saved} ${result.error || ""}`);
    },
  };
}

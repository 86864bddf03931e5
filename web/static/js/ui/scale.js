// The 0–10 symptom scale: one control for the in-call ESAS-r (stepforms.js) and the diary
// (web/templates/_scale.html draws the same markup on the server). Eleven radio buttons in a
// radiogroup, so arrow keys move between numbers; on a phone they lay out as two rows (0–5,
// 6–10) for every symptom alike, with one line that says what to tap and what the ends mean.
// The diary's scales (drawn by _scale.html with a clear button) can take an answer back,
// since a check-in may skip any question: wireScaleClearing.

let counter = 0;

export function isZeroToTen(values) {
  return values.length === 11 && values.every((v, i) => Number(v) === i);
}

// ``anchors``: {0: "No pain", 10: "Worst possible pain"}; ``tap``: "Tap a number:".
export function scaleControl({ name, legend, anchors = {}, current, tap, item = null }) {
  counter += 1;
  const hintId = `scale-hint-${counter}`;
  const fieldset = document.createElement("fieldset");
  fieldset.className = "scale-control";
  if (item) fieldset.dataset.item = item;
  const title = document.createElement("legend");
  title.textContent = legend;
  const group = document.createElement("div");
  group.className = "scale-options";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-label", legend);
  group.setAttribute("aria-describedby", hintId);
  for (let n = 0; n <= 10; n += 1) {
    const label = document.createElement("label");
    label.className = "choice scale-option";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = name;
    input.value = String(n);
    if (current !== undefined && current !== null && String(current) === String(n)) input.checked = true;
    const text = document.createElement("span");
    text.textContent = String(n);
    label.append(input, text);
    group.append(label);
  }
  const hint = document.createElement("p");
  hint.className = "scale-hint";
  hint.id = hintId;
  const ends = [0, 10].filter((n) => anchors[n]).map((n) => `${n} = ${anchors[n]}`).join(" · ");
  hint.textContent = [tap, ends].filter(Boolean).join(" ");
  fieldset.append(title, group, hint);
  return fieldset;
}

// Every scale under ``root`` with a clear button (_scale.html's ``clear``):
// the button shows once a number is picked and takes the answer back.
export function wireScaleClearing(root) {
  const sync = (fieldset) => {
    const button = fieldset.querySelector(".scale-clear");
    if (button) button.hidden = !fieldset.querySelector("input[type=radio]:checked");
  };
  root.addEventListener("change", (event) => {
    const fieldset = event.target.closest && event.target.closest(".scale-control");
    if (fieldset) sync(fieldset);
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".scale-clear");
    if (!button) return;
    const fieldset = button.closest(".scale-control");
    for (const input of fieldset.querySelectorAll("input[type=radio]")) input.checked = false;
    sync(fieldset);
    // Focus goes back to the numbers, where the next key press belongs.
    fieldset.querySelector("input[type=radio]").focus();
  });
  // A form reset (or a page clearing its inputs) hides the buttons again.
  return () => {
    for (const fieldset of root.querySelectorAll(".scale-control")) sync(fieldset);
  };
}

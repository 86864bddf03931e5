// The 0–10 symptom scale: one control for the in-call ESAS-r (stepforms.js) and the diary
// (web/templates/_scale.html draws the same markup on the server). Eleven radio buttons in a
// radiogroup, so arrow keys move between numbers; on a phone they lay out as two rows (0–5,
// 6–10) for every symptom alike, with one line that says what to tap and what the ends mean.

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

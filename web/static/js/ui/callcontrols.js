// Mute and camera buttons shared by the family and clinician pages.

export function bindToggle(button, onText, offText, apply) {
  let on = false;
  button.addEventListener("click", () => {
    on = !on;
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? offText : onText;
    apply(on);
  });
}

export function setBanner(node, text) {
  node.hidden = !text;
  node.textContent = text || "";
}

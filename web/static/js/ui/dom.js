// Small DOM helpers. Text only: server and peer data never goes through innerHTML.

export function byId(id) {
  return document.getElementById(id);
}

export function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

export function say(node, text, kind) {
  node.textContent = text;
  node.classList.remove("error", "ok");
  if (kind) node.classList.add(kind);
}

export function busy(button, isBusy) {
  button.disabled = isBusy;
  button.setAttribute("aria-busy", String(isBusy));
}

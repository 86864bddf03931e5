// Forms for the visit's steps, drawn from the template description (GET /api/templates/…)
// so a template or instrument added as a data file needs no code here. Text only.
import { isZeroToTen, scaleControl } from "./scale.js";

// The fields steps collect besides instruments, and how each is asked.
export const FIELD_TYPES = {
  name_confirmed: "check", birth_date_confirmed: "check", video_visit: "check",
  privacy_explained: "check", plan_reviewed: "check",
  recording: "yesno", share_with_family: "yesno",
  method: ["photo_id", "known_to_clinician", "family_vouched"],
  form: ["verbal", "written"],
  consenter: ["patient", "surrogate"],
  answered_by: ["patient", "family", "clinician", "caregiver_assisted"],
  location: "text", surrogate_name: "text", relationship: "text", scenario: "text",
  plan: "longtext", privacy_points: "checklist", teach_back: "teachback",
};
// Fields filled by the system rather than typed by a person.
const HIDDEN_FIELDS = new Set(["snapshot_ref", "face_present_hint", "shared_with"]);

let counter = 0;
function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node) node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function choiceGroup(name, options, legendText, current) {
  const fieldset = el("fieldset", { className: "choices" }, el("legend", {}, legendText));
  for (const opt of options) {
    const id = uid(name);
    const input = el("input", { type: "radio", name, id, value: String(opt.value) });
    if (current !== undefined && String(current) === String(opt.value)) input.checked = true;
    fieldset.append(el("label", { htmlFor: id, className: "choice" }, input, el("span", {}, opt.label)));
  }
  return fieldset;
}

function itemControl(item, key, current, strings) {
  const name = `${key}.${item.id}`;
  const box = el("div", { className: "item", dataset: { key, item: item.id, kind: item.kind } });
  if (item.kind === "integer" && isZeroToTen(item.values)) {
    // A 0–10 symptom scale: the same control as the family's diary.
    const anchors = Object.fromEntries(item.anchors.map((a) => [String(a.value), a.label]));
    // "Tiredness (Tiredness = lack of energy)" reads once: "Tiredness = lack of energy".
    const legend = item.definition && item.definition.startsWith(item.text) ? item.definition
      : item.text + (item.definition ? ` (${item.definition})` : "");
    box.append(scaleControl({ name, legend, anchors, current, tap: strings.scale_tap }));
  } else if (item.kind === "integer" || item.kind === "decimal") {
    const anchors = Object.fromEntries(item.anchors.map((a) => [String(a.value), a.label]));
    const options = item.values.map((v) => ({ value: v, label: anchors[String(v)] ? `${v} · ${anchors[String(v)]}` : String(v) }));
    const group = choiceGroup(name, options, item.text + (item.definition ? ` (${item.definition})` : ""), current);
    group.classList.add(item.values.length > 6 ? "scale" : "short");
    box.append(group);
  } else if (item.kind === "choice") {
    box.append(choiceGroup(name, item.options.map((o) => ({ value: o.code, label: o.label })), item.text, current));
  } else if (item.kind === "boolean") {
    box.append(choiceGroup(name, [{ value: "true", label: strings.yes }, { value: "false", label: strings.no }], item.text,
      current === undefined ? undefined : String(current)));
  } else {
    const id = uid(name);
    box.append(el("label", { htmlFor: id }, item.text),
      el("input", { id, type: "text", name, value: current || "", maxLength: item.max_length || 500 }));
  }
  return box;
}

function teachBackRows(container, rows, strings) {
  const list = el("ol", { className: "teach-back" });
  const add = (row = { item: "", result: "" }) => {
    const li = el("li", { className: "tb-row" });
    const text = el("input", { type: "text", value: row.item || "", maxLength: 200, "aria-label": strings.tb_item });
    const result = el("select", { "aria-label": strings.tb_result },
      el("option", { value: "" }, "—"),
      ...["correct", "partly", "not_yet"].map((r) => el("option", { value: r, selected: row.result === r }, strings.tb[r])));
    const critical = el("input", { type: "checkbox", checked: Boolean(row.safety_critical) });
    li.append(text, result, el("label", { className: "check" }, critical, strings.tb_critical));
    list.append(li);
  };
  for (const row of rows || []) add(row);
  if (!rows || rows.length === 0) add();
  const more = el("button", { type: "button", className: "button quiet" }, strings.tb_add);
  more.addEventListener("click", () => add());
  container.append(el("p", { className: "label" }, strings.fields.teach_back), list, more);
}

function fieldControl(field, step, current, strings, context) {
  const type = FIELD_TYPES[field];
  const label = strings.fields[field] || field;
  const wrap = el("div", { className: "field", dataset: { field } });
  if (type === "check") {
    const id = uid(field);
    let text = label;
    if (field === "name_confirmed" && context.patient_name) text = `${label}: ${context.patient_name}`;
    if (field === "birth_date_confirmed" && context.birth_date) text = `${label}: ${context.birth_date}`;
    wrap.append(el("label", { htmlFor: id, className: "check" },
      el("input", { id, type: "checkbox", name: field, checked: current === true }), text));
  } else if (type === "yesno") {
    wrap.append(choiceGroup(field, [{ value: "true", label: strings.yes }, { value: "false", label: strings.no }], label,
      current === undefined ? undefined : String(current)));
  } else if (Array.isArray(type)) {
    // A family page answers for the patient or for themselves, never as the clinician.
    const options = context.familyOnly && field === "answered_by" ? ["patient", "family"] : type;
    wrap.append(choiceGroup(field, options.map((v) => ({ value: v, label: strings.values[v] || v })), label, current));
  } else if (type === "longtext") {
    const id = uid(field);
    wrap.append(el("label", { htmlFor: id }, label), el("textarea", { id, name: field, rows: 4, value: current || "" }));
  } else if (type === "checklist") {
    const fieldset = el("fieldset", {}, el("legend", {}, label));
    for (const point of step.checklist) {
      const id = uid(field);
      fieldset.append(el("label", { htmlFor: id, className: "check" },
        el("input", { id, type: "checkbox", name: field, value: point.id, checked: (current || []).includes(point.id) }),
        point.text));
    }
    wrap.append(fieldset);
  } else if (type === "teachback") {
    teachBackRows(wrap, current, strings);
  } else if (field === "scenario" && context.scenarios && context.scenarios.length) {
    // Rehearse one of the library's scenarios; picking one offers its teach-back points.
    const id = uid(field);
    const select = el("select", { id, name: field },
      el("option", { value: "" }, "—"),
      ...context.scenarios.map((sc) => el("option", { value: sc.id, selected: current === sc.id }, sc.title)));
    const summary = el("p", { className: "muted" });
    select.addEventListener("change", () => {
      const chosen = context.scenarios.find((sc) => sc.id === select.value);
      summary.textContent = chosen ? chosen.summary : "";
      const rows = wrap.closest("form").querySelector(".teach-back");
      if (chosen && rows && [...rows.querySelectorAll("input[type=text]")].every((i) => !i.value)) {
        rows.replaceChildren();
        const holder = el("div");
        teachBackRows(holder, chosen.teach_back, strings);
        rows.replaceWith(holder.querySelector(".teach-back"));
      }
    });
    wrap.append(el("label", { htmlFor: id }, label), select, summary);
  } else {
    const id = uid(field);
    wrap.append(el("label", { htmlFor: id }, label), el("input", { id, type: "text", name: field, value: current || "" }));
  }
  return wrap;
}

// Builds the form of one step; returns {form, read()} where read() gives the answers object.
export function buildStepForm(step, stepState, strings, context, { familyOnly = false } = {}) {
  const answers = (stepState && stepState.answers) || {};
  const form = el("form", { className: "step-form", dataset: { step: step.id } });
  if (step.guidance && !familyOnly) form.append(el("p", { className: "muted" }, step.guidance));
  const fields = step.fields.filter((f) => !HIDDEN_FIELDS.has(f) && (!familyOnly || f === "answered_by"));
  const ctx = { ...context, familyOnly };
  for (const field of fields) form.append(fieldControl(field, step, answers[field], strings, ctx));
  if (!familyOnly && step.fields.includes("snapshot_ref") && context.takeStill) {
    form.append(stillBox(form, strings, context.takeStill, answers));
  }
  const uses = familyOnly ? step.instruments.filter((u) => u.required) : step.instruments;
  for (const use of uses) {
    const section = el("section", { className: "instrument", dataset: { key: use.key } },
      el("h3", {}, use.instrument.name));
    if (!familyOnly && use.when) section.append(el("p", { className: "muted" }, use.when));
    if (use.instrument.instructions) section.append(el("p", {}, use.instrument.instructions));
    const current = answers[use.key] || {};
    for (const item of use.instrument.items) section.append(itemControl(item, use.key, current[item.id], strings));
    if (use.instrument.acknowledgement) section.append(el("p", { className: "ack muted" }, use.instrument.acknowledgement));
    form.append(section);
  }
  return { form, read: () => readForm(form) };
}

// An optional still from the patient's video, with OpenCV's face-presence hint: shown to the
// clinician as a hint, never used as a decision; only the fact and the hint are recorded.
function stillBox(form, strings, takeStill, answers) {
  const box = el("div", { className: "still" });
  const button = el("button", { type: "button", className: "button" }, strings.take_still);
  const note = el("p", { className: "muted", role: "status" });
  const img = el("img", { alt: strings.still_alt, hidden: true, className: "still-image" });
  if (answers.snapshot_ref) note.textContent = strings.still_taken;
  button.addEventListener("click", async () => {
    try {
      const still = await takeStill();
      img.src = still.image;
      img.hidden = false;
      form.dataset.snapshotRef = `still:${still.taken_at}`;
      form.dataset.faceHint = String(still.face_present);
      note.textContent = still.face_present ? strings.face_seen : strings.no_face_seen;
    } catch (err) {
      note.textContent = err.message;
    }
  });
  box.append(button, img, note);
  return box;
}

function parseValue(raw, kind) {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (kind === "integer") return Number.parseInt(raw, 10);
  if (kind === "decimal") return raw; // kept as text, e.g. "0.5", so no rounding creeps in
  return raw;
}

export function readForm(form) {
  const answers = {};
  for (const wrap of form.querySelectorAll(".field")) {
    const field = wrap.dataset.field;
    const type = FIELD_TYPES[field];
    if (type === "check") answers[field] = wrap.querySelector("input").checked;
    else if (field === "scenario" && wrap.querySelector("select")) {
      const value = wrap.querySelector("select").value;
      if (value) answers[field] = value;
    }
    else if (type === "yesno" || Array.isArray(type)) {
      const picked = wrap.querySelector("input:checked");
      if (picked) answers[field] = type === "yesno" ? picked.value === "true" : picked.value;
    } else if (type === "checklist") {
      answers[field] = [...wrap.querySelectorAll("input:checked")].map((i) => i.value);
    } else if (type === "teachback") {
      answers[field] = [...wrap.querySelectorAll(".tb-row")].map((row) => {
        const [text, result] = [row.querySelector("input[type=text]").value.trim(), row.querySelector("select").value];
        return { item: text, result, safety_critical: row.querySelector("input[type=checkbox]").checked };
      }).filter((r) => r.item && r.result);
    } else {
      const input = wrap.querySelector("input, textarea");
      if (input.value.trim()) answers[field] = input.value.trim();
    }
  }
  if (form.dataset.snapshotRef) {
    answers.snapshot_ref = form.dataset.snapshotRef;
    answers.face_present_hint = form.dataset.faceHint === "true";
  }
  for (const section of form.querySelectorAll(".instrument")) {
    const values = {};
    for (const item of section.querySelectorAll(".item")) {
      const picked = item.querySelector("input:checked");
      const text = item.querySelector("input[type=text]");
      if (picked) values[item.dataset.item] = parseValue(picked.value, item.dataset.kind);
      else if (text && text.value.trim()) values[item.dataset.item] = text.value.trim();
    }
    if (Object.keys(values).length) answers[section.dataset.key] = values;
  }
  return answers;
}
